"""Time in other places and the hour people mean, through `chat --json` (transformer classifier).

Cities: the zone answered is the one expected and the time is that zone's clock during the
session (checked with `zoneinfo`). Alarms and reminders: each session runs with $TZ set to a
fixed-offset zone (Etc/GMT±N) chosen so that the local time is a known hour, which is the
clock the assistant reads; the scheduled time must be the one a person means.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from chat_session import chat, trained_home

CITIES = [
    ("what time is it in Tokyo", "Asia/Tokyo"),
    ("what's the time in New York", "America/New_York"),
    ("time in Sydney", "Australia/Sydney"),
    ("what time is it in London right now", "Europe/London"),
    ("tell me the time in Paris", "Europe/Paris"),
    ("current time in Berlin", "Europe/Berlin"),
    ("what time is it in Moscow", "Europe/Moscow"),
    ("what's the local time in Dubai", "Asia/Dubai"),
    ("what time is it in Mumbai", "Asia/Kolkata"),
    ("what time is it in Kathmandu", "Asia/Kathmandu"),
    ("what's the time in Singapore", "Asia/Singapore"),
    ("what time is it in Hong Kong", "Asia/Hong_Kong"),
    ("what time is it in Los Angeles", "America/Los_Angeles"),
    ("what's the time in Chicago", "America/Chicago"),
    ("what time is it in Denver", "America/Denver"),
    ("what time is it in Honolulu", "Pacific/Honolulu"),
    ("what time is it in Auckland", "Pacific/Auckland"),
    ("what's the time in Cairo", "Africa/Cairo"),
    ("what time is it in Nairobi", "Africa/Nairobi"),
    ("what time is it in Buenos Aires", "America/Argentina/Buenos_Aires"),
    ("what time is it in São Paulo", "America/Sao_Paulo"),
    ("what time is it in Reykjavik", "Atlantic/Reykjavik"),
    ("what time is it in Tehran", "Asia/Tehran"),
    ("what's the time in Adelaide", "Australia/Adelaide"),
    ("what time is it in Japan", "Asia/Tokyo"),
    ("what time is it in California", "America/Los_Angeles"),
]
DATES = [
    ("what's the date in Sydney", "Australia/Sydney"),
    ("what day is it in Honolulu", "Pacific/Honolulu"),
]
UNKNOWN = ["what time is it in Gondor", "what's the date in Narnia"]
OTHER_DAYS = [  # (utterance, days from today, zone or None for here)
    ("what's the date tomorrow", 1, None),
    ("what day is it tomorrow", 1, None),
    ("what was the date yesterday", -1, None),
    ("what's the date the day after tomorrow", 2, None),
    ("what's the date in Sydney tomorrow", 1, "Australia/Sydney"),
]

# (utterance, action, days from today or a weekday name, hour, minute)
Expect = tuple[str, str, int | str, int, int]
AFTERNOON: list[Expect] = [  # said between 16:00 and 18:00
    ("wake me up at 6:30", "set_alarm", 1, 6, 30),
    ("wake me up at 6:30 tomorrow", "set_alarm", 1, 6, 30),
    ("set an alarm for 7", "set_alarm", 1, 7, 0),
    ("set an alarm for half past seven", "set_alarm", 1, 7, 30),
    ("wake me at quarter to seven", "set_alarm", 1, 6, 45),
    ("wake me up at seven thirty", "set_alarm", 1, 7, 30),
    ("set an alarm for 5:45 tomorrow morning", "set_alarm", 1, 5, 45),
    ("i need to get up at 6 tomorrow", "set_alarm", 1, 6, 0),
    ("alarm for 8:15", "set_alarm", 1, 8, 15),
    ("set an alarm for 6 pm", "set_alarm", 0, 18, 0),
    ("set an alarm for 9 tonight", "set_alarm", 0, 21, 0),
    ("wake me up at noon tomorrow", "set_alarm", 1, 12, 0),
    ("remind me at 6:30 to cook", "set_reminder", 0, 18, 30),
    ("remind me at 9 tonight to call dad", "set_reminder", 0, 21, 0),
    ("remind me at noon tomorrow to eat lunch", "set_reminder", 1, 12, 0),
    ("remind me at half past seven to feed the cat", "set_reminder", 0, 19, 30),
    ("remind me at quarter past eight to lock the door", "set_reminder", 0, 20, 15),
    ("remind me at 11 to take my pills", "set_reminder", 0, 23, 0),
    ("remind me tomorrow at 9 to call the bank", "set_reminder", 1, 9, 0),
    ("remind me tomorrow at 3 to pick up the kids", "set_reminder", 1, 15, 0),
    ("remind me at 10 pm to switch off the heating", "set_reminder", 0, 22, 0),
    ("remind me at 7 in the morning to water the plants", "set_reminder", 1, 7, 0),
    ("remind me at midnight to check the oven", "set_reminder", 1, 0, 0),
    ("remind me this evening at 8 to call mum", "set_reminder", 0, 20, 0),
    ("remind me at 8 to take the bins out", "set_reminder", 0, 20, 0),
]
MORNING: list[Expect] = [  # said between 9:00 and 11:00
    ("wake me up at 6:30", "set_alarm", 1, 6, 30),
    ("remind me at 6:30 to cook", "set_reminder", 0, 18, 30),
    ("remind me at noon to eat", "set_reminder", 0, 12, 0),
    ("remind me at half past seven to call grandma", "set_reminder", 0, 19, 30),
    ("remind me at 9 tonight to read", "set_reminder", 0, 21, 0),
    ("set an alarm for 11", "set_alarm", 0, 11, 0),
    ("remind me at 11 to make coffee", "set_reminder", 0, 11, 0),
    ("remind me at 2 to call the school", "set_reminder", 0, 14, 0),
    ("remind me this afternoon at 4 to go for a walk", "set_reminder", 0, 16, 0),
    ("remind me at 8 in the evening to do yoga", "set_reminder", 0, 20, 0),
    ("remind me at quarter to one to leave", "set_reminder", 0, 12, 45),
    ("wake me up at 7 tomorrow", "set_alarm", 1, 7, 0),
    ("set an alarm for 5 pm", "set_alarm", 0, 17, 0),
    ("remind me tonight to take out the trash", "set_reminder", 0, 21, 0),
    ("remind me tomorrow morning to buy bread", "set_reminder", 1, 9, 0),
    ("remind me at twenty past three to pick up the parcel", "set_reminder", 0, 15, 20),
    ("wake me up on saturday at 8", "set_alarm", "saturday", 8, 0),
]
EVENING: list[Expect] = [  # said between 21:00 and 23:00
    ("remind me at 6:30 to cook", "set_reminder", 1, 6, 30),
    ("remind me at 11 to go to bed", "set_reminder", 0, 23, 0),
    ("wake me up at 6", "set_alarm", 1, 6, 0),
    ("remind me at noon to call the plumber", "set_reminder", 1, 12, 0),
]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trained_home(tmp_path_factory, "clock")


def zone_at_hour(hour: int) -> str:
    """A fixed-offset zone whose local time now is `hour` o'clock (minutes as they are)."""
    offset = (hour - datetime.now(UTC).hour) % 24
    offset = offset - 24 if offset > 12 else offset
    return f"Etc/GMT{-offset:+d}"  # POSIX names: Etc/GMT-9 is nine hours ahead of UTC


