"""The lexical matcher: fuzzy string similarity to the expanded utterance samples.

Needs no model, so it is the fallback when the transformer cannot load, and the
baseline in the NLU benchmark.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.nlu.base import Progress

_NON_WORD = re.compile(r"[^\w\s']+")
_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Lower case, punctuation dropped, single spaces."""
    text = text.lower().replace("’", "'")
    return _SPACES.sub(" ", _NON_WORD.sub(" ", text)).strip()


class LexicalMatcher:
    """Ranks labels by the best fuzzy similarity of any of their samples."""

    def __init__(self) -> None:
        self._texts: list[str] = []
        self._label_index: list[int] = []
        self._labels: list[str] = []

    @property
    def labels(self) -> list[str]:
        return list(self._labels)

    def fit(self, texts: Sequence[str], labels: Sequence[str], progress: Progress | None = None) -> None:
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
        if progress:
            progress(1.0, "lexical matcher ready")

    def rank(self, text: str) -> list[tuple[str, float]]:
        import numpy as np
        from rapidfuzz import fuzz, process

        if not self._labels:
            return []
        query = normalise(text)
        if not query:
            return [(label, 0.0) for label in self._labels]
        whole = process.cdist([query], self._texts, scorer=fuzz.ratio, workers=1)[0]
        tokens = process.cdist([query], self._texts, scorer=fuzz.token_sort_ratio, workers=1)[0]
        scores = (0.5 * whole + 0.5 * tokens) / 100.0
        best = np.zeros(len(self._labels), dtype=np.float64)
        np.maximum.at(best, np.asarray(self._label_index), scores)
        order = np.argsort(-best)
        return [(self._labels[i], float(best[i])) for i in order]
