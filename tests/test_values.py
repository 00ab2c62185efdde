"""The entity value parsers, as a table of spoken inputs and the values they must give."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from assistant.nlu import values
from assistant.nlu.values import Span

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
# Friday 27 March 2026, 08:00 in London: British Summer Time starts on Sunday 29 March at 01:00.
NOW = datetime(2026, 3, 27, 8, 0, tzinfo=LONDON)
# Saturday 28 March 2026, 20:00 GMT, the evening before the clocks go forward.
EVE_OF_DST = datetime(2026, 3, 28, 20, 0, tzinfo=LONDON)


def at(day: int, hour: int, minute: int = 0, month: int = 3, zone: ZoneInfo = LONDON) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=zone)


NUMBERS = [
    ("25", 25), ("twenty five", 25), ("twenty-five", 25), ("three point five", 3.5),
    ("a hundred and two", 102), ("1,000", 1000), ("-3", -3), ("minus three", -3),
    ("zero", 0), ("3.25", 3.25), ("one million two hundred thousand", 1_200_000),
    ("two and a half", 2.5), ("seven point zero five", 7.05), ("Twelve.", 12),
    ("banana", None), ("", None), ("one two three", None), ("3 apples", None), ("point", None),
]  # fmt: skip

PERCENTAGES = [
    ("50%", 50.0), ("50 percent", 50.0), ("fifty per cent", 50.0), ("half", 50.0),
    ("12.5 %", 12.5), ("percent", None), ("fifty", None),
]  # fmt: skip

DURATIONS = [
    ("10 minutes", 600), ("an hour and a half", 5400), ("1h30", 5400), ("90 seconds", 90),
    ("two and a half hours", 9000), ("a minute", 60), ("half an hour", 1800),
    ("1 hour 30 minutes", 5400), ("1 hour and 30 minutes", 5400), ("2h30m", 9000),
    ("a quarter of an hour", 900), ("twenty five minutes", 1500), ("45s", 45), ("3 days", 259200),
    ("5 mins", 300), ("-5 minutes", None), ("minus five minutes", None), ("hour", None),
    ("ten bananas", None), ("0 seconds", None), ("", None),
]  # fmt: skip

DATETIMES = [
    ("at 7", NOW, at(27, 19)),
    ("at 9", NOW, at(27, 9)),
    ("at 7 am", NOW, at(28, 7)),
    ("in 10 minutes", NOW, at(27, 8, 10)),
    ("tomorrow at 9", NOW, at(28, 9)),
    ("tomorrow at 7", NOW, at(28, 7)),
    ("on friday morning", NOW, at(3, 9, month=4)),
    ("next tuesday", NOW, at(31, 9)),
    ("at 5 pm", NOW, at(27, 17)),
    ("at 5:30pm", NOW, at(27, 17, 30)),
    ("noon", NOW, at(27, 12)),
    ("midnight", NOW, at(28, 0)),
    ("tonight", NOW, at(27, 21)),
    ("this evening", NOW, at(27, 19)),
    ("at 7 in the evening", NOW, at(27, 19)),
    ("at seven thirty", NOW, at(27, 19, 30)),
    ("half past seven", NOW, at(27, 19, 30)),
    ("quarter to nine", NOW, at(27, 8, 45)),
    ("sunday at 1:30", NOW, at(29, 13, 30)),
    ("the day after tomorrow at noon", NOW, at(29, 12)),
    ("december 3rd at 5pm", NOW, at(3, 17, month=12)),
    ("in an hour and a half", NOW, at(27, 9, 30)),
    ("at 16:45", NOW, at(27, 16, 45)),
    # Daylight saving: elapsed time crosses the jump, wall-clock times land on the new offset.
    ("in 10 hours", EVE_OF_DST, at(29, 7)),
    ("tomorrow at 9", EVE_OF_DST, at(29, 9)),
    ("tomorrow at 1:30 am", EVE_OF_DST, at(29, 2, 30)),
    ("at 8", datetime(2026, 11, 1, 0, 30, tzinfo=NEW_YORK), at(1, 8, month=11, zone=NEW_YORK)),
    ("25 o'clock", NOW, None),
    ("at 25", NOW, None),
    ("at 7:75", NOW, None),
    ("purple monkey", NOW, None),
    ("in a while", NOW, None),
    ("", NOW, None),
]  # fmt: skip

URLS = [
    ("https://example.com/x", "https://example.com/x"), ("example.com", "https://example.com"),
    ("example dot com", "https://example.com"), ("HTTP://Example.COM/", "http://example.com"),
    ("www dot python dot org slash downloads", "https://www.python.org/downloads"),
    ("localhost:8000/status", "https://localhost:8000/status"),
    ("ftp://example.com", None), ("mailto:me@example.com", None), ("example", None),
    ("hello world", None), ("3.5", None),
]  # fmt: skip

COLOURS = {"red": ["crimson", "scarlet"], "green": ["lime"], "light blue": ["sky blue"]}
ENUMS = [
    ("red", ("red", 1.0)), ("Crimson", ("red", 1.0)), ("sky blue", ("light blue", 1.0)),
    ("scarlett", ("red", None)), ("light blu", ("light blue", None)), ("purple", None), ("", None),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), NUMBERS)
def test_parse_number(text: str, expected: float | None) -> None:
    value = values.parse_number(text)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(("text", "expected"), PERCENTAGES)
def test_parse_percentage(text: str, expected: float | None) -> None:
    assert values.parse_percentage(text) == expected


@pytest.mark.parametrize(("text", "expected"), DURATIONS)
def test_parse_duration(text: str, expected: float | None) -> None:
    assert values.parse_duration(text) == expected


@pytest.mark.parametrize(("text", "now", "expected"), DATETIMES)
def test_parse_datetime(text: str, now: datetime, expected: datetime | None) -> None:
    value = values.parse_datetime(text, now)
    assert value == expected
    if expected is not None:
        assert value is not None and value.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(("text", "expected"), URLS)
def test_parse_url(text: str, expected: str | None) -> None:
    assert values.parse_url(text) == expected


@pytest.mark.parametrize(("text", "expected"), ENUMS)
def test_match_enum(text: str, expected: tuple[str, float | None] | None) -> None:
    result = values.match_enum(text, COLOURS)
    if expected is None:
        assert result is None
        return
    assert result is not None and result[0] == expected[0]
    if expected[1] is None:
        assert 0.8 <= result[1] < 1.0
    else:
        assert result[1] == expected[1]


def test_find_scans_free_text_for_longest_spans() -> None:
    text = "remind me tomorrow at 9, then set a timer for an hour and a half and 20 minutes"
    dates = values.find("datetime", text, NOW)
    assert [(span.text, span.value) for span in dates] == [("tomorrow at 9", at(28, 9))]
    durations = values.find("duration", text, NOW)
    assert [span.text for span in durations] == ["an hour and a half and 20 minutes"]
    assert durations[0].value == 5400 + 1200
    numbers = values.find("number", "add twenty five and -3, then 1,000", NOW)
    assert [span.value for span in numbers] == [25, -3, 1000]
    assert values.find("url", "open example dot com please.", NOW)[0].value == "https://example.com"
    assert values.find("percentage", "volume to 40 percent.", NOW) == [
        Span(10, 20, "40 percent", 40.0)
    ]
    span = numbers[0]
    assert "add twenty five and -3, then 1,000"[span.start : span.end] == span.text


def test_find_rejects_an_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown entity kind 'colour'"):
        values.find("colour", "red", NOW)


def test_to_json_gives_iso_datetimes_and_plain_spans() -> None:
    data = {"when": at(29, 9), "seconds": 90.0, "spans": [Span(0, 2, "10", 10)]}
    encoded = values.to_json(data)
    assert encoded == {
        "when": "2026-03-29T09:00:00+01:00",
        "seconds": 90.0,
        "spans": [{"start": 0, "end": 2, "text": "10", "value": 10}],
    }
    assert json.loads(json.dumps(encoded)) == encoded