def test_the_date_tomorrow_and_yesterday(home: Path) -> None:
    said = chat(home, [u for u, _, _ in OTHER_DAYS])
    for (utterance, days, zone), turn in zip(OTHER_DAYS, said.turns, strict=True):
        assert (turn["skill"], turn["action"]) == ("system", "date"), (utterance, turn["reply"])
        started = said.started.astimezone(ZoneInfo(zone) if zone else None)
        finished = said.finished.astimezone(ZoneInfo(zone) if zone else None)
        expected = {(moment + timedelta(days=days)).date() for moment in (started, finished)}
        assert date.fromisoformat(turn["data"]["date"]) in expected, (utterance, turn["data"])
        assert turn["data"].get("zone") == zone, (utterance, turn["data"])
        word = {1: "tomorrow", -1: "yesterday", 2: "day after tomorrow"}[days]
        assert word in turn["reply"].lower() and "today" not in turn["reply"].lower(), turn["reply"]


def test_time_in_cities_is_their_zones_clock(home: Path) -> None:
    said = chat(home, [u for u, _ in CITIES + DATES] + UNKNOWN)
    for (utterance, zone), turn in zip(CITIES, said.turns, strict=False):
        assert (turn["skill"], turn["action"]) == ("system", "time"), (utterance, turn["reply"])
        assert turn["data"]["zone"] == zone, (utterance, turn["data"])
        there = datetime.fromisoformat(turn["data"]["time"])
        assert there.utcoffset() == ZoneInfo(zone).utcoffset(there.replace(tzinfo=None)), utterance
        assert said.started - timedelta(seconds=1) <= there <= said.finished, utterance
        clock = there.strftime("%I:%M %p").lstrip("0")
        assert clock in turn["reply"], (utterance, turn["reply"])
    for (utterance, zone), turn in zip(DATES, said.turns[len(CITIES) :], strict=False):
        assert (turn["skill"], turn["action"]) == ("system", "date"), (utterance, turn["reply"])
        days = {
            said.started.astimezone(ZoneInfo(zone)).date(),
            said.finished.astimezone(ZoneInfo(zone)).date(),
        }
        assert date.fromisoformat(turn["data"]["date"]) in days, utterance
    for utterance, turn in zip(UNKNOWN, said.turns[-len(UNKNOWN) :], strict=True):
        assert turn["data"]["zone"] is None and turn["data"]["place"] in utterance, turn["data"]
        assert "know" in turn["reply"] or "find" in turn["reply"], turn["reply"]


def test_the_table_has_at_least_forty_phrasings() -> None:
    assert len(AFTERNOON + MORNING + EVENING) >= 40


@pytest.mark.parametrize(
    ("hour", "rows"), [(16, AFTERNOON), (9, MORNING), (21, EVENING)], ids=["16h", "9h", "21h"]
)
def test_the_hour_people_mean(home: Path, hour: int, rows: list[Expect]) -> None:
    zone_name = zone_at_hour(hour)
    said = chat(home, [row[0] for row in rows], env={"TZ": zone_name})
    zone = ZoneInfo(zone_name)
    today = said.started.astimezone(zone).date()
    assert said.started.astimezone(zone).hour == hour
    wrong = []
    for (utterance, action, day, hh, mm), turn in zip(rows, said.turns, strict=True):
        expected = datetime.combine(_day(today, day), datetime.min.time()).replace(
            hour=hh, minute=mm
        )
        got = _scheduled(turn, zone)
        if (turn["action"], got) != (action, expected):
            wrong.append(
                f"{utterance!r}: {turn['action']} at {got}, expected {action} at {expected}"
            )
    assert not wrong, "\n".join(wrong)


def _day(today: date, day: int | str) -> date:
    if isinstance(day, int):
        return today + timedelta(days=day)
    names = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    ahead = (names.index(day) - today.weekday()) % 7 or 7
    return today + timedelta(days=ahead)


def _scheduled(turn: dict[str, Any], zone: ZoneInfo) -> datetime | None:
    job = turn["data"].get("job")
    if not job:
        return None
    return datetime.fromisoformat(job["next_run_time"]).astimezone(zone).replace(tzinfo=None)
