"""Add what was named to the end of the queue."""

from music_skill import find_and

from assistant.skills.sdk import Request, Response


def run(request: Request) -> Response:
    return find_and(request, "enqueue")
