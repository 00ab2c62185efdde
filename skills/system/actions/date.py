"""Today's date, here or in a named place ("what's the date in Sydney")."""

from clock import spoken_date, where

from assistant.skills.sdk import Request, Response


def run(request: Request) -> Response:
    moment, place, said = where(request)
    data = {"date": moment.date().isoformat()}
    if said and place is None:
        return request.reply("unknown_place", place=said, data={"place": said, "zone": None})
    if place is None:
        return Response(text=request.answer("date", date=spoken_date(moment)), data=data)
    data.update(place=place.name, zone=place.zone)
    return request.reply("date_in", date=spoken_date(moment), place=place.name, data=data)
