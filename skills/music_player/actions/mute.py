"""Mute the music (it keeps playing silently)."""

from music_skill import music, reply

from assistant.skills.sdk import Request, Response


def run(request: Request) -> Response:
    return reply(request, "muted", music(request).mute())
