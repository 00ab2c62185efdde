"""Answers questions about the current document, the pasted text or the notes folder.

Offline default: the sentence most likely to hold the answer is chosen with MiniLM
embeddings (plus word overlap), then the span step (`assistant.services.reading.spans`)
cuts out the date, number or name that answers. With `[question_answering] model`
set, a transformers question-answering model reads the best sentences instead.
Below `min_confidence` the answer is "not found", and the skill says it does not know.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from assistant.config import QuestionAnsweringSettings
from assistant.errors import AssistantError
from assistant.home import Home
from assistant.services.reading.passages import (
    EmbeddingCache,
    Sentence,
    searchable_texts,
    split_paragraphs,
    split_sentences,
)
from assistant.services.reading.readers import ExtractiveReader
from assistant.services.reading.spans import AnswerType, expected_answer, find_spans, question_words

if TYPE_CHECKING:
    from assistant.nlu.encoder import Encoder

log = logging.getLogger(__name__)

MAX_CANDIDATES = 64
"""Longer documents are narrowed to this many sentences by TF-IDF before they are encoded."""
SEMANTIC_WEIGHT = 0.65
OVERLAP_WEIGHT = 0.35
CONTEXT_DISCOUNT = 0.1
SPAN_SENTENCES = 3
SPAN_MARGIN = 0.15
"""Sentences within this of the best are searched for a span of the expected type."""
SPAN_WEIGHT = 0.2
MODEL_CONTEXTS = 3


class QuestionError(AssistantError):
    """The question is empty or there is nothing to answer it from."""


@dataclass(frozen=True)
class Answer:
    found: bool
    answer: str
    """The span that answers ("1871"), the sentence when no span fits, "" when not found."""
    sentence: str
    """The sentence the answer was taken from."""
    source: str
    """Where it came from: a URL, a file path or "the text you gave me"."""
    title: str
    confidence: float
    """0 to 1."""
    method: str
    """"span", "sentence", "model" or "none"."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Scored:
    sentence: Sentence
    score: float


class QuestionAnswerer:
    """Extractive question answering over plain-data documents (dicts with text, source, title)."""

    def __init__(
        self, home: Home, settings: QuestionAnsweringSettings, encoder: Encoder | None = None
    ) -> None:
        from assistant.nlu.encoder import Encoder

        self.home = home
        self.settings = settings
        self.embeddings = EmbeddingCache.shared(encoder or Encoder())
        self._reader: ExtractiveReader | None = None
        self._lock = threading.Lock()

    def prepare(self, text: str) -> dict[str, Any]:
        """Start encoding `text` in the background (call it when a page is read); returns at once."""
        sentences = split_sentences(split_paragraphs(text))
        self.embeddings.prefetch(searchable_texts(sentences))
        if len(sentences) > MAX_CANDIDATES:  # its questions are narrowed by TF-IDF (`_narrow`)
            threading.Thread(target=_import_tfidf, name="import-tfidf", daemon=True).start()
        return {"sentences": len(sentences)}

    def answer(self, question: str, documents: list[dict[str, Any]]) -> dict[str, Any]:
        """The answer to `question` from `documents`, as `Answer.to_dict()`."""
        question = " ".join(question.split())
        if not question:
            raise QuestionError("The question is empty: what would you like to know?")
        sentences = [
            sentence
            for number, document in enumerate(documents)
            for sentence in split_sentences(split_paragraphs(str(document.get("text", ""))), number)
        ]
        if not sentences:
            raise QuestionError(
                "There is no text to answer from: read a page or give me some text first."
            )
        ranked = self._rank(question, sentences)
        result = (
            self._with_model(question, ranked, sentences)
            if self.settings.model
            else self._with_spans(question, ranked)
        )
        if result.confidence < self.settings.min_confidence:
            log.info(
                "no answer above %.2f for %r (best %.2f)",
                self.settings.min_confidence,
                question,
                result.confidence,
            )
            result = Answer(
                False, "", result.sentence, result.source, result.title, result.confidence, "none"
            )
        if result.found:
            document = documents[_sentence_of(result.sentence, ranked).document] if ranked else {}
            result = Answer(
                True,
                result.answer,
                result.sentence,
                str(document.get("source", "")),
                str(document.get("title", "")),
                result.confidence,
                result.method,
            )
        return result.to_dict()

    def _rank(self, question: str, sentences: list[Sentence]) -> list[_Scored]:
        """Sentences by how likely they hold the answer, best first."""
        import numpy as np

        everything = sentences
        if len(sentences) > MAX_CANDIDATES:
            sentences = _narrow(question, sentences, MAX_CANDIDATES)
        texts = list(dict.fromkeys(searchable_texts(sentences)))
        vectors = self.embeddings.encode([question] + texts)
        if everything is not sentences:
            # follow-up questions will likely need the rest: encode it while the user listens
            self.embeddings.prefetch(searchable_texts(everything))
        by_text = dict(zip(texts, vectors[1:], strict=True))
        own = np.stack([by_text[s.text] for s in sentences]) @ vectors[0]
        # A sentence read with the one before: the mean of both embeddings stands in for
        # encoding the pair again (mean pooling makes the two close), at no extra cost.
        in_context = {}
        for i, sentence in enumerate(sentences):
            if sentence.previous:
                pair = by_text[sentence.previous] + by_text[sentence.text]
                in_context[i] = float(pair @ vectors[0] / (np.linalg.norm(pair) or 1.0))
        asked = _rarity(question_words(question), [question_words(text) for text in texts])
        scores = []
        for i, sentence in enumerate(sentences):
            score = _match(asked, sentence.text, float(own[i]))
            if i in in_context:
                # the sentence leans on the one before; that one's words count a little less
                score = max(
                    score, _match(asked, sentence.context, float(in_context[i])) - CONTEXT_DISCOUNT
                )
            scores.append(score)
        order = np.argsort(-np.asarray(scores))
        return [_Scored(sentences[i], float(scores[i])) for i in order]

    def _with_spans(self, question: str, ranked: list[_Scored]) -> Answer:
        """The best typed span among the leading sentences; the top sentence when none fits."""
        best = ranked[0]
        expectation = expected_answer(question)
        if expectation.type is not AnswerType.OTHER:
            found = []
            for candidate in ranked[:SPAN_SENTENCES]:
                if candidate.score < best.score - SPAN_MARGIN:
                    break
                spans = find_spans(candidate.sentence.text, question, expectation)
                if spans and spans[0].score >= 0.3:
                    found.append(
                        (candidate.score + SPAN_WEIGHT * spans[0].score, candidate, spans[0])
                    )
            if found:
                _, candidate, span = max(found, key=lambda item: item[0])
                confidence = _confidence(candidate.score)
                return Answer(True, span.text, candidate.sentence.text, "", "", confidence, "span")
        confidence = _confidence(best.score)
        if expectation.type is not AnswerType.OTHER:
            confidence *= 0.8  # the question wanted a date, number or name and none was found
        return Answer(True, best.sentence.text, best.sentence.text, "", "", confidence, "sentence")

    def _with_model(
        self, question: str, ranked: list[_Scored], sentences: list[Sentence]
    ) -> Answer:
        """The configured model reads the best few sentences with their neighbours."""
        with self._lock:
            if self._reader is None:
                self._reader = ExtractiveReader(self.settings.model)
        best = Answer(False, "", ranked[0].sentence.text, "", "", 0.0, "none")
        for candidate in ranked[:MODEL_CONTEXTS]:
            extracted = self._reader.read(question, _window(candidate.sentence, sentences))
            if extracted.answer and extracted.score > best.confidence:
                best = Answer(
                    True,
                    extracted.answer,
                    candidate.sentence.text,
                    "",
                    "",
                    round(extracted.score, 3),
                    "model",
                )
        return best


