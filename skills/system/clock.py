"""What the time and date actions share: the request's moment, in the local zone or a place's."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from places import Place, find_place

from assistant.skills.sdk import Request

_TRAILING = r"(?:\s+(?:right now|now|today|(?:the day after )?tomorrow|yesterday|at the moment|currently|please|there))*\s*[?.!]*$"
_IN_PLACE = re.compile(rf"\b(?:in|at|for|over in)\s+(?P<place>[^?.!]+?){_TRAILING}", re.I)


def now_of(request: Request) -> datetime:
    """The time of the request, in the local zone."""
    if request.context.now:
        return datetime.fromisoformat(request.context.now)
    return datetime.now().astimezone()


def place_said(request: Request) -> str:
    """The place named ("tokyo" in "what time is it in tokyo"), or ""."""
    said = request.entities.get("place")
    if isinstance(said, str) and said.strip():
        return re.sub(_TRAILING, "", said.strip(" ?.!"), flags=re.I)
    match = _IN_PLACE.search(request.utterance)
    return match.group("place").strip() if match else ""


def where(request: Request) -> tuple[datetime, Place | None, str]:
    """(the moment there, the place or None for here, the place as said)."""
    now = now_of(request)
    said = place_said(request)
    if not said:
        return now, None, ""
    place = find_place(said)
    if place is None:
        return now, None, said
    return now.astimezone(ZoneInfo(place.zone)), place, said


def spoken_time(moment: datetime, clock_24h: bool) -> str:
    return moment.strftime("%H:%M") if clock_24h else moment.strftime("%I:%M %p").lstrip("0")


def spoken_date(moment: datetime) -> str:
    return f"{moment:%A}, {moment:%B} {moment.day}, {moment.year}"
