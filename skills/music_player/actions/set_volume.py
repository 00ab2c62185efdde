"""Set the volume to a percentage ("set the volume to 30 percent", "volume 40")."""

from music_skill import music, reply

from assistant.skills.sdk import Request, Response


def run(request: Request) -> Response:
    level = request.entities.get("level", request.entities.get("number"))
    if level is None:
        return reply(request, "volume")
    return reply(request, "volume", music(request).set_volume(float(level)))
