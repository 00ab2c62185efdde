"""Summaries of a page or a text, extractive by default, abstractive with a model configured.

The offline default follows BertSum's idea without its trained head: sentences are
embedded with MiniLM, ranked by centrality (LexRank's PageRank over the cosine
similarity graph, with a slight lead bias), picked while skipping near-duplicates
(maximal marginal relevance) and returned in their original order.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from assistant.config import SummarizationSettings
from assistant.errors import AssistantError
from assistant.home import Home
from assistant.services.reading.passages import (
    EmbeddingCache,
    Sentence,
    split_paragraphs,
    split_sentences,
)
from assistant.services.reading.readers import AbstractiveSummarizer

if TYPE_CHECKING:
    import numpy as np

    from assistant.nlu.encoder import Encoder

log = logging.getLogger(__name__)

MAX_SENTENCES = 64
"""Longer documents are shortlisted to this many sentences before MiniLM ranks them."""
CHUNK_SENTENCES = 150
"""The shortlist is made chunk by chunk (TF-IDF LexRank), each chunk keeping its share."""
MIN_WORDS = 6
"""Shorter sentences (captions, bylines, "Read more.") are not summary material."""
MAX_WORDS = 60
DAMPING = 0.85
LEAD_WEIGHT = 0.15
"""How much an early position counts next to centrality (news puts the gist first)."""
REDUNDANCY = 0.8
"""A sentence this similar to one already chosen is left out."""
MMR_LAMBDA = 0.7
WORDS_PER_SENTENCE = 30
"""For abstractive models: the summary length asked for, per sentence requested."""


class SummaryError(AssistantError):
    """There is nothing to summarise."""


@dataclass(frozen=True)
class Summary:
    sentences: list[str]
    """The summary, sentence by sentence, in the document's order."""
    ranked: list[str]
    """The same sentences, most central first (the spoken version takes the head)."""
    method: str
    """"extractive" or "abstractive"."""
    source_sentences: int
    """How many sentences the document had."""

    @property
    def text(self) -> str:
        return " ".join(self.sentences)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "text": self.text}


