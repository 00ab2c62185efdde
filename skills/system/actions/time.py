"""The current time, here or in a named place ("what time is it in Tokyo")."""

from clock import spoken_time, where

from assistant.skills.sdk import Request, Response


def run(request: Request) -> Response:
    moment, place, said = where(request)
    spoken = spoken_time(moment, bool(request.settings.get("clock_24h")))
    data = {"time": moment.isoformat(timespec="seconds")}
    if said and place is None:
        return request.reply("unknown_place", place=said, data={"place": said, "zone": None})
    if place is None:
        return Response(text=request.answer("time", time=spoken), data=data)
    data.update(place=place.name, zone=place.zone)
    return request.reply("time_in", time=spoken, place=place.name, day=f"{moment:%A}", data=data)
