"""When to remind: one-shot times (via `assistant.nlu.values`), recurrences and nonsense checks.

`parse_schedule("every weekday at 8", now)` gives what `SchedulerService.add`
takes (an ISO date-time or a cron/interval spec), the first occurrence, and the
exact wording for the reply ("every weekday at 8:00 am").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from assistant.errors import NluError
from assistant.nlu import values
from assistant.services.timewords import clock, days_wording, describe_duration, describe_time

__all__ = [
    "Schedule",
    "TimeExpressionError",
    "local_zone",
    "parse_recurrence",
    "parse_schedule",
    "strip_times",
]

_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_DAY_SETS = {
    "day": "*", "days": "*", "daily": "*", "morning": "*", "mornings": "*", "evening": "*",
    "evenings": "*", "night": "*", "nights": "*", "afternoon": "*", "afternoons": "*",
    "weekday": "mon-fri", "weekdays": "mon-fri", "workday": "mon-fri", "workdays": "mon-fri",
    "weekend": "sat,sun", "weekends": "sat,sun",
}  # fmt: skip
_PERIOD_TIME = {
    "morning": "morning",
    "evening": "evening",
    "night": "night",
    "afternoon": "afternoon",
}
_DAY_WORD = rf"(?:{'|'.join(_WEEKDAYS)})s?"
_DAYS_LIST = rf"{_DAY_WORD}(?:(?:\s*,\s*|\s+and\s+|\s*,\s*and\s+){_DAY_WORD})*"
_RECURRENCE = re.compile(
    rf"\b(?:(?:every|each)\s+(?P<every>{_DAYS_LIST}|{'|'.join(_DAY_SETS)})"
    rf"|(?:on\s+)?(?P<plural>(?:{'|'.join(_WEEKDAYS)})s(?:(?:\s*,\s*|\s+and\s+|\s*,\s*and\s+){_DAY_WORD})*|weekdays|weekends)"
    rf"|(?P<daily>daily)"
    rf"|(?:every|each)\s+(?P<count>[a-z0-9-]+(?:\s[a-z-]+)?\s+)?(?P<unit>minute|hour)s?)\b"
)
_INTERVAL_UNITS = {"minute": "minutes", "hour": "hours"}
_BAD_CLOCK = re.compile(
    r"\b(?:at\s+)?(?P<hour>\d+)(?::(?P<minute>\d+))?\s*(?P<suffix>o'?\s?clock|[ap]\.?m\b\.?)?"
)
_CLOCK_WORDS = re.compile(
    r"\d|\bat\b|noon|midnight|o'?clock|[ap]m\b|past|\bto\b|morning|evening|night|afternoon"
)
_EXPLICIT_HALF = re.compile(
    r"[ap]\.?m\b|noon|midnight|morning|evening|night|afternoon|tonight|\bin\b"
)
_HOURS = "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
_ALARM_FOR = re.compile(
    rf"\bfor\s+(?=(?:\d{{1,2}}(?::\d{{2}})?|{_HOURS})\b(?!\s*(?:h|hours?|minutes?|mins?|seconds?)\b))",
    re.I,
)
TIME_WINDOW_WORDS = 40
"""A longer utterance has its time looked for in its first and last this many words only.

People say when at the start or the end ("remind me at 5 to ...", "... in 10 minutes"); a
pasted page in between would otherwise cost seconds of date parsing per thousand words.
"""
_NEGATIVE = re.compile(r"\b(?:in|after|for)\s+(?:minus|negative|-)\s*[\w.]+(?:\s+[a-z]+)?")


class TimeExpressionError(NluError):
    """A time expression that names no possible moment ("25 o'clock", "in minus 3 minutes")."""


@dataclass(frozen=True)
class Schedule:
    """When a job runs, in the form `SchedulerService.add` takes."""

    when: str | dict[str, Any]
    """An ISO 8601 date-time with offset, or {"cron": {...}} / {"interval": {...}}."""
    first: datetime
    """The first occurrence, in the local zone."""
    description: str
    """Exact wording for the reply: "at 7:00 pm today", "every weekday at 8:00 am"."""
    recurring: bool


def local_zone() -> tzinfo:
    """The machine's time zone ($TZ or the system setting), as a zoneinfo zone."""
    import tzlocal

    return tzlocal.get_localzone()


def parse_schedule(text: str, now: datetime, alarm: bool = False) -> Schedule | None:
    """The schedule named in `text` (recurring first, then one-shot); None if it names no time.

    Raises `TimeExpressionError` for a time that cannot exist or is already past.
    """
    check(text)
    if alarm:  # "an alarm for 7" is at 7, where "a reminder for 7 minutes" is a length
        text = _ALARM_FOR.sub("at ", text)
    recurring = parse_recurrence(text, now, alarm=alarm)
    if recurring is not None:
        return recurring
    spans = _find_times(text, now)
    if not spans:
        return None
    moment = spans[-1].value
    if alarm and not _EXPLICIT_HALF.search(spans[-1].text):
        moment = values.parse_datetime(spans[-1].text + " am", now) or moment
    if moment.timestamp() <= now.timestamp():  # not `<=`: same-zone comparison ignores the fold
        raise TimeExpressionError(
            f"{describe_time(moment, now)} has already passed; nothing scheduled"
        )
    description = "at " + describe_time(moment, now)
    if re.match(r"in\b|.* from now$", spans[-1].text.lower()):
        description = f"{spans[-1].text} ({description})"
    return Schedule(moment.isoformat(timespec="seconds"), moment, description, False)