class Summarizer:
    """Summarises plain text (paragraphs separated by blank lines) to a number of sentences."""

    def __init__(
        self, home: Home, settings: SummarizationSettings, encoder: Encoder | None = None
    ) -> None:
        from assistant.nlu.encoder import Encoder

        self.home = home
        self.settings = settings
        self.embeddings = EmbeddingCache.shared(encoder or Encoder())
        self._writer: AbstractiveSummarizer | None = None
        self._lock = threading.Lock()

    def summarize(self, text: str, sentences: int | None = None, title: str = "") -> dict[str, Any]:
        """`Summary.to_dict()` of `text` in `sentences` sentences (default from the settings)."""
        count = max(1, int(sentences or self.settings.default_sentences))
        found = split_sentences(split_paragraphs(text))
        if not found:
            raise SummaryError("There is nothing to summarise: the text is empty.")
        if self.settings.model:
            return self._abstractive(text, count, len(found)).to_dict()
        return self._extractive(found, count, title).to_dict()

    def _extractive(self, found: list[Sentence], count: int, title: str) -> Summary:
        usable = [s for s in found if MIN_WORDS <= len(s.text.split()) <= MAX_WORDS] or found
        if len(usable) > MAX_SENTENCES:
            usable = self._shortlist(usable, count)
        picked = self._pick(usable, count, title)
        ordered = sorted(picked, key=lambda s: s.position)
        return Summary(
            [s.text for s in ordered], [s.text for s in picked], "extractive", len(found)
        )

    def _shortlist(self, sentences: list[Sentence], count: int) -> list[Sentence]:
        """Chunk a long document; keep each chunk's most central sentences by TF-IDF LexRank.

        Cheap word statistics narrow the field so that only the shortlist is embedded.
        """
        from sklearn.feature_extraction.text import TfidfVectorizer

        keep = max(count * 2, MAX_SENTENCES * CHUNK_SENTENCES // len(sentences))
        shortlisted: list[Sentence] = []
        for start in range(0, len(sentences), CHUNK_SENTENCES):
            chunk = sentences[start : start + CHUNK_SENTENCES]
            try:
                matrix = TfidfVectorizer(stop_words="english", sublinear_tf=True).fit_transform(
                    [s.text for s in chunk]
                )
            except ValueError:  # only stop words: nothing to rank by, keep the start
                shortlisted.extend(chunk[:keep])
                continue
            scores = _centrality(matrix.toarray().astype("float32"))
            best = sorted(range(len(chunk)), key=lambda i: -scores[i])[:keep]
            shortlisted.extend(chunk[i] for i in sorted(best))
        log.info("summarising %d sentences shortlisted from %d", len(shortlisted), len(sentences))
        return shortlisted

    def _pick(self, sentences: list[Sentence], count: int, title: str) -> list[Sentence]:
        """Most central first, skipping near-duplicates of what is already chosen."""
        import numpy as np

        if len(sentences) <= count:
            return list(sentences)
        vectors = self.embeddings.encode([s.text for s in sentences])
        scores = _centrality(vectors)
        positions = np.arange(len(sentences), dtype=np.float32)
        scores = (1 - LEAD_WEIGHT) * scores + LEAD_WEIGHT * (1.0 - positions / len(sentences))
        if title:
            about_title = vectors @ self.embeddings.encode([title])[0]
            scores = scores + 0.1 * np.clip(about_title, 0.0, 1.0)
        chosen: list[int] = []
        candidates = list(range(len(sentences)))
        while candidates and len(chosen) < count:

            def value(i: int) -> float:
                overlap = max((float(vectors[i] @ vectors[j]) for j in chosen), default=0.0)
                return MMR_LAMBDA * float(scores[i]) - (1 - MMR_LAMBDA) * overlap

            best = max(candidates, key=value)
            candidates.remove(best)
            if any(float(vectors[best] @ vectors[j]) > REDUNDANCY for j in chosen):
                continue
            chosen.append(best)
        return [sentences[i] for i in chosen]

    def _abstractive(self, text: str, count: int, source_sentences: int) -> Summary:
        """The configured model summarises each chunk; the pieces are joined and cut to `count`."""
        with self._lock:
            if self._writer is None:
                self._writer = AbstractiveSummarizer(self.settings.model)
        budget = int(WORDS_PER_SENTENCE * count * 1.5)
        written = " ".join(
            self._writer.summarize(chunk, budget) for chunk in _word_chunks(text, 400)
        )
        pieces = [s.text for s in split_sentences([written])][:count] or [written]
        return Summary(pieces, pieces, "abstractive", source_sentences)


def _centrality(vectors: np.ndarray) -> np.ndarray:
    """LexRank scores (PageRank over positive cosine similarities), scaled to 0..1."""
    import numpy as np

    size = len(vectors)
    if size == 1:
        return np.ones(1, dtype=np.float32)
    weights = np.clip(vectors @ vectors.T, 0.0, None)
    np.fill_diagonal(weights, 0.0)
    sums = weights.sum(axis=1, keepdims=True)
    transition = np.divide(weights, sums, out=np.full_like(weights, 1.0 / size), where=sums > 0)
    rank = np.full(size, 1.0 / size, dtype=np.float32)
    for _ in range(100):
        updated = (1 - DAMPING) / size + DAMPING * transition.T @ rank
        if np.abs(updated - rank).sum() < 1e-6:
            rank = updated
            break
        rank = updated
    low, high = float(rank.min()), float(rank.max())
    return (rank - low) / (high - low) if high > low else np.ones(size, dtype=np.float32)


def _word_chunks(text: str, words: int) -> list[str]:
    tokens = text.split()
    return [" ".join(tokens[i : i + words]) for i in range(0, len(tokens), words)] or [text]
