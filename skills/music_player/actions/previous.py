"""Go back a song (or to the start of this one, when well into it)."""

from music_skill import music, reply

from assistant.skills.sdk import Request, Response


def run(request: Request) -> Response:
    if music(request).status()["track"] is None:
        return reply(request, "nothing_playing")
    return reply(request, "previous", music(request).previous())
