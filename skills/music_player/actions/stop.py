"""Stop the music (the queue is kept; "resume" starts the song again)."""

from music_skill import music, reply

from assistant.skills.sdk import Request, Response


def run(request: Request) -> Response:
    if music(request).status()["state"] == "stopped":
        return reply(request, "nothing_playing")
    return reply(request, "stopped", music(request).stop())
