"""Command grammars built from the skills' phrases: a word graph (FSG) for pocketsphinx, a list for Vosk.

Phrases arrive as plain text ("set a timer for five minutes"), or with a slot
for a spoken value ("set a timer for {duration}", see `assistant.stt.numbers`:
any duration is heard there, not only the examples). They are
normalised to the words a pronunciation dictionary knows (numbers spelt out);
a word the dictionary lacks may borrow the pronunciation of its American
spelling or of the two words it is made of; a phrase with a word the
recogniser still cannot say is left out (and logged), never guessed.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from assistant.stt.numbers import EXAMPLES, GRAPHS, SLOT_TYPES, net

if TYPE_CHECKING:
    from assistant.skills.catalog import Catalog

log = logging.getLogger(__name__)

_SPOKEN_NUMBER = re.compile(r"(\d{1,9})(st|nd|rd|th)?")
_US_SPELLINGS = (
    ("isation", "ization"),
    ("ise", "ize"),
    ("yse", "yze"),
    ("our", "or"),
    ("tre", "ter"),
    ("ogue", "og"),
    ("lled", "led"),
)
"""British endings and their US spelling: the pronunciation dictionary is American."""
_SLOT = re.compile(r"(\{(?:" + "|".join(GRAPHS) + r")\})")
"""A spoken-value slot in a phrase: `{duration}`."""
_MIN_PART = 2
"""Shortest word part when a compound ("unpause", "localhost") is split into two known words."""


def normalise(text: str) -> str:
    """Lower case words of letters (of any script: Vosk has Korean models) and apostrophes;
    numbers spelt out; "%" as "percent"."""
    text = text.lower().replace("%", " percent ").replace("&", " and ")
    words = []
    for token in re.findall(r"(?:[^\W_]|')+", text):
        words.append(_spoken_number(token) or token)
    return " ".join(words).strip()


def normalise_phrase(text: str) -> str:
    """`normalise`, keeping spoken-value slots (`{duration}`) as words of their own."""
    text = re.sub(r"\bat \{datetime\}", "at {clock}", text)
    parts = _SLOT.split(re.sub(r"\{duration\}(?= (?:timer|countdown)\b)", "{timer}", text))
    return " ".join(p if _SLOT.fullmatch(p) else normalise(p) for p in parts if p.strip()).strip()


FREE_TEXT_SLOT = "{text}"
"""A slot for free text in a phrase: the phrase is *open*, its words come from dictation."""


def skill_phrases(catalog: Catalog) -> list[str]:
    """The installed skills' sentences for a command grammar: spoken-value slots kept as slots,
    free-text slots (entities of type "wildcard": a task, a song, a place) as `{text}`."""
    utterances = catalog.utterances(value_slots=(*SLOT_TYPES, "wildcard"))
    return [text.replace("{wildcard}", FREE_TEXT_SLOT) for _skill, _action, text in utterances]


def _spoken_number(token: str) -> str | None:
    """ "42" -> "forty two", "3rd" -> "third"; None for anything else."""
    match = _SPOKEN_NUMBER.fullmatch(token)
    if match is None:
        return None
    from num2words import num2words

    words = num2words(int(match[1]), to="ordinal" if match[2] else "cardinal")
    return re.sub(r"[^a-z']+", " ", words).strip()


def borrowed_pronunciation(word: str, lookup: Callable[[str], str | None]) -> str | None:
    """Phones for a word the dictionary lacks, taken from words it has; None when there are none.

    A British spelling borrows the American one ("favourites" -> "favorites"); a
    compound borrows its two halves ("unpause" -> "un" + "pause"), the most even
    split first. `lookup` gives a known word's phones (pocketsphinx `lookup_word`).
    """
    for british, american in _US_SPELLINGS:
        if british in word:
            phones = lookup(word.replace(british, american))
            if phones:
                return phones
    cuts = sorted(
        range(_MIN_PART, len(word) - _MIN_PART + 1), key=lambda cut: abs(len(word) - 2 * cut)
    )
    for cut in cuts:
        head, tail = lookup(word[:cut]), lookup(word[cut:])
        if head and tail:
            return f"{head} {tail}"
    return None


@dataclass(frozen=True)
class WordGraph:
    """A finite-state grammar: arcs (from state, to state, word)."""

    start: int
    final: int
    arcs: tuple[tuple[int, int, str], ...]

    def transitions(self) -> list[tuple[int, int, float] | tuple[int, int, float, str]]:
        """Arcs with uniform probabilities per state, in pocketsphinx's `create_fsg` form."""
        fan_out: dict[int, int] = {}
        for origin, _, _ in self.arcs:
            fan_out[origin] = fan_out.get(origin, 0) + 1
        result: list[tuple[int, int, float] | tuple[int, int, float, str]] = []
        for origin, target, word in self.arcs:
            probability = 1.0 / fan_out[origin]
            result.append(
                (origin, target, probability)
                if word is None
                else (origin, target, probability, word)
            )
        return result


