"""Add the song playing now to a playlist (made if it does not exist)."""

from music_skill import music, reply

from assistant.skills.sdk import Request, Response


def run(request: Request) -> Response:
    status = music(request).status()
    if status["track"] is None:
        return reply(request, "nothing_playing", status)
    added = music(request).add_current_to_playlist(str(request.entities["playlist_name"]))
    return reply(request, "added_to_playlist", status, name=added["name"])
