"""English wording of times and lengths for replies: "7:00 pm today", "1 hour and 30 minutes"."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["clock", "days_wording", "describe_duration", "describe_time", "occurrence_text"]

_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_LATE = "While I was off, you had a {kind} at {time}: {text}"
_MISSED = "You missed a {kind} at {time}: {text}"


def clock(moment: datetime) -> str:
    """ "7:05 pm"."""
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment.minute:02d} {'am' if moment.hour < 12 else 'pm'}"


def days_wording(days: str) -> str:
    """A cron `day_of_week` in words: "mon-fri" -> "every weekday", "mon,fri" -> "every Monday and Friday"."""
    named = {"*": "every day", "mon-fri": "every weekday", "sat,sun": "every weekend day"}
    if days in named:
        return named[days]
    full = [next(d for d in _WEEKDAYS if d.startswith(a)).capitalize() for a in days.split(",")]
    return "every " + (full[0] if len(full) == 1 else ", ".join(full[:-1]) + " and " + full[-1])


def describe_time(moment: datetime, now: datetime) -> str:
    """Exact wording: "7:00 pm today", "9:00 am tomorrow", "8:00 am on Friday 4 December"."""
    moment = moment.astimezone(UTC).astimezone(now.tzinfo)
    days = (moment.date() - now.date()).days
    relative = {0: "today", 1: "tomorrow", -1: "yesterday"}
    if days in relative:
        day = relative[days]
    elif 1 < days < 7:
        day = f"on {moment:%A}"
    else:
        day = f"on {moment:%A} {moment.day} {moment:%B}"
        day += f" {moment.year}" if moment.year != now.year else ""
    return f"{clock(moment)} {day}"


def describe_duration(seconds: float) -> str:
    """Spoken length: "3 minutes", "1 hour and 30 minutes", "45 seconds"."""
    total = max(0, round(seconds))
    parts = []
    for unit, size in (("hour", 3600), ("minute", 60), ("second", 1)):
        count, total = divmod(total, size)
        if count:
            parts.append(f"{count} {unit}{'s' if count != 1 else ''}")
    if not parts:
        return "0 seconds"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def occurrence_text(template: str | None, status: str, kind: str, when: str, text: str) -> str:
    """A late or missed job in words; the skill's own `template` ("{time}" filled) when it gave one."""
    fields = {"{time}": when, "{kind}": kind, "{text}": text}
    result = template or (_LATE if status == "late" else _MISSED)
    for field, value in fields.items():  # not str.format: the user's words may hold braces
        result = result.replace(field, value)
    return result
