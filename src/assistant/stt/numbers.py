"""Word graphs for spoken values in grammar slots: numbers, percentages, durations, times and dates.

A command grammar made of example sentences can only hear the examples' values:
"set a timer for three seconds" came back as "thirty seconds" because that was
the nearest example. A slot of one of these types (`{duration}` in a phrase)
is instead decoded by a small graph of every way of saying such a value:
"one" to "nine hundred and ninety nine", "a minute and a half", "half an hour",
"two hours and ten minutes", "six thirty", "seven fifteen pm", "quarter past
nine", "tomorrow at noon", "next friday evening", "in twenty minutes"...
Every word is one pocketsphinx's dictionary has, and the assistant's own value
parsers (`assistant.nlu.values`) read every sentence the graphs produce.

A graph (`Net`) is acyclic, with no empty moves, one start state no arc enters
and one final state no arc leaves: so two graphs are joined one after the other
by merging the first's final state with the second's start, and made
alternatives by merging their starts and their finals.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

SLOT_TYPES = ("number", "percentage", "duration", "datetime")
"""Entity types whose slots a grammar fills with these graphs (others keep example values)."""
VALUE_GRAPHS = (*SLOT_TYPES, "clock", "timer")
GRAPHS = (*VALUE_GRAPHS, "text")
"""Graphs a grammar slot may name: `{clock}` is a time of day and maybe a day ("at {clock}": a
`{datetime}` after "at" would also hear "at at five"); `{timer}` a duration before "timer" or
"countdown", where "a twenty minute timer" is said too; `{text}` free text (a reminder's task, a
song, a place), which no grammar can hear: its graph is a few everyday fillers, so that the
sentence around it is recognised, and the words themselves always come from dictation."""
FREE_TEXT = (
    "water the plants",
    "call mum",
    "the dentist",
    "buy milk",
    "check the oven",
    "pasta",
    "tea",
    "the news",
    "jazz",
    "the beatles",
    "london",
    "new york",
    "tokyo",
    "something",
    "this page",
    "what it says",
)
"""Fillers of the `{text}` graph: short and long, so that a free-text slot can take the length of
what is said there."""

EXAMPLES: dict[str, tuple[str, ...]] = {
    "number": ("three", "five", "twenty", "forty two", "one hundred", "seven"),
    "percentage": ("fifty percent", "twenty percent", "seventy percent", "one hundred percent"),
    "duration": (
        "ten minutes",
        "an hour",
        "thirty seconds",
        "two hours",
        "five minutes",
        "a minute and a half",
    ),
    "datetime": (
        "tomorrow at nine",
        "at five pm",
        "in ten minutes",
        "on friday morning",
        "tonight",
        "next monday at noon",
    ),
    "clock": ("five pm", "nine", "noon", "seven thirty", "six am"),
    "timer": ("ten minute", "an hour", "thirty second", "two hours", "five minutes"),
    "text": ("{text}",),
}
"""A few values of each type (those the skills' sentences are filled with, `skills.catalog`), for
engines that take whole sentences (Vosk), for decoding noisy audio and for matching dictation."""

_UNITS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_TEENS = ("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
          "eighteen", "nineteen")  # fmt: skip
_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_PARTS_OF_DAY = ("morning", "afternoon", "evening", "night")


@dataclass(frozen=True)
class Net:
    """An acyclic word graph: arcs (from state, to state, word), states numbered from 0."""

    start: int
    final: int
    arcs: tuple[tuple[int, int, str], ...]

    @property
    def size(self) -> int:
        return 1 + max(max(a, b) for a, b, _ in self.arcs)

    def shifted(self, offset: int) -> Net:
        return Net(
            self.start + offset,
            self.final + offset,
            tuple((a + offset, b + offset, w) for a, b, w in self.arcs),
        )

    def accepts(self, words: list[str]) -> bool:
        states = {self.start}
        for word in words:
            states = {b for a, b, w in self.arcs if a in states and w == word}
            if not states:
                return False
        return self.final in states


def words(*alternatives: str) -> Net:
    """One of the given phrases (each of one or more words)."""
    arcs: list[tuple[int, int, str]] = []
    count = 2  # 0 start, 1 final
    for phrase in alternatives:
        tokens = phrase.split()
        state = 0
        for index, token in enumerate(tokens):
            target = 1 if index == len(tokens) - 1 else count
            if target == count:
                count += 1
            arcs.append((state, target, token))
            state = target
    return Net(0, 1, tuple(arcs))


def seq(*nets: Net) -> Net:
    """The nets one after the other."""
    result = nets[0]
    for net in nets[1:]:
        moved = net.shifted(result.size)
        merged = [(result.final if a == moved.start else a, b, w) for a, b, w in moved.arcs]
        result = Net(result.start, moved.final, result.arcs + tuple(merged))
    return result


def alt(*nets: Net) -> Net:
    """Any one of the nets."""
    result = nets[0]
    for net in nets[1:]:
        moved = net.shifted(result.size)
        rename = {moved.start: result.start, moved.final: result.final}
        merged = tuple((rename.get(a, a), rename.get(b, b), w) for a, b, w in moved.arcs)
        result = Net(result.start, result.final, result.arcs + merged)
    return result


def maybe(head: Net, tail: Net) -> Net:
    """`head`, optionally followed by `tail`."""
    return alt(head, seq(head, tail))


def _two_to_ninety_nine() -> Net:
    return alt(words(*_UNITS[1:], *_TEENS, *_TENS), seq(words(*_TENS), words(*_UNITS)))


def _one_to_ninety_nine() -> Net:
    return alt(words("one"), _two_to_ninety_nine())


def minimal(graph: Net) -> Net:
    """The same words as the smallest such graph: made deterministic, then states with the same
    futures merged (the built graphs repeat whole sub-graphs: "two" to "ninety nine" in many places)."""
    moves: dict[int, dict[str, set[int]]] = {}
    for origin, target, word in graph.arcs:
        moves.setdefault(origin, {}).setdefault(word, set()).add(target)
    ids: dict[tuple[bool, tuple[tuple[str, int], ...]], int] = {(True, ()): 0}
    arcs: list[tuple[int, int, str]] = []
    ends: set[int] = {0}
    done: dict[frozenset[int], int] = {}

    def reduce(states: frozenset[int]) -> int:
        if states in done:
            return done[states]
        following: dict[str, set[int]] = {}
        for state in states:
            for word, targets in moves.get(state, {}).items():
                following.setdefault(word, set()).update(targets)
        edges = tuple(sorted((w, reduce(frozenset(t))) for w, t in following.items()))
        signature = (graph.final in states, edges)
        if signature not in ids:
            ids[signature] = len(ids)
            if signature[0]:
                ends.add(ids[signature])
            for word, target in edges:
                arcs.append((ids[signature], target, word))
                if target in ends and target != 0:
                    arcs.append((ids[signature], 0, word))  # ends here, or goes on
        done[states] = ids[signature]
        return done[states]

    return Net(reduce(frozenset({graph.start})), 0, tuple(arcs))


@functools.cache
def net(slot_type: str) -> Net:
    """The smallest graph of every way of saying a value of `slot_type` (one of GRAPHS)."""
    builders = {
        "number": _number,
        "percentage": lambda: seq(_number(), words("percent")),
        "duration": _duration,
        "datetime": _datetime,
        "clock": lambda: maybe(_clock(), _day()),
        "timer": lambda: alt(
            _duration(), seq(_two_to_ninety_nine(), words("second", "minute", "hour"))
        ),
        "text": lambda: words(*FREE_TEXT),
    }
    if slot_type not in builders:
        raise ValueError(f"no spoken-value graph for slot type {slot_type!r}")
    return minimal(builders[slot_type]())


def _number() -> Net:
    """One to nine hundred and ninety nine ("a hundred", "two hundred and five", "three hundred six")."""
    hundreds = seq(alt(words("a"), words(*_UNITS)), words("hundred"))
    rest = _one_to_ninety_nine()
    return alt(rest, hundreds, seq(hundreds, words("and"), rest), seq(hundreds, rest))


def _duration() -> Net:
    """ "a minute", "three seconds", "ninety minutes", "two and a half hours", "half an hour",
    "an hour and a half", "two hours and ten minutes", "five minutes thirty seconds"."""
    units = ("second", "minute", "hour")
    few = words(*_UNITS[1:], "ten", "eleven", "twelve")
    halves = alt(
        words("half a minute", "half an hour", "a quarter of an hour", "quarter of an hour"),
        *(seq(_amount(unit, round_only=True), words("and a half")) for unit in units[1:]),
        *(seq(few, words(f"and a half {unit}s")) for unit in units[1:]),
    )
    return alt(
        *(_amount(unit) for unit in units),
        halves,
        _joined(_amount("hour"), _amount("minute", round_only=True)),
        _joined(_amount("minute"), _amount("second", round_only=True)),
    )


def _amount(unit: str, round_only: bool = False) -> Net:
    """ "an hour", "one hour", "three hours"; `round_only`: two to ten and the multiples of five
    (the second part of "two hours and ten minutes": fewer ways for noise to fit)."""
    article = "an" if unit == "hour" else "a"
    count = (
        alt(words(*_UNITS[1:], "ten", "fifteen", *_TENS[:4]), seq(words(*_TENS[:4]), words("five")))
        if round_only
        else _two_to_ninety_nine()
    )
    return alt(words(f"{article} {unit}", f"one {unit}"), seq(count, words(f"{unit}s")))


def _joined(first: Net, second: Net) -> Net:
    """ "two hours and ten minutes", "two hours ten minutes"."""
    return alt(seq(first, words("and"), second), seq(first, second))


def _clock(said_alone: bool = False) -> Net:
    """A time of day: "six", "six o'clock", "six thirty", "six oh five", "seven fifteen pm",
    "half past seven", "quarter to eight", "ten past six", "noon", "midnight". `said_alone`
    (no "at" before it): only with "am", "pm"... or noon and midnight ("six thirty" alone is
    more often not a time, and the assistant does not read it as one)."""
    hours = words(*_UNITS, "ten", "eleven", "twelve")
    minutes = alt(  # five past, ten past...: the minutes people set reminders and alarms for
        words("oh five", "ten", "fifteen", "twenty", "thirty", "forty", "fifty"),
        seq(words(*_TENS[:4]), words("five")),
    )
    suffix = words("am", "pm", "in the morning", "in the afternoon", "in the evening")
    past = seq(
        words("half", "quarter", "a quarter", "five", "ten", "twenty", "twenty five"),
        words("past", "to"),
        hours,
    )
    told = alt(seq(hours, minutes), hours, past)
    if said_alone:
        return alt(seq(told, suffix), words("noon", "midnight"))
    return alt(maybe(told, suffix), seq(hours, words("o'clock")), words("noon", "midnight"))


def _day() -> Net:
    """ "today", "tonight", "tomorrow evening", "on friday", "next monday morning", "saturday"."""
    return alt(
        words("today", "tonight", "tomorrow", "this morning", "this afternoon", "this evening"),
        seq(words("tomorrow"), words(*_PARTS_OF_DAY)),
        maybe(seq(words("on", "next", "this"), words(*_WEEKDAYS)), words(*_PARTS_OF_DAY)),
        maybe(words(*_WEEKDAYS), words(*_PARTS_OF_DAY)),
    )


def _datetime() -> Net:
    """ "at five pm", "tomorrow at nine", "in ten minutes", "on friday morning", "tonight",
    "next monday at noon", "at seven thirty tomorrow", "seven thirty", "this evening"."""
    return alt(
        seq(words("at"), maybe(_clock(), _day())),
        maybe(_clock(said_alone=True), _day()),
        _day(),
        seq(_day(), words("at"), _clock()),
        seq(words("in"), alt(_duration(), words("a few minutes", "a couple of minutes"))),
    )
