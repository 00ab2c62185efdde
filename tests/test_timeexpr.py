"""Time expressions: a table of one-shot and recurring times, daylight-saving edges, and rejects."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger

from assistant.services.timeexpr import TimeExpressionError, parse_schedule, strip_times
from assistant.services.timewords import describe_duration, describe_time


@dataclass(frozen=True)
class Error:
    """The row must raise TimeExpressionError containing `message`."""

    message: str


def at(zone: str, wall: str) -> datetime:
    return datetime.fromisoformat(wall).replace(tzinfo=ZoneInfo(zone))


L = at("Europe/London", "2026-03-28T22:00")  # clocks go forward at 01:00 the next night
L2 = at("Europe/London", "2026-10-24T23:30")  # clocks go back at 02:00 the next night
N = at("America/New_York", "2026-03-07T12:00")  # forward at 02:00 on 8 March
N2 = at("America/New_York", "2026-10-31T20:00")  # back at 02:00 on 1 November
N3 = at(
    "America/New_York", "2026-11-01T01:45"
)  # the first 1:45, a quarter of an hour before 2:00 EDT
B = at("Europe/Berlin", "2026-11-27T08:15")  # an ordinary Friday morning

TABLE = [
    (L, "in 3 hours", ("2026-03-29T02:00:00+01:00", "in 3 hours (at 2:00 am tomorrow)")),
    (L, "tomorrow at 1:30 am", ("2026-03-29T02:30:00+01:00", "at 2:30 am tomorrow")),
    (L, "tomorrow at 9", ("2026-03-29T09:00:00+01:00", "at 9:00 am tomorrow")),
    (L, "every day at 1:30 am", ("2026-03-29T02:30:00+01:00", "every day at 1:30 am")),
    (L, "every day at 9 am", ("2026-03-29T09:00:00+01:00", "every day at 9:00 am")),
    (L, "in 10 minutes", ("2026-03-28T22:10:00+00:00", "in 10 minutes (at 10:10 pm today)")),
    (L, "at 7", ("2026-03-29T07:00:00+01:00", "at 7:00 am tomorrow")),
    (L2, "in 2 hours", ("2026-10-25T01:30:00+01:00", "in 2 hours (at 1:30 am tomorrow)")),
    (L2, "in 3 hours", ("2026-10-25T01:30:00+00:00", "in 3 hours (at 1:30 am tomorrow)")),
    (L2, "tomorrow at 1:30 am", ("2026-10-25T01:30:00+01:00", "at 1:30 am tomorrow")),
    (L2, "every sunday at 9", ("2026-10-25T09:00:00+00:00", "every Sunday at 9:00 am")),
    (N, "tomorrow at 2:30 am", ("2026-03-08T03:30:00-04:00", "at 3:30 am tomorrow")),
    (N, "in 24 hours", ("2026-03-08T13:00:00-04:00", "in 24 hours (at 1:00 pm tomorrow)")),
    (N, "tomorrow at noon", ("2026-03-08T12:00:00-04:00", "at 12:00 pm tomorrow")),
    (N, "every day at 8 pm", ("2026-03-07T20:00:00-05:00", "every day at 8:00 pm")),
    (N, "every sunday at 2:30 am", ("2026-03-08T03:30:00-04:00", "every Sunday at 2:30 am")),
    (N2, "tomorrow at 1:30 am", ("2026-11-01T01:30:00-04:00", "at 1:30 am tomorrow")),
    (N2, "in 6 hours", ("2026-11-01T01:00:00-05:00", "in 6 hours (at 1:00 am tomorrow)")),
    (N2, "every day at 1:30 am", ("2026-11-01T01:30:00-04:00", "every day at 1:30 am")),
    (B, "at 7", ("2026-11-27T19:00:00+01:00", "at 7:00 pm today")),
    (B, "at 7 am", ("2026-11-28T07:00:00+01:00", "at 7:00 am tomorrow")),
    (B, "at 5 pm", ("2026-11-27T17:00:00+01:00", "at 5:00 pm today")),
    (B, "tomorrow at 9", ("2026-11-28T09:00:00+01:00", "at 9:00 am tomorrow")),
    (B, "on friday morning", ("2026-12-04T09:00:00+01:00", "at 9:00 am on Friday 4 December")),
    (B, "next tuesday", ("2026-12-01T09:00:00+01:00", "at 9:00 am on Tuesday")),
    (B, "noon", ("2026-11-27T12:00:00+01:00", "at 12:00 pm today")),
    (B, "midnight", ("2026-11-28T00:00:00+01:00", "at 12:00 am tomorrow")),
    (
        B,
        "in an hour and a half",
        ("2026-11-27T09:45:00+01:00", "in an hour and a half (at 9:45 am today)"),
    ),
    (B, "in 90 seconds", ("2026-11-27T08:16:30+01:00", "in 90 seconds (at 8:16 am today)")),
    (B, "tonight", ("2026-11-27T21:00:00+01:00", "at 9:00 pm today")),
    (B, "at half past 6", ("2026-11-27T18:30:00+01:00", "at 6:30 pm today")),
    (B, "remind me to call mum at 5 pm", ("2026-11-27T17:00:00+01:00", "at 5:00 pm today")),
    (
        B,
        "remind me in 10 minutes to check the oven",
        ("2026-11-27T08:25:00+01:00", "in 10 minutes (at 8:25 am today)"),
    ),
    (B, "on december 3rd at 10 am", ("2026-12-03T10:00:00+01:00", "at 10:00 am on Thursday")),
    (B, "every weekday at 8", ("2026-11-30T08:00:00+01:00", "every weekday at 8:00 am")),
    (B, "every day at 7 pm", ("2026-11-27T19:00:00+01:00", "every day at 7:00 pm")),
    (B, "every monday", ("2026-11-30T09:00:00+01:00", "every Monday at 9:00 am")),
    (
        B,
        "on mondays and fridays at 6:30 pm",
        ("2026-11-27T18:30:00+01:00", "every Monday and Friday at 6:30 pm"),
    ),
    (B, "every 15 minutes", ("2026-11-27T08:30:00+01:00", "every 15 minutes")),
    (B, "every hour", ("2026-11-27T09:15:00+01:00", "every hour")),
    (B, "every morning", ("2026-11-27T09:00:00+01:00", "every day at 9:00 am")),
    (B, "every evening at 8", ("2026-11-27T20:00:00+01:00", "every day at 8:00 pm")),
    (B, "every weekend at 10", ("2026-11-28T10:00:00+01:00", "every weekend day at 10:00 am")),
    (
        B,
        "every tuesday, thursday and saturday at noon",
        ("2026-11-28T12:00:00+01:00", "every Tuesday, Thursday and Saturday at 12:00 pm"),
    ),
    (
        B,
        "wake me up every weekday at 6:45",
        ("2026-11-30T06:45:00+01:00", "every weekday at 6:45 am"),
    ),
    (B, "wake me up at 7", ("2026-11-28T07:00:00+01:00", "at 7:00 am tomorrow")),
    (B, "wake me up at 7 pm", ("2026-11-27T19:00:00+01:00", "at 7:00 pm today")),
    (B, "daily at 11:30 pm", ("2026-11-27T23:30:00+01:00", "every day at 11:30 pm")),
    (B, "remind me at 25 o'clock", Error("'at 25 o'clock' is not a time of day")),
    (B, "in minus 3 minutes", Error("'in minus 3 minutes' is in the past")),
    (B, "at 13 pm", Error("'at 13 pm' is not a time of day")),
    (B, "at 7:75", Error("'at 7:75' is not a time of day")),
    (B, "in 0 minutes", Error("'in 0 minutes' is now")),
    (B, "every 0 minutes", Error("'every 0 minutes' is not a whole positive number of minutes")),
    (B, "today at 7 am", Error("7:00 am today has already passed; nothing scheduled")),
    (B, "in -5 minutes", Error("'in -5 minutes' is in the past")),
    (B, "remind me to buy eggs", None),
    (B, "buy 3 apples", None),
]


@pytest.mark.parametrize(
    ("now", "text", "expected"), TABLE, ids=[f"{r[1]}@{r[0]:%m-%d}" for r in TABLE]
)
def test_time_expression_table(now, text, expected):
    alarm = text.startswith("wake me")
    if isinstance(expected, Error):
        with pytest.raises(TimeExpressionError, match=re.escape(expected.message)):
            parse_schedule(text, now, alarm=alarm)
        return
    schedule = parse_schedule(text, now, alarm=alarm)
    if expected is None:
        assert schedule is None
        return
    first, description = expected
    assert schedule is not None
    assert (schedule.first.isoformat(), schedule.description) == (first, description)
    assert schedule.recurring == description.startswith("every")
    assert schedule.first.timestamp() > now.timestamp()
    if not schedule.recurring:
        # timestamps: an aware time in a clock change's fold never compares equal across zones
        assert datetime.fromisoformat(schedule.when).timestamp() == schedule.first.timestamp()


def test_the_table_has_at_least_forty_rows():
    assert len(TABLE) >= 40


@pytest.mark.parametrize(
    ("now", "text", "following"),
    [
        (L, "every day at 1:30 am", "2026-03-30T01:30:00+01:00"),
        (L, "every day at 9 am", "2026-03-30T09:00:00+01:00"),
        (N2, "every day at 8 pm", "2026-11-01T20:00:00-05:00"),
    ],
)
def test_a_daily_cron_keeps_its_wall_clock_time_across_a_clock_change(now, text, following):
    schedule = parse_schedule(text, now)
    assert schedule is not None and isinstance(schedule.when, dict)
    trigger = CronTrigger(**schedule.when["cron"], timezone=now.tzinfo)
    first = trigger.get_next_fire_time(None, now)
    assert first is not None
    second = trigger.get_next_fire_time(first, first + timedelta(seconds=1))
    assert second is not None
    assert second.astimezone(ZoneInfo("UTC")).astimezone(now.tzinfo).isoformat() == following


@pytest.mark.parametrize(
    ("text", "task"),
    [
        ("water the plants at 5 pm", "water the plants"),
        ("take my pills every weekday at 8", "take my pills"),
        ("call mum tomorrow at 9", "call mum"),
        ("in 10 minutes check the oven", "check the oven"),
        ("buy 3 apples on friday morning", "buy 3 apples"),
    ],
)
def test_strip_times_leaves_the_task(text, task):
    assert strip_times(text, B) == task


def test_wording_of_durations_and_times():
    assert describe_duration(5400) == "1 hour and 30 minutes"
    assert describe_duration(3725) == "1 hour, 2 minutes and 5 seconds"
    assert describe_duration(1) == "1 second"
    assert describe_time(B + timedelta(days=10), B) == "8:15 am on Monday 7 December"
    assert describe_time(B - timedelta(hours=12), B) == "8:15 pm yesterday"


LONG_MIDDLE = " ".join(["the ferry leaves at 7 pm on Friday, 3 December, for two hours."] * 200)
FILLER = " ".join(["and bring the blue bag with the maps"] * 6)  # 48 words, no time in them


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"{FILLER} {LONG_MIDDLE} {FILLER} in 10 minutes", "2026-11-27T08:25:00+01:00"),
        (f"at 6 pm {FILLER} {LONG_MIDDLE} {FILLER}", "2026-11-27T18:00:00+01:00"),
    ],
    ids=["time at the end", "time at the start"],
)
def test_a_long_utterance_has_its_time_read_at_its_ends(text, expected):
    schedule = parse_schedule(text, B)
    assert schedule is not None and schedule.when == expected
    task = strip_times(text, B)
    assert task.count("7 pm on Friday") == 200  # the pasted middle is left as it was said
    assert "10 minutes" not in task and "6 pm" not in task
