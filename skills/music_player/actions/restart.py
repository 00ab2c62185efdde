"""Start the current song again."""

from music_skill import music, reply

from assistant.skills.sdk import Request, Response


def run(request: Request) -> Response:
    if music(request).status()["track"] is None:
        return reply(request, "nothing_playing")
    return reply(request, "restarted", music(request).restart())
