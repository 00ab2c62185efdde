"""Play a song, artist, album, genre or playlist by name ("play here comes the sun by the beatles")."""

from music_skill import find_and

from assistant.skills.sdk import Request, Response


def run(request: Request) -> Response:
    return find_and(request, "play")
