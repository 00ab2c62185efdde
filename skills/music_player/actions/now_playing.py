"""Say what is playing ("what's playing", "who sings this")."""

from music_skill import music, reply

from assistant.skills.sdk import Request, Response


def run(request: Request) -> Response:
    status = music(request).status()
    track = status["track"]
    if track is None or status["state"] == "stopped":
        return reply(request, "nothing_playing", status)
    if status["state"] == "paused":
        return reply(request, "now_paused", status)
    return reply(request, "now_playing" if track["artist"] else "now_playing_unknown_artist", status)
