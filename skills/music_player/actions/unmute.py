"""Unmute the music."""

from music_skill import music, reply

from assistant.skills.sdk import Request, Response


def run(request: Request) -> Response:
    return reply(request, "unmuted", music(request).unmute())
