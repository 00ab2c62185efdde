"""Make a new, empty playlist."""

from music_skill import music, reply

from assistant.skills.sdk import Request, Response


def run(request: Request) -> Response:
    created = music(request).create_playlist(str(request.entities["playlist_name"]))
    return reply(request, "playlist_created", name=created["name"])
