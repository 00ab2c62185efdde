"""Quieter: by the amount said ("turn it down 10 percent"), a little for "a bit", else `volume_step`."""

from music_skill import music, reply, volume_change

from assistant.skills.sdk import Request, Response


def run(request: Request) -> Response:
    return reply(request, "volume", music(request).change_volume(-volume_change(request)))
