"""The date today, tomorrow or yesterday, here or in a named place ("what's the date in Sydney")."""

import re
from datetime import timedelta

from clock import spoken_date, where

from assistant.skills.sdk import Request, Response

_DAYS = [  # longest first: "the day after tomorrow" before "tomorrow"
    (re.compile(r"\b(?:the\s+)?day\s+after\s+tomorrow\b", re.I), 2, "The day after tomorrow"),
    (re.compile(r"\b(?:the\s+)?day\s+before\s+yesterday\b", re.I), -2, "The day before yesterday"),
    (re.compile(r"\btomorrow(?:'s)?\b", re.I), 1, "Tomorrow"),
    (re.compile(r"\byesterday(?:'s)?\b", re.I), -1, "Yesterday"),
]


def run(request: Request) -> Response:
    moment, place, said = where(request)
    said_day = (d for pattern, *d in _DAYS if pattern.search(request.utterance))
    offset, day = next(said_day, (0, ""))
    moment += timedelta(days=offset)
    data = {"date": moment.date().isoformat(), "days_from_today": offset}
    if said and place is None:
        return request.reply("unknown_place", place=said, data={"place": said, "zone": None})
    if place is not None:
        data.update(place=place.name, zone=place.zone)
    if offset:
        fields = {"day": day, "day_lower": day.lower(), "tense": "is" if offset > 0 else "was"}
        if place is None:
            return request.reply("date_other_day", date=spoken_date(moment), data=data, **fields)
        return request.reply(
            "date_other_day_in", date=spoken_date(moment), place=place.name, data=data, **fields
        )
    if place is None:
        return Response(text=request.answer("date", date=spoken_date(moment)), data=data)
    return request.reply("date_in", date=spoken_date(moment), place=place.name, data=data)
