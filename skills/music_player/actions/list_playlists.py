"""Name the saved playlists."""

from music_skill import music, reply

from assistant.skills.sdk import Request, Response


def run(request: Request) -> Response:
    playlists = music(request).playlists()
    if not playlists:
        return reply(request, "no_playlists")
    names = ", ".join(p["name"] for p in playlists)
    key = "one_playlist" if len(playlists) == 1 else "playlists"
    response = reply(request, key, count=len(playlists), names=names)
    return type(response)(text=response.text, data={**response.data, "playlists": playlists})
