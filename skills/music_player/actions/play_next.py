"""Put what was named right after the song playing now."""

from music_skill import find_and

from assistant.skills.sdk import Request, Response


def run(request: Request) -> Response:
    return find_and(request, "play_next")