def _rarity(asked: set[str], sentence_words: list[set[str]]) -> dict[str, float]:
    """Question words weighted by how rare they are in the document (inverse document frequency)."""
    count = len(sentence_words)
    return {
        word: math.log(1 + count / (1 + sum(word in words for words in sentence_words)))
        for word in asked
    }


def _match(asked: dict[str, float], text: str, similarity: float) -> float:
    """Embedding similarity plus the rarity-weighted share of question words in `text`."""
    present = question_words(text)
    total = sum(asked.values()) or 1.0
    overlap = sum(weight for word, weight in asked.items() if word in present) / total
    return SEMANTIC_WEIGHT * similarity + OVERLAP_WEIGHT * overlap


def _confidence(score: float) -> float:
    """Map a ranking score onto 0..1; 0.5 and more is a confident match."""
    return round(max(0.0, min(1.0, (score - 0.1) / 0.6)), 3)


def _sentence_of(text: str, ranked: list[_Scored]) -> Sentence:
    for item in ranked:
        if item.sentence.text == text:
            return item.sentence
    return ranked[0].sentence


def _window(sentence: Sentence, sentences: list[Sentence], radius: int = 1) -> str:
    same = [s for s in sentences if s.document == sentence.document]
    index = next((i for i, s in enumerate(same) if s.position == sentence.position), 0)
    return " ".join(s.text for s in same[max(0, index - radius) : index + radius + 1])


def _import_tfidf() -> None:
    """Import scikit-learn's TF-IDF while the user reads the reply: seconds the question then saves."""
    import sklearn.feature_extraction.text  # noqa: F401


def _narrow(question: str, sentences: list[Sentence], keep: int) -> list[Sentence]:
    """The `keep` sentences closest to the question by TF-IDF, in document order."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [s.text for s in sentences]
    matrix = TfidfVectorizer(stop_words="english", sublinear_tf=True).fit_transform(
        texts + [question]
    )
    similarity = (matrix[:-1] @ matrix[-1].T).toarray().ravel()
    chosen = sorted(similarity.argsort()[::-1][:keep])
    return [sentences[i] for i in chosen]
