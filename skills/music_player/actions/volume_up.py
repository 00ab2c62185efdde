"""Louder by the skill's `volume_step` setting."""

from music_skill import music, reply

from assistant.skills.sdk import Request, Response


def run(request: Request) -> Response:
    status = music(request).change_volume(int(request.settings.get("volume_step", 10)))
    return reply(request, "volume", status)
