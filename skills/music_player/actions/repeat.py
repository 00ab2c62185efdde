"""Repeat the queue, this song, or nothing."""

from music_skill import music, on_or_off, reply

from assistant.skills.sdk import Request, Response


def run(request: Request) -> Response:
    mode = on_or_off(request, "repeat_mode") or "all"
    return reply(request, f"repeat_{mode}", music(request).set_repeat(mode))
