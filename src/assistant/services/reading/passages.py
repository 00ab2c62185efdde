"""Sentences of a document and their embeddings, shared by question answering and summarising.

Sentences are split with pysbd, paragraph by paragraph (very long ones by a rule); embeddings come from the
MiniLM `Encoder` in batches and are remembered, so asking a second question about
the same page only encodes the question.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import re
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from assistant.nlu.encoder import Encoder

log = logging.getLogger(__name__)

_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"[A-Za-z0-9]")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")
LONG_PARAGRAPH_CHARS = 5000
"""Longer paragraphs are cut into sentences by a rule, not by pysbd (see `_segments`)."""
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
    previous: str = ""
    """The sentence before, when this one opens with a pronoun ("It was built in 1871"
    needs to know what "it" is); empty otherwise."""

    @property
    def context(self) -> str:
        return f"{self.previous} {self.text}" if self.previous else ""


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
        for piece in _segments(segmenter, paragraph):
            text = piece.strip()
            if text and _WORD.search(text):
                previous = sentences[-1].text if sentences and _PRONOUN_OPENING.match(text) else ""
                sentences.append(Sentence(text, document, number, len(sentences), previous))
    return sentences


def _segments(segmenter: Any, paragraph: str) -> list[str]:
    """pysbd's sentences, or for a long paragraph a plain cut after ". " before a capital.

    pysbd's time grows with the square of a paragraph's length (a pasted 100 kB text
    without blank lines took 40 s, 1 MB would take hours); the plain cut is linear and
    wrong only after abbreviations ("Dr. Smith").
    """
    if len(paragraph) <= LONG_PARAGRAPH_CHARS:
        return list(segmenter.segment(paragraph))
    return _SENTENCE_END.split(paragraph)


class EmbeddingCache:
    """Embeddings of sentences by their text, least recently used dropped first.

    One cache per encoder is shared (`shared`), so a page prepared for questions is
    ready for its summary too. Encoding is serialised: a question asked while the
    page is still being prepared waits for that work instead of repeating it.
    """

    _shared: weakref.WeakKeyDictionary[Any, EmbeddingCache] = weakref.WeakKeyDictionary()
    _shared_lock = threading.Lock()

    def __init__(self, encoder: Encoder, capacity: int = 20_000) -> None:
        self.encoder = encoder
        self.capacity = capacity
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._encoding = threading.Lock()

    @classmethod
    def shared(cls, encoder: Encoder) -> EmbeddingCache:
        with cls._shared_lock:
            cache = cls._shared.get(encoder)
            if cache is None:
                cache = cls._shared[encoder] = cls(encoder)
            return cache

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length embeddings of `texts`, shape (len(texts), dimension)."""
        import numpy as np

        keys = [_key(text) for text in texts]
        with self._encoding:
            with self._lock:
                missing = sorted(
                    {key: i for i, key in enumerate(keys) if key not in self._vectors}.values()
                )
            if missing:
                # similar lengths in a batch waste less padding
                missing.sort(key=lambda i: len(texts[i]))
                fresh = self.encoder.encode([texts[i] for i in missing])
                with self._lock:
                    for i, vector in zip(missing, fresh, strict=True):
                        self._vectors[keys[i]] = vector
                    while len(self._vectors) > max(self.capacity, len(keys)):
                        self._vectors.popitem(last=False)
        with self._lock:
            rows = []
            for key in keys:
                self._vectors.move_to_end(key)
                rows.append(self._vectors[key])
        if not rows:
            return np.zeros((0, self.encoder.dimension), dtype=np.float32)
        return np.stack(rows)

    def prefetch(self, texts: list[str]) -> None:
        """Encode `texts` in the background; returns at once."""
        thread = threading.Thread(
            target=self._prefetch, args=(list(texts),), name="prefetch", daemon=True
        )
        _prefetching.add(thread)
        thread.start()

    def _prefetch(self, texts: list[str]) -> None:
        # In batches: a question asked meanwhile waits for one batch, not for a whole long
        # text, and the process can stop between two (see `_stop_prefetching`).
        texts = sorted(texts, key=len)
        try:
            for start in range(0, len(texts), PREFETCH_BATCH):
                if _stopping.is_set():
                    return
                self.encode(texts[start : start + PREFETCH_BATCH])
        except Exception as error:  # background work: log it, the next question retries
            if _stopping.is_set():  # the process is ending: loading the encoder can fail then
                log.debug("preparing %d sentences stopped: %s", len(texts), error)
                return
            log.warning("preparing %d sentences failed: %s", len(texts), error)


PREFETCH_BATCH = 64
_stopping = threading.Event()
_prefetching: weakref.WeakSet[threading.Thread] = weakref.WeakSet()


@atexit.register
def _stop_prefetching() -> None:
    """Let background encoding finish its batch before the interpreter ends: inference still
    running in a daemon thread then aborts the process ("terminate called", exit 134)."""
    _stopping.set()
    for thread in list(_prefetching):
        thread.join(timeout=30)


def _key(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def searchable_texts(sentences: list[Sentence]) -> list[str]:
    """Everything question answering encodes for these sentences: each one and the one it leans on."""
    return [s.text for s in sentences] + [s.previous for s in sentences if s.previous]
