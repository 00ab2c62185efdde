"""Shuffle the whole library ("play some music")."""

from music_skill import music, reply

from assistant.skills.sdk import Request, Response


def run(request: Request) -> Response:
    counts = music(request).library_counts()
    if not counts["tracks"]:
        return reply(request, "empty_library")
    status = music(request).play_all(shuffle=True)
    return reply(request, "shuffling_all", status, count=counts["tracks"])
