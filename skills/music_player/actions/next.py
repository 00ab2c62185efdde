"""Skip to the next song in the queue."""

from music_skill import music, reply

from assistant.skills.sdk import Request, Response


def run(request: Request) -> Response:
    if music(request).status()["track"] is None:
        return reply(request, "nothing_playing")
    status = music(request).next()
    return reply(request, "end_of_queue" if status["state"] == "stopped" else "next", status)
