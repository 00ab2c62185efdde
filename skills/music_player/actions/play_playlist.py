"""Play a saved playlist by name."""

from music_skill import music, reply

from assistant.skills.sdk import Request, Response


def run(request: Request) -> Response:
    name = str(request.entities.get("playlist_name") or "").strip()
    stored = music(request).playlist_name(name) if name else None
    if stored is None:
        return reply(request, "no_such_playlist", name=name)
    tracks = {p["name"]: p["tracks"] for p in music(request).playlists()}
    if not tracks.get(stored):
        return reply(request, "playlist_empty", name=stored)
    status = music(request).play_playlist(stored)
    return reply(request, "playing_playlist", status, name=stored)
