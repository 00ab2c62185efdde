"""Pause; resuming continues from the same position."""

from music_skill import music, reply

from assistant.skills.sdk import Request, Response


def run(request: Request) -> Response:
    if music(request).status()["state"] != "playing":
        return reply(request, "nothing_playing")
    return reply(request, "paused", music(request).pause())
