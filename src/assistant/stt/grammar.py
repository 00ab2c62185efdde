"""Command grammars built from the skills' phrases: a word graph (FSG) and JSGF for pocketsphinx, a list for Vosk.

Phrases arrive as plain text ("set a timer for five minutes"). They are
normalised to the words a pronunciation dictionary knows (numbers spelt out);
a word the dictionary lacks may borrow the pronunciation of its American
spelling or of the two words it is made of; a phrase with a word the
recogniser still cannot say is left out (and logged), never guessed.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

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
            text = normalise(phrase)
            if not text:
                continue
            if known_word is not None and not all(known_word(w) for w in text.split()):
                dropped.append(text)
                continue
            kept.setdefault(text, None)
        if dropped:
            log.info(
                "grammar: %d phrases left out for unknown words, e.g. %r", len(dropped), dropped[0]
            )
        return cls(tuple(kept), tuple(dropped))

    @property
    def words(self) -> list[str]:
        return sorted({word for phrase in self.phrases for word in phrase.split()})

    def to_jsgf(self, wake_word: str | None = None, name: str = "commands") -> str:
        """A JSGF grammar: one of the phrases, or the wake word followed by one or by nothing."""
        if not self.phrases:
            raise ValueError("a grammar needs at least one phrase")
        body = "\n    | ".join(self.phrases)
        rule = f"{normalise(wake_word)} [<phrase>] | <phrase>" if wake_word else "<phrase>"
        return f"#JSGF V1.0;\ngrammar {name};\n<phrase> = {body};\npublic <{name}> = {rule};\n"

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
        return WordGraph(start=root, final=0, arcs=tuple(arcs))

    def to_vosk(self, wake_word: str | None = None) -> str:
        """Vosk's grammar: a JSON list of phrases, plus "[unk]" so other speech is not forced in."""
        phrases = list(self.phrases)
        if wake_word:
            wake = normalise(wake_word)
            phrases += [wake] + [f"{wake} {phrase}" for phrase in self.phrases]
        return json.dumps(phrases + ["[unk]"], ensure_ascii=False)  # Vosk reads no \u escapes

    def __contains__(self, text: object) -> bool:
        return isinstance(text, str) and normalise(text) in set(self.phrases)
