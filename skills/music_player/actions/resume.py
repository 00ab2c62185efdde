"""Continue the paused (or stopped) song."""

from music_skill import music, reply

from assistant.skills.sdk import Request, Response


def run(request: Request) -> Response:
    status = music(request).resume()
    if status["state"] != "playing":
        return reply(request, "nothing_to_resume", status)
    return reply(request, "resumed", status)
