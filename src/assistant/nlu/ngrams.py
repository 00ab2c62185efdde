"""Word and character n-grams weighted as scikit-learn's TfidfVectorizer does, without importing it to rank.

Fitting (vocabulary and idf) uses scikit-learn; ranking needs only the vocabulary, the idf
weights and these analyzers, which split text exactly as scikit-learn's do (a test
compares them). Importing scikit-learn costs seconds at start-up, and its per-call input
checks cost more than the transform itself for one utterance.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

__all__ = ["NgramTable", "analyze"]

_TOKEN = re.compile(r"(?u)\b\w\w+\b")
_WHITE_SPACES = re.compile(r"\s\s+")


def analyze(kind: str, sizes: tuple[int, int], text: str) -> list[str]:
    """The n-grams of `text`: "word" (tokens of 2+ word characters) or "char_wb" (within words)."""
    low, high = sizes
    text = text.lower()
    grams: list[str] = []
    if kind == "word":
        tokens = _TOKEN.findall(text)
        for n in range(low, high + 1):
            grams += [" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
        return grams
    for word in _WHITE_SPACES.sub(" ", text).split():
        padded = f" {word} "
        for n in range(low, high + 1):
            offset = 0
            grams.append(padded[offset : offset + n])
            while offset + n < len(padded):
                offset += 1
                grams.append(padded[offset : offset + n])
            if offset == 0:  # a word shorter than n counts once
                break
    return grams


@dataclass
class NgramTable:
    """One n-gram block: sublinear tf times idf, each row of unit length."""

    kind: str
    sizes: tuple[int, int]
    vocabulary: dict[str, int]
    idf: np.ndarray

    @classmethod
    def fit(cls, kind: str, sizes: tuple[int, int], texts: Sequence[str], min_df: int = 1) -> NgramTable:
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectorizer = TfidfVectorizer(analyzer=kind, ngram_range=sizes, sublinear_tf=True, min_df=min_df)
        vectorizer.fit(list(texts))
        vocabulary = {gram: int(index) for gram, index in vectorizer.vocabulary_.items()}
        return cls(kind, sizes, vocabulary, vectorizer.idf_)

    def transform(self, texts: Sequence[str]) -> Any:
        """(texts, vocabulary) CSR matrix of float32."""
        import numpy as np
        import scipy.sparse as sparse

        indptr, columns, values = [0], [], []
        for text in texts:
            counts = Counter(self.vocabulary[g] for g in analyze(self.kind, self.sizes, text) if g in self.vocabulary)
            if counts:
                index = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
                tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
                weight = (1.0 + np.log(tf)) * self.idf[index]
                columns.append(index)
                values.append(weight / np.linalg.norm(weight))
            indptr.append(indptr[-1] + len(counts))
        data = np.concatenate(values) if values else np.zeros(0)
        index = np.concatenate(columns) if columns else np.zeros(0, dtype=np.int64)
        shape = (len(texts), len(self.idf))
        return sparse.csr_matrix((data.astype(np.float32), index, indptr), shape=shape)
