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
        self._vocabulary: dict[str, int] = {}
        self._weights: Any = None
        self._matrix: Any = None
        self._sample_weight: Any = None

    @property
    def labels(self) -> list[str]:
        return list(self._labels)

    def fit(self, texts: Sequence[str], labels: Sequence[str], progress: Progress | None = None) -> None:
        import numpy as np
        from scipy import sparse

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

        token_sets = [{_stem(w) for w in text.split()} for text in self._texts]
        vocabulary: dict[str, int] = {}
        label_sets: dict[str, set[int]] = {}
        for tokens, label_number in zip(token_sets, self._label_index, strict=True):
            for token in tokens:
                vocabulary.setdefault(token, len(vocabulary))
                label_sets.setdefault(token, set()).add(label_number)
        count = max(len(self._labels), 1)
        weights = np.zeros(len(vocabulary), dtype=np.float64)
        for token, column in vocabulary.items():
            idf = math.log((count + 1) / (len(label_sets[token]) + 1)) + 1.0
            weights[column] = idf * (STOP_WEIGHT if token in STOP_WORDS else 1.0)
        rows, columns = [], []
        for row, tokens in enumerate(token_sets):
            for token in tokens:
                rows.append(row)
                columns.append(vocabulary[token])
        matrix = sparse.csr_matrix(
            (np.ones(len(rows)), (rows, columns)), shape=(len(self._texts), len(vocabulary))
        )
        self._vocabulary = vocabulary
        self._weights = weights
        self._matrix = matrix
        self._sample_weight = np.asarray(matrix @ weights).ravel()
        self._unknown_weight = float(weights.max()) if len(weights) else 1.0
        if progress:
            progress(1.0, "lexical matcher ready")

    def _word_scores(self, query: str) -> Any:
        import numpy as np

        tokens = {_stem(w) for w in query.split()}
        vector = np.zeros(len(self._vocabulary), dtype=np.float64)
        query_weight = 0.0
        for token in tokens:
            column = self._vocabulary.get(token)
            if column is None:
                query_weight += self._unknown_weight * (STOP_WEIGHT if token in STOP_WORDS else 1.0)
            else:
                vector[column] = self._weights[column]
                query_weight += self._weights[column]
        shared = np.asarray(self._matrix @ vector).ravel()
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
