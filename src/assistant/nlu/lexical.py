"""The lexical matcher: word overlap and string similarity to the expanded utterance samples.

Needs no model, so it is the fallback when the transformer cannot load, and the
baseline in the NLU benchmark. A sample's score mixes an IDF-weighted word
overlap (Dice) with a character-level similarity; a label's score is its best sample's.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from assistant.nlu.base import Progress

_NON_WORD = re.compile(r"[^\w\s']+")
_SPACES = re.compile(r"\s+")

# Words that carry little intent; they still count, at a fifth of their weight.
STOP_WORDS = frozenset(
    "a an the to of for in on at by and or is are am be it its this that these those i me my you your "
    "we us our please can could would will do does did just so some any what's it's i'm ok okay now "
    "hey oh well".split()
)
STOP_WEIGHT = 0.2
WORD_SHARE = 0.6
"""Share of the word-overlap score in the mix (the rest is character similarity)."""


def normalise(text: str) -> str:
    """Lower case, punctuation dropped, single spaces."""
    text = text.lower().replace("’", "'")
    return _SPACES.sub(" ", _NON_WORD.sub(" ", text)).strip()


def _stem(word: str) -> str:
    """A light stemmer: plural and -ing/-ed endings, enough to match "songs" with "song"."""
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


class LexicalMatcher:
    """Ranks labels by the best similarity of any of their samples."""

    def __init__(self) -> None:
        self._texts: list[str] = []
        self._label_index: list[int] = []
        self._labels: list[str] = []
        self._weights: dict[str, float] = {}
        self._postings: dict[str, Any] = {}
        self._sample_weight: Any = None
        self._unknown_weight = 1.0

    @property
    def labels(self) -> list[str]:
        return list(self._labels)

    def fit(self, texts: Sequence[str], labels: Sequence[str], progress: Progress | None = None) -> None:
        import numpy as np

        index: dict[str, int] = {}
        seen: set[tuple[str, int]] = set()
        self._texts, self._label_index = [], []
        for text, label in zip(texts, labels, strict=True):
            position = index.setdefault(label, len(index))
            key = (normalise(text), position)
            if key[0] and key not in seen:
                seen.add(key)
                self._texts.append(key[0])
                self._label_index.append(position)
        self._labels = list(index)

        postings: dict[str, list[int]] = {}
        label_sets: dict[str, set[int]] = {}
        for row, (text, label_number) in enumerate(zip(self._texts, self._label_index, strict=True)):
            for token in {_stem(w) for w in text.split()}:
                postings.setdefault(token, []).append(row)
                label_sets.setdefault(token, set()).add(label_number)
        count = max(len(self._labels), 1)
        self._weights = {
            token: (math.log((count + 1) / (len(label_sets[token]) + 1)) + 1.0)
            * (STOP_WEIGHT if token in STOP_WORDS else 1.0)
            for token in postings
        }
        self._postings = {token: np.asarray(rows, dtype=np.int64) for token, rows in postings.items()}
        sample_weight = np.zeros(len(self._texts), dtype=np.float64)
        for token, rows in self._postings.items():
            sample_weight[rows] += self._weights[token]
        self._sample_weight = sample_weight
        self._unknown_weight = max(self._weights.values(), default=1.0)
        if progress:
            progress(1.0, "lexical matcher ready")

    def _word_scores(self, query: str) -> Any:
        import numpy as np

        shared = np.zeros(len(self._texts), dtype=np.float64)
        query_weight = 0.0
        for token in {_stem(w) for w in query.split()}:
            weight = self._weights.get(token)
            if weight is None:
                query_weight += self._unknown_weight * (STOP_WEIGHT if token in STOP_WORDS else 1.0)
                continue
            shared[self._postings[token]] += weight
            query_weight += weight
        return 2.0 * shared / np.maximum(query_weight + self._sample_weight, 1e-9)

    def rank(self, text: str) -> list[tuple[str, float]]:
        import numpy as np
        from rapidfuzz import fuzz, process

        if not self._labels:
            return []
        query = normalise(text)
        if not query:
            return [(label, 0.0) for label in self._labels]
        characters = process.cdist([query], self._texts, scorer=fuzz.ratio, workers=1)[0] / 100.0
        scores = WORD_SHARE * self._word_scores(query) + (1.0 - WORD_SHARE) * characters
        best = np.zeros(len(self._labels), dtype=np.float64)
        np.maximum.at(best, np.asarray(self._label_index), scores)
        order = np.argsort(-best)
        return [(self._labels[i], float(best[i])) for i in order]
