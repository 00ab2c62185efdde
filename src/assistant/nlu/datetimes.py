"""Moments said in words: "at 7", "tomorrow at 9", "half past seven", "in 10 minutes", "december 3rd".

Times of day and weekdays are read here, because "at 7" must mean the next 7 o'clock,
which neither dateparser nor parsedatetime choose; absolute calendar dates go to
dateparser. `assistant.nlu.values.parse_datetime` is the entry point other modules use.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from assistant.nlu.values import _clean, parse_duration

__all__ = ["parse_datetime"]

_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_PERIODS = {"morning": (9, "am"), "afternoon": (15, "pm"), "evening": (19, "pm"),
            "night": (21, "pm"), "tonight": (21, "pm")}  # fmt: skip
_MONTHS = r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
_SMALL = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
          "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
          "eighteen", "nineteen"]  # fmt: skip
_TENS = ["twenty", "thirty", "forty", "fifty"]
_CLOCK_WORDS = {word: n for n, word in enumerate(_SMALL)} | {
    f"{tens}{sep}{_SMALL[one]}" if one else tens: 20 + 10 * i + one
    for i, tens in enumerate(_TENS) for one in range(10) for sep in (" ", "-")
}  # fmt: skip
_CLOCK_WORDS |= {f"oh {_SMALL[n]}": n for n in range(1, 10)}
_N = r"\d{1,2}|" + "|".join(sorted(map(re.escape, _CLOCK_WORDS), key=len, reverse=True))
_CLOCK = re.compile(
    rf"\b(?:at |@ ?)?(?P<hour>{_N})(?:(?::|\.| )(?P<minute>{_N}))?"
    rf"(?: ?(?P<ampm>[ap])\.?m\b\.?| ?o'? ?clock\b"
    rf"|(?= (?:in the |this )?(?:morning|afternoon|evening|night)\b| tonight))"
    rf"|\bat (?P<hour2>{_N})(?:(?::|\.| )(?P<minute2>{_N}))?\b"
    rf"|\b(?P<hour3>\d{{1,2}}):(?P<minute3>\d{{2}})\b"
)
_NUMERIC_DATE = re.compile(rf"\b(?:{_MONTHS})\b|\d{{4}}-\d{{1,2}}-\d{{1,2}}|\d{{1,2}}/\d{{1,2}}")
MAX_DATE_WORDS = 8
"""The most words a calendar date can take ("on the twenty third of december 2026")."""
_PAST_TO = re.compile(
    rf"\b(?:at )?(?P<what>half|(?:a )?quarter|{_N}(?: minutes?)?) (?P<rel>past|to) (?P<hour>{_N})\b"
    rf"(?: ?(?P<ampm>[ap])\.?m\b\.?)?"
)


def parse_datetime(text: str, now: datetime) -> datetime | None:
    """A future moment in the zone of `now`: "at 7", "tomorrow at 9", "in 10 minutes", "noon"."""
    if now.tzinfo is None:
        now = now.astimezone()
    spoken = _clean(text).rstrip(".")
    relative = re.fullmatch(r"in (.+)|(.+) from now", spoken)
    if relative:
        seconds = parse_duration(relative.group(1) or relative.group(2))
        if seconds is None:
            return None
        return (now.astimezone(UTC) + timedelta(seconds=seconds)).astimezone(now.tzinfo)
    day, spoken = _take_day(spoken, now)
    clock, spoken = _take_clock(spoken)
    if clock == "invalid":
        return None
    period = None
    for word, value in _PERIODS.items():
        spoken, count = re.subn(rf"\b(?:(?:in|this) (?:the )?)?{word}\b", " ", spoken)
        period = value if count else period
    leftover = re.sub(r"\b(?:at|on|the|of|this|by)\b|[, ]", "", spoken)
    if leftover:
        if (
            day is not None
            or not _NUMERIC_DATE.search(spoken)
            or len(spoken.split()) > MAX_DATE_WORDS
        ):
            return None  # dateparser takes ~15 ms a call: only for what could be a date
        day = _calendar_date(spoken, now)
        if day is None:
            return None
    if day is None and clock is None and period is None:
        return None
    return _combine(now, day, clock, period)


def _take_day(spoken: str, now: datetime) -> tuple[date | None, str]:
    today = now.date()
    named = {"the day after tomorrow": 2, "day after tomorrow": 2, "tomorrow": 1, "today": 0,
             "tonight": 0}  # fmt: skip
    for phrase, offset in named.items():
        if re.search(rf"\b{phrase}\b", spoken):
            rest = spoken if phrase == "tonight" else re.sub(rf"\b{phrase}\b", " ", spoken, count=1)
            return today + timedelta(days=offset), re.sub(r"\s+", " ", rest).strip()
    weekday = re.search(rf"\b(?:(next|this|on) )?({'|'.join(_WEEKDAYS)})s?\b", spoken)
    if weekday:
        ahead = (_WEEKDAYS.index(weekday.group(2)) - today.weekday()) % 7
        if ahead == 0 and weekday.group(1) != "this":
            ahead = 7
        rest = spoken.replace(weekday.group(0), " ", 1)
        return today + timedelta(days=ahead), re.sub(r"\s+", " ", rest).strip()
    return None, spoken


def _take_clock(spoken: str) -> tuple[tuple[int, int, str | None] | str | None, str]:
    """(hour, minute, "am"/"pm"/None), "invalid" for e.g. "25 o'clock", or None."""
    for word, fixed_hour in {"noon": 12, "midday": 12, "midnight": 0}.items():
        if re.search(rf"\b(?:at )?{word}\b", spoken):
            return (fixed_hour, 0, "24h"), re.sub(rf"\b(?:at )?{word}\b", " ", spoken)
    past_to = _PAST_TO.search(spoken)
    if past_to:
        what = re.sub(r" minutes?$", "", past_to.group("what").removeprefix("a "))
        minutes = {"half": 30, "quarter": 15}.get(what) or _clock_number(what)
        base = _clock_number(past_to.group("hour"))
        if minutes is None or base is None or not 0 < minutes < 60 or base > 12:
            return "invalid", spoken
        if past_to.group("rel") == "to":
            base, minutes = (base - 1) % 12 or 12, 60 - minutes
        ampm = past_to.group("ampm") and past_to.group("ampm") + "m"
        return (base, minutes, ampm), spoken.replace(past_to.group(0), " ", 1)
    match = _CLOCK.search(spoken)
    if not match:
        return None, spoken
    hour = _clock_number(match.group("hour") or match.group("hour2") or match.group("hour3"))
    minute_text = match.group("minute") or match.group("minute2") or match.group("minute3")
    minute = _clock_number(minute_text) if minute_text else 0
    ampm = match.group("ampm") and match.group("ampm") + "m"
    if hour is None or minute is None:
        return "invalid", spoken
    if minute > 59 or hour > 23 or (ampm and not 1 <= hour <= 12):
        return "invalid", spoken
    return (hour, minute, ampm), spoken.replace(match.group(0), " ", 1)


def _clock_number(text: str) -> int | None:
    return int(text) if text.isdigit() else _CLOCK_WORDS.get(text)


def _calendar_date(spoken: str, now: datetime) -> date | None:
    import dateparser

    settings = {"PREFER_DATES_FROM": "future", "RELATIVE_BASE": now.replace(tzinfo=None),
                "REQUIRE_PARTS": ["day", "month"]}  # fmt: skip
    parsed = dateparser.parse(spoken, languages=["en"], settings=settings)  # type: ignore[arg-type]
    return None if parsed is None else parsed.date()


def _combine(
    now: datetime,
    day: date | None,
    clock: tuple[int, int, str | None] | str | None,
    period: tuple[int, str] | None,
) -> datetime:
    zone = now.tzinfo
    if isinstance(clock, tuple):
        hour, minute, ampm = clock
    else:
        hour, minute, ampm = (period[0], 0, "24h") if period else (9, 0, "24h")
        if day == now.date() and period is None:
            return now
    ampm = ampm or (period[1] if period else None)
    if ampm == "pm" and hour < 12:
        hours = [hour + 12]
    elif ampm == "am" and hour == 12:
        hours = [0]
    elif ampm is None and 1 <= hour <= 11 and day is not None:
        hours = [hour + 12 if hour <= 6 else hour]  # on a named day "at 3" is 15:00, "at 9" 09:00
    elif ampm is None and 1 <= hour <= 12:
        hours = sorted({hour % 12, hour % 12 + 12} if hour == 12 else {hour, hour + 12})
    else:
        hours = [hour]
    days = [day] if day is not None else [now.date(), now.date() + timedelta(days=1)]
    moments = [_local(d, time(h, minute), zone) for d in days for h in hours]
    future = [moment for moment in moments if moment > now]
    return min(future) if future else moments[0]


def _local(day: date, clock: time, zone: Any) -> datetime:
    """A wall-clock time; one that a daylight-saving jump skips is moved forward by it."""
    naive = datetime.combine(day, clock, tzinfo=zone)
    return naive.astimezone(UTC).astimezone(zone)
