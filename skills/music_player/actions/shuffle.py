"""Shuffle on or off."""

from music_skill import music, on_or_off, reply

from assistant.skills.sdk import Request, Response


def run(request: Request) -> Response:
    on = on_or_off(request, "switch") != "off"
    return reply(request, "shuffle_on" if on else "shuffle_off", music(request).set_shuffle(on))