@dataclass(frozen=True)
class Grammar:
    """The phrases a command recogniser listens for."""

    phrases: tuple[str, ...]
    """Normalised, unique, in first-seen order."""
    dropped: tuple[str, ...] = field(default=())
    """Phrases left out because a word has no pronunciation."""

    @classmethod
    def from_phrases(
        cls, phrases: Iterable[str], known_word: Callable[[str], bool] | None = None
    ) -> Grammar:
        """Normalise and deduplicate; with `known_word`, drop phrases it rejects a word of."""
        kept: dict[str, None] = {}
        dropped: list[str] = []
        for phrase in phrases:
            text = normalise_phrase(phrase)
            if not text:
                continue
            if known_word is not None and not all(
                known_word(w) for w in text.split() if not _SLOT.fullmatch(w)
            ):
                dropped.append(text)
                continue
            kept.setdefault(text, None)
        if dropped:
            log.info(
                "grammar: %d phrases left out for unknown words, e.g. %r", len(dropped), dropped[0]
            )
        return cls(tuple(kept), tuple(dropped))

    @functools.cached_property
    def closed(self) -> Grammar:
        """The phrases without free text: those a grammar engine can hear whole."""
        return Grammar(
            tuple(p for p in self.phrases if FREE_TEXT_SLOT not in p.split()), self.dropped
        )

    def sentences(self) -> list[str]:
        """The phrases without any slot: whole sentences, as they are said."""
        return [p for p in self.phrases if not any(_SLOT.fullmatch(w) for w in p.split())]

    @property
    def words(self) -> list[str]:
        """Every word the grammar can hear, those of its spoken-value slots included."""
        found = {word for phrase in self.phrases for word in phrase.split()}
        for slot in {w for w in found if _SLOT.fullmatch(w)}:
            found.remove(slot)
            found |= {word for _, _, word in net(slot[1:-1]).arcs}
        return sorted(found)

    def examples(self) -> list[str]:
        """The phrases with a few example values in each slot ("{duration}" -> "ten minutes"...),
        for engines that take whole sentences and for matching what dictation heard."""
        filled: dict[str, None] = {}
        for phrase in self.phrases:
            variants = [""]
            for word in phrase.split():
                values = EXAMPLES[word[1:-1]] if _SLOT.fullmatch(word) else (word,)
                variants = [f"{v} {value}".strip() for v in variants for value in values]
            filled.update(dict.fromkeys(variants))
        return list(filled)

    def filled_with(self, text: str) -> list[str]:
        """The phrases with one slot, filled with the longest value of its type in `text`'s words
        ("set a timer for {duration}" and "timer for three seconds please" -> "set a timer for
        three seconds"): what dictation heard, put in the grammar's sentences."""
        tokens = normalise(text).split()
        values: dict[str, str] = {}
        for slot in {s for phrase in self.phrases for s in _SLOT.findall(phrase)} - {
            FREE_TEXT_SLOT
        }:
            graph = net(slot[1:-1])
            spans = [
                (end - start, -start, " ".join(tokens[start:end]))
                for start in range(len(tokens))
                for end in range(start + 1, len(tokens) + 1)
                if graph.accepts(tokens[start:end])
            ]
            if spans:
                values[slot] = max(spans)[2]
        return [
            phrase.replace(slots[0], values[slots[0]])
            for phrase in self.phrases
            if len(slots := _SLOT.findall(phrase)) == 1 and slots[0] in values
        ]

    @functools.cached_property
    def _moves(self) -> tuple[int, int, dict[tuple[int, str], list[int]]]:
        """The word graph as start, final and (state, word) -> next states."""
        graph = self.to_word_graph()
        moves: dict[tuple[int, str], list[int]] = {}
        for origin, target, word in graph.arcs:
            moves.setdefault((origin, word), []).append(target)
        return graph.start, graph.final, moves

    def to_word_graph(self, wake_word: str | None = None) -> WordGraph:
        """The phrases as a minimal word graph (shared prefixes and suffixes), for a fast FSG search.

        The graph has no empty moves (pocketsphinx's search handles them poorly): a
        phrase that is also the start of a longer one gets a second arc straight into
        the final state.
        """
        if not self.phrases:
            raise ValueError("a grammar needs at least one phrase")
        children: list[dict[str, int]] = [{}]
        accepting = [False]
        for phrase in self.phrases:
            node = 0
            for word in phrase.split():
                if word not in children[node]:
                    children[node][word] = len(children)
                    children.append({})
                    accepting.append(False)
                node = children[node][word]
            accepting[node] = True
        # Merge states with the same future, bottom-up (a trie becomes a minimal DAWG).
        # State 0 is the final state: the one accepting state with no way on.
        ids: dict[tuple[bool, tuple[tuple[str, int], ...]], int] = {(True, ()): 0}
        arcs: list[tuple[int, int, str]] = []
        ends_here: set[int] = {0}

        def reduce(node: int) -> int:
            edges = tuple(sorted((word, reduce(child)) for word, child in children[node].items()))
            signature = (accepting[node], edges)
            if signature not in ids:
                state = ids[signature] = len(ids)
                if accepting[node]:
                    ends_here.add(state)
                for word, target in edges:
                    arcs.append((state, target, word))
                    if target in ends_here and target != 0:
                        arcs.append((state, 0, word))
            return ids[signature]

        root = reduce(0)
        if wake_word:
            # root -hey-> ... -assistant-> after_wake, which offers every command again.
            words = normalise(wake_word).split()
            state, after_wake = root, len(ids) + len(words) - 1
            for index, word in enumerate(words[:-1]):
                arcs.append((state, len(ids) + index, word))
                state = len(ids) + index
            arcs += [(state, after_wake, words[-1]), (state, 0, words[-1])]
            arcs += [
                (after_wake, target, word) for origin, target, word in list(arcs) if origin == root
            ]
        return WordGraph(start=root, final=0, arcs=tuple(_with_slots(arcs)))

    def to_vosk(self, wake_word: str | None = None) -> str:
        """Vosk's grammar: a JSON list of phrases (slots filled with examples), plus "[unk]" so
        other speech is not forced in."""
        phrases = [p.replace(FREE_TEXT_SLOT, "[unk]") for p in self.examples()]
        if wake_word:
            wake = normalise(wake_word)
            phrases += [wake] + [f"{wake} {phrase}" for phrase in phrases]
        return json.dumps(phrases + ["[unk]"], ensure_ascii=False)  # Vosk reads no \u escapes

    def __contains__(self, text: object) -> bool:
        """Is `text` one of the phrases, any value in its slots?"""
        if not isinstance(text, str) or not self.phrases:
            return False
        start, final, moves = self._moves
        states = {start}
        for word in normalise(text).split():
            states = {b for a in states for b in moves.get((a, word), ())}
        return final in states


def _with_slots(arcs: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """The arcs with each slot arc ("{duration}") replaced by that value's word graph.

    Slot arcs into the same state share one copy of the graph: its first words leave from each
    of their states (there are no empty moves)."""
    kept = [arc for arc in arcs if not _SLOT.fullmatch(arc[2])]
    slots: dict[tuple[int, str], list[int]] = {}
    for origin, target, word in arcs:
        if _SLOT.fullmatch(word):
            slots.setdefault((target, word), []).append(origin)
    fresh = 1 + max((max(a, b) for a, b, _ in arcs), default=0)
    for (target, word), origins in slots.items():
        graph = net(word[1:-1])
        for a, b, w in graph.arcs:
            end = target if b == graph.final else fresh + b
            if a == graph.start:
                kept += [(origin, end, w) for origin in origins]
            else:
                kept.append((fresh + a, end, w))
        fresh += graph.size
    return kept
