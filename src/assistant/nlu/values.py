"""Parsers for the built-in entity values: numbers, percentages, durations, datetimes, URLs, enums.

Every parser takes the text of one span and returns its value, or None when the
whole span is not such a value. `find` scans free text for every span of a kind.
Spelled-out numbers go through text2num; enums through rapidfuzz; datetimes
through `assistant.nlu.datetimes` (times of day, weekdays, calendar dates).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from rapidfuzz import fuzz, process, utils
from text_to_num import text2num

__all__ = [
    "MAX_SPAN_TOKENS",
    "Span",
    "find",
    "match_enum",
    "parse_datetime",
    "parse_duration",
    "parse_number",
    "parse_percentage",
    "parse_url",
    "to_json",
]


@dataclass(frozen=True)
class Span:
    """One value found in a text: characters `text[start:end]` and what they mean."""

    start: int
    end: int
    text: str
    value: Any


def _clean(text: str) -> str:
    text = text.strip().lower().replace("\u2212", "-").replace("\u2019", "'")
    return re.sub(r"\s+", " ", text).strip(" ,;!?")


# ---------------------------------------------------------------- numbers

_DIGIT_WORDS = {
    "zero": 0, "oh": 0, "o": 0, "one": 1, "two": 2, "three": 3, "four": 4,
    "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
}  # fmt: skip
_NUMERAL = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[-+]?\.\d+")
_WORD = re.compile(r"[a-z]+(?:[- ][a-z]+)*")


def parse_number(text: str) -> int | float | None:
    """25, "twenty five", "three point five", "a hundred and two", "1,000", "minus three"."""
    spoken = _clean(text).rstrip(".")
    if not spoken:
        return None
    sign = 1
    for prefix in ("minus ", "negative "):
        if spoken.startswith(prefix):
            sign, spoken = -1, spoken[len(prefix) :]
    if _NUMERAL.fullmatch(spoken):
        value = float(spoken.replace(",", ""))
        return sign * (int(value) if value.is_integer() and "." not in spoken else value)
    half = re.fullmatch(r"(.+) and a half", spoken)
    if half:
        whole = _words_to_int(half.group(1))
        return None if whole is None else sign * (whole + 0.5)
    whole_part, _, fraction = spoken.partition(" point ")
    whole = _words_to_int(whole_part)
    if whole is None:
        return None
    if not fraction:
        return sign * whole
    digits = [_DIGIT_WORDS.get(word, word) for word in fraction.split()]
    if not all(isinstance(d, int) or (isinstance(d, str) and d.isdigit()) for d in digits):
        return None
    return sign * float(f"{whole}.{''.join(str(d) for d in digits)}")


def _words_to_int(spoken: str) -> int | None:
    if spoken.isdigit():
        return int(spoken)
    if not _WORD.fullmatch(spoken):
        return None
    spoken = re.sub(r"^an? (?=hundred|thousand|million|billion)", "one ", spoken)
    if spoken in _DIGIT_WORDS and spoken not in ("o", "oh"):
        return _DIGIT_WORDS[spoken]
    try:
        return int(text2num(spoken, "en"))
    except ValueError:
        return None


def parse_percentage(text: str) -> float | None:
    """Reads "50%", "50 percent", "fifty per cent", "half" -> the value in percent (50.0)."""
    spoken = _clean(text)
    if spoken in ("half", "a half"):
        return 50.0
    match = re.fullmatch(r"(.+?)\s*(?:%|percent|per cent|pc)", spoken)
    number = parse_number(match.group(1)) if match else None
    return None if number is None else float(number)


# -------------------------------------------------------------- durations

_UNIT_SECONDS = {
    "second": 1, "sec": 1, "s": 1, "minute": 60, "min": 60, "m": 60,
    "hour": 3600, "hr": 3600, "h": 3600, "day": 86400, "d": 86400, "week": 604800,
}  # fmt: skip
_UNIT = r"(?<![a-z])(?P<unit>seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?)"
_COMPONENT = re.compile(
    rf"\s*(?:(?:and|,)\s*)?(?P<qty>.+?)\s*{_UNIT}\b(?P<half>\s+and\s+a\s+half)?\s*"
)


def parse_duration(text: str) -> float | None:
    """Seconds in "10 minutes", "an hour and a half", "1h30", "two and a half hours"."""
    spoken = _clean(text).rstrip(".")
    spoken = re.sub(r"(?<=\d)(?=[a-z])|(?<=[a-z])(?=\d)", " ", spoken)
    spoken = re.sub(r"^(\d+) ?h ?(\d{1,2})$", r"\1 hours \2 minutes", spoken)
    spoken = re.sub(r"^(\d+) ?m ?(\d{1,2})$", r"\1 minutes \2 seconds", spoken)
    total, position = 0.0, 0
    while position < len(spoken):
        match = _COMPONENT.match(spoken, position)
        if not match:
            return None
        quantity = _quantity(match.group("qty"))
        if quantity is None or quantity < 0:
            return None
        unit = _UNIT_SECONDS[match.group("unit").rstrip("s") or "s"]
        total += (quantity + (0.5 if match.group("half") else 0.0)) * unit
        position = match.end()
    return total if total > 0 else None


def _quantity(spoken: str) -> float | None:
    fixed = {"a": 1.0, "an": 1.0, "one": 1.0, "half a": 0.5, "half an": 0.5,
             "a quarter of an": 0.25, "a quarter of a": 0.25, "quarter of an": 0.25,
             "a couple of": 2.0, "a couple": 2.0, "a few": 3.0}  # fmt: skip
    if spoken in fixed:
        return fixed[spoken]
    number = parse_number(spoken)
    return None if number is None else float(number)


# -------------------------------------------------------------- datetimes


def parse_datetime(text: str, now: datetime) -> datetime | None:
    """A future moment in the zone of `now`: "at 7", "tomorrow at 9", "in 10 minutes", "noon".

    Read by `assistant.nlu.datetimes` (imported here on first use: it builds on durations).
    """
    from assistant.nlu.datetimes import parse_datetime as parse

    return parse(text, now)


# ------------------------------------------------------------------- urls

_SPOKEN_URL = {" dot ": ".", " slash ": "/", " colon ": ":", " dash ": "-", " hyphen ": "-",
               " underscore ": "_", " question mark ": "?", " equals ": "="}  # fmt: skip
_HOST = re.compile(
    r"(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}|localhost|\d{1,3}(?:\.\d{1,3}){3}"
)


def parse_url(text: str) -> str | None:
    """http(s) URLs, bare domains and spoken ones ("example dot com") -> "https://example.com"."""
    spoken = f" {_clean(text).rstrip('.')} "
    for word, symbol in _SPOKEN_URL.items():
        spoken = spoken.replace(word, symbol).replace(word, symbol)
    spoken = spoken.strip()
    if not spoken or " " in spoken:
        return None
    if "://" not in spoken:
        if re.match(r"^[a-z][a-z0-9+.-]*:(?!\d)", spoken):
            return None  # mailto:, ftp: and friends without slashes
        spoken = "https://" + spoken
    try:
        parts = urlsplit(spoken)
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not (_HOST.fullmatch(host) or _is_ipv6(host)):
        return None
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None else f"{host}:{port}"
    path = "" if parts.path == "/" else parts.path
    return urlunsplit((parts.scheme, netloc, path, parts.query, parts.fragment))


def _is_ipv6(host: str) -> bool:
    """An IPv6 literal, as `http://[::1]:8080/` carries it (the web service decides whether to go there)."""
    try:
        ipaddress.IPv6Address(host)
    except ValueError:
        return False
    return True


# ------------------------------------------------------------------ enums


def match_enum(
    text: str, values: Mapping[str, Sequence[str]], min_score: float = 80
) -> tuple[str, float] | None:
    """(canonical value, score in [0, 1]) of the best synonym: exact first, then fuzzy."""
    wanted = utils.default_process(text)
    if not wanted:
        return None
    choices: dict[str, str] = {}
    for canonical, synonyms in values.items():
        for name in (canonical, *synonyms):
            choices.setdefault(utils.default_process(name), canonical)
    if wanted in choices:
        return choices[wanted], 1.0
    best = process.extractOne(wanted, list(choices), scorer=fuzz.ratio, score_cutoff=min_score)
    return None if best is None else (choices[best[0]], best[1] / 100.0)


# -------------------------------------------------------------- scanning

MAX_SPAN_TOKENS = {"number": 8, "percentage": 9, "duration": 12, "datetime": 10, "url": 12}
"""The longest span, in tokens, that `find` tries for each kind."""


_TIME_WORD = re.compile(
    r"\d|\b(?:mon|tue|wed|thu|fri|sat|sun|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"
    r"|today|tomorrow|tonight|yesterday|noon|midnight|morning|afternoon|evening|night|now|later"
    r"|sec|min|hour|hr|day|week|month|year|fortnight|half|quarter|next|o'?clock"
    r"|zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fifteen"
    r"|twenty|thirty|forty|fifty|sixty|hundred|oh)",
    re.IGNORECASE,
)
"""A word that may belong to a moment or a length of time. A span without one cannot be either,
so `find` does not parse it: long text (a pasted page) then costs one regex per word."""
_TIME_KINDS = {"duration", "datetime"}


def _parsers(now: datetime) -> dict[str, Callable[[str], Any]]:
    return {
        "number": parse_number,
        "percentage": parse_percentage,
        "duration": parse_duration,
        "datetime": lambda text: parse_datetime(text, now),
        "url": parse_url,
    }


def find(kind: str, text: str, now: datetime) -> list[Span]:
    """Every value of a built-in `kind` in `text`: longest spans first, left to right, no overlap."""
    parsers = _parsers(now)
    if kind not in parsers:
        raise ValueError(f"unknown entity kind {kind!r}; expected one of: {', '.join(parsers)}")
    parse, limit = parsers[kind], MAX_SPAN_TOKENS[kind]
    tokens = [
        (m.start(), m.start() + len(m.group().rstrip(",.;:!?)\"'")))
        for m in re.finditer(r"\S+", text)
    ]
    # hits[i]: how many of the first i tokens may belong to a time (for durations and moments).
    hits = [0]
    for token_start, token_end in tokens:
        timeish = kind not in _TIME_KINDS or _TIME_WORD.search(text, token_start, token_end)
        hits.append(hits[-1] + bool(timeish))
    spans: list[Span] = []
    index = 0
    while index < len(tokens):
        start = tokens[index][0]
        if hits[min(len(tokens), index + limit)] == hits[index]:
            index += 1  # no word of a time within reach: no span starting here can be one
            continue
        for stop in range(min(len(tokens), index + limit), index, -1):
            end = tokens[stop - 1][1]
            if end <= start:
                continue
            value = parse(text[start:end])
            if value is not None:
                spans.append(Span(start, end, text[start:end], value))
                index = stop
                break
        else:
            index += 1
    return spans


def to_json(value: Any) -> Any:
    """Plain JSON data: datetimes as ISO 8601 with offset, durations as seconds, spans as dicts."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Span):
        return {
            "start": value.start,
            "end": value.end,
            "text": value.text,
            "value": to_json(value.value),
        }
    if isinstance(value, Mapping):
        return {str(key): to_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    return value
