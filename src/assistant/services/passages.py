"""Sentences of a document and their embeddings, shared by question answering and summarising.

Sentences are split with pysbd, paragraph by paragraph; embeddings come from the
MiniLM `Encoder` in batches and are remembered, so asking a second question about
the same page only encodes the question.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from assistant.nlu.encoder import Encoder

_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"[A-Za-z0-9]")
_PRONOUN_OPENING = re.compile(
    r"^(?:it|its|this|these|they|their|them|he|his|she|her|there)\b", re.IGNORECASE
)


@dataclass(frozen=True)
class Sentence:
    text: str
    document: int
    """Index of the document it comes from."""
    paragraph: int
    position: int
    """Index of the sentence within its document."""
    context: str = ""
    """The text to match questions against: the sentence, preceded by the one before
    when it opens with a pronoun ("It was built in 1871" needs to know what "it" is)."""

    @property
    def searchable(self) -> str:
        return self.context or self.text


def split_paragraphs(text: str) -> list[str]:
    return [
        _SPACES.sub(" ", block).strip() for block in re.split(r"\n\s*\n", text) if block.strip()
    ]


def split_sentences(paragraphs: list[str], document: int = 0) -> list[Sentence]:
    """Sentences of `paragraphs` in order; fragments without a letter or digit are dropped."""
    import pysbd

    segmenter = pysbd.Segmenter(language="en", clean=False)
    sentences: list[Sentence] = []
    for number, paragraph in enumerate(paragraphs):
        for piece in segmenter.segment(paragraph):
            text = piece.strip()
            if text and _WORD.search(text):
                context = ""
                if sentences and _PRONOUN_OPENING.match(text):
                    context = f"{sentences[-1].text} {text}"
                sentences.append(Sentence(text, document, number, len(sentences), context))
    return sentences


class EmbeddingCache:
    """Embeddings of sentences by their text, least recently used dropped first."""

    def __init__(self, encoder: Encoder, capacity: int = 20_000) -> None:
        self.encoder = encoder
        self.capacity = capacity
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length embeddings of `texts`, shape (len(texts), dimension)."""
        import numpy as np

        keys = [hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest() for text in texts]
        with self._lock:
            missing = sorted({i for i, key in enumerate(keys) if key not in self._vectors})
        if missing:
            fresh = self.encoder.encode([texts[i] for i in missing])
            with self._lock:
                for i, vector in zip(missing, fresh, strict=True):
                    self._vectors[keys[i]] = vector
                while len(self._vectors) > self.capacity:
                    self._vectors.popitem(last=False)
        with self._lock:
            rows = []
            for key in keys:
                self._vectors.move_to_end(key)
                rows.append(self._vectors[key])
        if not rows:
            return np.zeros((0, self.encoder.dimension), dtype=np.float32)
        return np.stack(rows)
