"""The span step of question answering: which kind of answer a question wants, and where it is.

"When was it built" wants a date, so from "It was built in 1871 and is the oldest
crossing" the answer is "1871". Patterns cover dates, quantities with their units,
names of people and places, reasons and named things; anything else is answered
with the whole sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class AnswerType(StrEnum):
    DATE = "date"
    NUMBER = "number"
    PERSON = "person"
    PLACE = "place"
    REASON = "reason"
    NAME = "name"
    OTHER = "other"


@dataclass(frozen=True)
class Expectation:
    """What the question asks for."""

    type: AnswerType
    units: tuple[str, ...] = ()
    """Unit words the number should carry ("metres" for "how tall"); empty = any."""
    focus: str = ""
    """The noun being counted or named: "arches" in "how many arches"."""
    with_unit: bool = True
    """Answer "142 metres" rather than "142" (False when the unit is the question's own noun)."""


@dataclass(frozen=True)
class Span:
    text: str
    start: int
    """Character offset in the sentence."""
    score: float


_MONTH = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?"
)
_WEEKDAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)s?"
_DATES = [
    (re.compile(rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH},?\s+\d{{4}}\b"), 1.0),
    (re.compile(rf"\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}\b"), 1.0),
    (re.compile(rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?!\w)"), 0.95),
    (re.compile(rf"\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?\b(?!,?\s*\d)"), 0.95),
    (re.compile(rf"\b(?:between|from)\s+{_MONTH}\s+(?:and|to|until)\s+{_MONTH}"), 0.9),
    (re.compile(rf"\b{_MONTH}\s+\d{{4}}\b"), 0.9),
    (re.compile(r"\b(?:1[0-9]{3}|20[0-9]{2})s?\b"), 0.8),
    (re.compile(rf"\b{_WEEKDAY}\b"), 0.6),
    (re.compile(rf"\b{_MONTH}(?=\s|,|\.|$)"), 0.5),
]
_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    "sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|"
    "a hundred|a thousand|a dozen|dozens|hundreds|thousands|a third|a quarter|half|twice|once"
)
_NUMBER = re.compile(
    rf"(?<![\w.])(?P<number>[$£€]\s?\d[\d,]*(?:\.\d+)?|\d[\d,]*(?:\.\d+)?%?|(?:{_NUMBER_WORDS})(?:[- ](?:{_NUMBER_WORDS}))?\b)"
    r"(?P<magnitude>\s(?:million|billion|thousand|hundred))?"
    r"(?P<unit>(?:\s[a-z%-]+){0,2})",
    re.IGNORECASE,
)
_YEAR = re.compile(r"^(?:1[0-9]{3}|20[0-9]{2})$")
_CAPITALISED = re.compile(
    r"\b[A-Z][\w'’-]*(?:\s+(?:(?:de|del|da|van|von|of|the)\s+)?[A-Z][\w'’-]*)*"
    r"(?:\s+(?:and|&)\s+[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*)?"
)
_PLACE_LEAD = re.compile(
    r"\b(?:in|at|from|to|on|near|of|across|off|into|towards?)\s+(?:the\s+)?(?:[a-z]+\s+)?$"
)
_REASON = re.compile(
    r"\b(?:because(?:\s+of)?|since|due to|as a result of|so that|in order to)\s+(?P<reason>[^.;!?]+)"
)
_STOP = frozenset(
    "a an the of in on at to for from by with and or is are was were be been being it its this that these those "
    "do does did done has have had how what when where who whom whose which why there their they them he she his "
    "her we our you your i me my about into than then so as not no yes can could would should will may might".split()
)
_LENGTH_UNITS = (
    "metres",
    "meters",
    "metre",
    "meter",
    "m",
    "km",
    "kilometres",
    "kilometers",
    "miles",
    "mile",
    "feet",
    "foot",
    "ft",
    "inches",
    "yards",
    "cm",
    "centimetres",
)
_TIME_UNITS = (
    "years",
    "year",
    "months",
    "month",
    "weeks",
    "week",
    "days",
    "day",
    "hours",
    "hour",
    "minutes",
    "minute",
    "seconds",
    "decades",
    "centuries",
)
_MONEY_UNITS = ("pounds", "dollars", "euros", "francs", "yen", "pesos", "$", "£", "€")
_PLACE_WORDS = "country|countries|city|cities|town|towns|village|region|river|island|state|province|continent|place|street|mountains?|lake|coast|harbour|port"
_PERSON_WORDS = "person|people|man|woman|engineer|architect|keeper|founder|farmer|author|designer|owner|inventor|scientist|artist|king|queen|president|leader|family"


def expected_answer(question: str) -> Expectation:
    """The kind of answer `question` asks for."""
    q = " ".join(question.lower().replace("?", " ").split())
    if re.search(
        r"^(?:when|since when)\b|\b(?:what|which|in what|in which) (?:year|date|day|month|century|decade|season)s?\b",
        q,
    ):
        return Expectation(AnswerType.DATE)
    many = re.search(r"\bhow many\s+(\w+)(?:\s+(\w+))?", q)
    if many:
        focus = " ".join(word for word in many.groups() if word and word not in _STOP)
        return Expectation(AnswerType.NUMBER, focus=focus, with_unit=False)
    measure = re.search(r"\bhow (much|long|tall|high|far|big|old|wide|deep|heavy|often|large)\b", q)
    if measure:
        return Expectation(AnswerType.NUMBER, units=_units_for(measure.group(1), q))
    if re.search(
        r"\bwhat (?:is|was|were|are) the (?:length|height|cost|price|population|number|distance|size|width|depth|weight|area|range)\b|\bwhat percentage\b",
        q,
    ):
        return Expectation(AnswerType.NUMBER)
    if re.search(rf"^(?:who|whom|whose)\b|\bby whom\b|\b(?:which|what) (?:{_PERSON_WORDS})\b", q):
        return Expectation(AnswerType.PERSON)
    if re.search(
        rf"^where\b|\b(?:which|what|in which|in what|to which|to what) (?:{_PLACE_WORDS})\b", q
    ):
        return Expectation(AnswerType.PLACE)
    if re.search(r"^why\b|\bwhat (?:caused|made|was the reason)\b|\bfor what reason\b", q):
        return Expectation(AnswerType.REASON)
    if re.search(r"\b(?:called|named?)\b", q):
        return Expectation(AnswerType.NAME)
    named = re.search(r"^(?:which|what)\s+(\w+)", q)
    if named and named.group(1) not in _STOP:
        return Expectation(AnswerType.NAME, focus=named.group(1))
    return Expectation(AnswerType.OTHER)


def _units_for(word: str, question: str) -> tuple[str, ...]:
    if word == "much":
        return (
            _MONEY_UNITS
            if re.search(r"\b(?:cost|pay|paid|price|spend|spent|worth|charge|fund)", question)
            else ()
        )
    if word == "long":
        if re.search(
            r"\b(?:take|took|last|lasted|closed|wait|stay|spend|spent|since|for)\b", question
        ):
            return _TIME_UNITS
        return _LENGTH_UNITS
    if word in ("tall", "high", "far", "wide", "deep"):
        return _LENGTH_UNITS
    if word == "old":
        return ("years", "year")
    return ()


def question_words(question: str) -> set[str]:
    """Content words of the question, lower case, crudely singularised."""
    return {_stem(word) for word in re.findall(r"[\w'’-]+", question.lower()) if word not in _STOP}


_SUFFIXES = ("ing", "ed", "es", "s", "e")


def _stem(word: str) -> str:
    """A light stemmer: "opened", "opens" and "open" meet; so do "restored" and "restore"."""
    if word.endswith("ss"):
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def find_spans(sentence: str, question: str, expectation: Expectation) -> list[Span]:
    """Candidate answers of the expected type in `sentence`, best first."""
    finder = _FINDERS.get(expectation.type)
    if finder is None:
        return []
    asked = question_words(question)
    spans = [
        span for span in finder(sentence, expectation) if not _only_question_words(span.text, asked)
    ]
    anchors = [
        m.start() for m in re.finditer(r"[\w'’-]+", sentence) if _stem(m.group().lower()) in asked
    ]
    ranked = []
    for span in spans:
        distance = min((abs(span.start - a) for a in anchors), default=len(sentence))
        ranked.append(Span(span.text, span.start, span.score - 0.002 * distance))
    return sorted(ranked, key=lambda span: -span.score)


def _only_question_words(text: str, asked: set[str]) -> bool:
    words = [_stem(w) for w in re.findall(r"[\w'’-]+", text.lower()) if w not in _STOP]
    return bool(words) and all(word in asked for word in words)


def _dates(sentence: str, expectation: Expectation) -> list[Span]:
    spans: list[Span] = []
    taken: list[range] = []
    for pattern, score in _DATES:
        for match in pattern.finditer(sentence):
            if any(match.start() in r for r in taken):
                continue
            taken.append(range(match.start(), match.end()))
            spans.append(Span(match.group().strip(" ,"), match.start(), score))
    return spans


def _numbers(sentence: str, expectation: Expectation) -> list[Span]:
    spans = []
    focus = {_stem(word) for word in expectation.focus.split()}
    for match in _NUMBER.finditer(sentence):
        number = match.group("number") + (match.group("magnitude") or "")
        unit_words = (match.group("unit") or "").split()
        score = 0.6
        if _YEAR.match(match.group("number")) and not unit_words[:1] == ["years"]:
            score -= 0.4  # a bare year is rarely "how many"
        text = number
        if expectation.units:
            unit = _leading_unit(unit_words, expectation.units)
            if unit or match.group("number")[0] in expectation.units:
                score += 0.4
                text = f"{number} {unit}".strip()
            else:
                score -= 0.3
        elif focus:
            if focus & {_stem(word.lower()) for word in unit_words}:
                score += 0.4
        elif unit_words and unit_words[0].lower() not in _STOP:
            text = f"{number} {unit_words[0]}"
        spans.append(Span(text.strip(), match.start(), score))
    return spans


def _leading_unit(words: list[str], units: tuple[str, ...]) -> str:
    for count in (2, 1):
        candidate = " ".join(words[:count]).lower()
        if words[:count] and (candidate in units or candidate.split()[-1] in units):
            return " ".join(words[:count])
    return ""


def _names(sentence: str, expectation: Expectation, place: bool = False) -> list[Span]:
    spans = []
    for match in _CAPITALISED.finditer(sentence):
        text = match.group()
        words = text.split()
        if match.start() == 0 and words[0].lower() in _STOP:
            text = " ".join(words[1:])
            if not text or not text[0].isupper():
                continue
        if re.fullmatch(_MONTH + "|" + _WEEKDAY, text):
            continue
        lead = _PLACE_LEAD.search(sentence[: match.start()])
        score = 0.5 + (0.1 * min(len(text.split()), 3))
        if place:
            score += 0.3 if lead else -0.2
        elif expectation.type is AnswerType.PERSON:
            score += (
                0.3
                if re.search(r"\bby\s+$", sentence[: match.start()])
                else (-0.2 if lead else 0.0)
            )
        elif match.start() == 0:
            score -= 0.1
        spans.append(Span(text, match.start(), score))
    return spans


def _places(sentence: str, expectation: Expectation) -> list[Span]:
    return _names(sentence, expectation, place=True)


def _reasons(sentence: str, expectation: Expectation) -> list[Span]:
    return [
        Span(m.group("reason").strip(" ,"), m.start("reason"), 1.0)
        for m in _REASON.finditer(sentence)
    ]


_FINDERS = {
    AnswerType.DATE: _dates,
    AnswerType.NUMBER: _numbers,
    AnswerType.PERSON: _names,
    AnswerType.PLACE: _places,
    AnswerType.REASON: _reasons,
    AnswerType.NAME: _names,
}