def strip_times(text: str, now: datetime) -> str:
    """`text` without its time expressions: "water the plants at 5 pm" -> "water the plants"."""
    spoken = _RECURRENCE.sub(" ", text)
    for span in reversed(_find_times(spoken, now)):
        spoken = spoken[: span.start] + " " + spoken[span.end :]
    spoken = re.sub(r"\s+", " ", spoken).strip(" ,.!?")
    previous = None
    while previous != spoken:
        previous = spoken
        spoken = re.sub(
            r"^(?:at|on|in|by|from|starting)\s+|\s+(?:at|on|in|by|from|starting)$", "", spoken
        )
    return spoken


def _find_times(text: str, now: datetime) -> list[values.Span]:
    """The date-times in `text`, or in its first and last `TIME_WINDOW_WORDS` words when longer."""
    words = [match.span() for match in re.finditer(r"\S+", text)]
    if len(words) <= 2 * TIME_WINDOW_WORDS:
        return values.find("datetime", text, now)
    head_end, tail_start = words[TIME_WINDOW_WORDS - 1][1], words[-TIME_WINDOW_WORDS][0]
    tail = values.find("datetime", text[tail_start:], now)
    return values.find("datetime", text[:head_end], now) + [
        replace(span, start=span.start + tail_start, end=span.end + tail_start) for span in tail
    ]


def check(text: str) -> None:
    """Raise `TimeExpressionError` naming the part of `text` that is no possible time."""
    spoken = text.lower()
    negative = _NEGATIVE.search(spoken)
    if negative:
        raise TimeExpressionError(f"'{negative.group(0)}' is in the past: a delay must be positive")
    for match in _BAD_CLOCK.finditer(spoken):
        hour, minute, suffix = (
            int(match.group("hour")),
            match.group("minute"),
            match.group("suffix"),
        )
        said = match.group(0).strip()
        if suffix is None and not match.group(0).startswith("at"):
            continue  # a plain number ("3 people"), not a clock time
        limit = 12 if suffix and suffix[0] in "ap" else 24
        if hour > limit or (minute is not None and int(minute) > 59) or (limit == 12 and hour == 0):
            raise TimeExpressionError(f"'{said}' is not a time of day")
    for match in re.finditer(r"\bin\s+(?:0|zero|no)\s+(?:seconds?|minutes?|hours?)\b", spoken):
        raise TimeExpressionError(f"'{match.group(0)}' is now: give a delay of at least a second")


def parse_recurrence(text: str, now: datetime, alarm: bool = False) -> Schedule | None:
    """A repeating schedule ("every weekday at 8", "on mondays", "every 15 minutes"), else None."""
    from apscheduler.triggers.cron import CronTrigger

    spoken = text.lower()
    match = _RECURRENCE.search(spoken)
    if match is None:
        return None
    rest = spoken[: match.start()] + " " + spoken[match.end() :]
    if match.group("unit"):
        return _interval(match.group("count"), match.group("unit"), now)
    phrase = (match.group("every") or match.group("plural") or match.group("daily")).strip()
    days = _DAY_SETS.get(phrase) or ",".join(
        sorted({day[:3] for day in re.findall("|".join(_WEEKDAYS), phrase)}, key=_weekday_index)
    )
    period = next((word for word in _PERIOD_TIME if phrase.startswith(word)), None)
    hour, minute = _time_of_day(rest, period, now, alarm)
    cron = {"day_of_week": days, "hour": hour, "minute": minute}
    first = CronTrigger(**cron, timezone=now.tzinfo).get_next_fire_time(None, now)
    assert first is not None
    # a wall time that a clock change skips, shown as it really falls
    first = first.astimezone(UTC).astimezone(now.tzinfo)
    said_clock = clock(first.replace(hour=hour, minute=minute))
    return Schedule({"cron": cron}, first, f"{days_wording(days)} at {said_clock}", True)


def _interval(count: str | None, unit: str, now: datetime) -> Schedule:
    amount = 1.0 if count is None else values.parse_number(count.strip())
    if amount is None and count and count.strip() in ("a", "an", "other"):
        amount = 2.0 if count.strip() == "other" else 1.0
    if amount is None or amount <= 0 or amount != int(amount):
        raise TimeExpressionError(
            f"'every {(count or '').strip()} {unit}s' is not a whole positive number of {unit}s"
        )
    seconds = int(amount) * (60 if unit == "minute" else 3600)
    spec = {"interval": {_INTERVAL_UNITS[unit]: int(amount)}}
    first = now + timedelta(seconds=seconds)
    wording = f"every {unit}" if amount == 1 else f"every {describe_duration(seconds)}"
    return Schedule(spec, first, wording, True)


def _time_of_day(rest: str, period: str | None, now: datetime, alarm: bool) -> tuple[int, int]:
    """Hour and minute said next to a recurrence: "at 8" is 8 am, "at 3" 3 pm, alarms am.

    Read against a fixed day in UTC, so that a daylight-saving change near `now`
    cannot shift a wall-clock time; the cron trigger applies the zone later.
    """
    reference = datetime(2001, 1, 1, 12, tzinfo=UTC)
    spans = [span for span in _find_times(rest, now) if _CLOCK_WORDS.search(span.text)]
    said = spans[0].text if spans else ""
    explicit = _EXPLICIT_HALF.search(said)
    if said and alarm and not explicit:
        said += " am"
    moment = values.parse_datetime(f"tomorrow {said or period or 'morning'}", reference)
    if moment is None:
        raise TimeExpressionError(f"'{said}' is not a time of day")
    hour = moment.hour
    if period in ("afternoon", "evening", "night") and said and not explicit and hour < 12:
        hour += 12
    return hour, moment.minute


def _weekday_index(abbreviation: str) -> int:
    return [day[:3] for day in _WEEKDAYS].index(abbreviation)
