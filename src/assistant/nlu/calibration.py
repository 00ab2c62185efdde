"""Choose the rejection threshold from the training samples alone, for whatever skills are installed.

The rule (stated in docs/internals.md):

1. Cross-validation: the samples are split into `FOLDS` folds, each label spread evenly.
   A head trained on the other folds scores each held-out sample (right or wrong label,
   best score) and the shipped generic out-of-scope sentences (`data/out_of_scope.txt`).
   Once `ENOUGH` samples have been held out, no further fold is fitted.
2. Among the thresholds that cost at most `BUDGET` of the held-out samples' accuracy
   (against never rejecting), the one with the best accuracy + generic out-of-scope
   recall is chosen.

A sample's own neighbours are never in its training fold, so its score is what a new
phrasing of a known request would get; the budget caps what a generic sentence that a
skill does cover (a weather skill and "is it going to rain") can cost.
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from collections.abc import Iterator, Sequence
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from assistant.nlu.base import OUT_OF_SCOPE

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

__all__ = ["BUDGET", "FOLDS", "background_requests", "calibrate", "choose_threshold", "generic_out_of_scope"]

FOLDS = 5
ENOUGH = 5000
"""Held-out samples after which no further fold is fitted (large skill sets: fewer fits)."""
BUDGET = 0.01
"""Share of held-out in-scope samples the threshold may turn away that would have been right."""
SEED = 13


@cache
def generic_out_of_scope() -> list[str]:
    """The shipped sentences no skill set is expected to cover."""
    text = resources.files("assistant.nlu").joinpath("data/out_of_scope.txt").read_text("utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


@cache
def background_requests() -> list[str]:
    """The shipped requests for things no bundled skill does (lights, locks, the weather), which
    the classifier learns as its background class; never used to choose the threshold."""
    text = resources.files("assistant.nlu").joinpath("data/background.txt").read_text("utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def folds(labels: Sequence[str], count: int = FOLDS) -> Iterator[tuple[list[int], list[int]]]:
    """(training rows, held-out rows) per fold; a label with one sample is never held out."""
    by_label: dict[str, list[int]] = defaultdict(list)
    for row, label in enumerate(labels):
        by_label[label].append(row)
    rng = random.Random(SEED)
    fold_of = [-1] * len(labels)
    for rows in by_label.values():
        if len(rows) < 2:
            continue
        rng.shuffle(rows)
        start = rng.randrange(count)  # small labels do not all fall into the first folds
        for position, row in enumerate(rows):
            fold_of[row] = (start + position) % count
    for fold in range(count):
        held = [row for row, f in enumerate(fold_of) if f == fold]
        if held:
            yield [row for row, f in enumerate(fold_of) if f != fold], held


def calibrate(
    embeddings: np.ndarray,
    texts: Sequence[str],
    labels: Sequence[str],
    generic_embeddings: np.ndarray,
    generic_texts: Sequence[str],
    count: int = FOLDS,
    budget: float = BUDGET,
    enough: int = ENOUGH,
) -> float:
    """The rejection threshold for a classifier trained on (`texts`, `labels`); see the module doc."""
    import numpy as np

    from assistant.nlu.transformer import fit_head, head_labels, head_scores

    right: list[bool] = []
    in_scores: list[float] = []
    out_scores: list[float] = []
    held_out = 0
    for train, held in folds(labels, count):
        if held_out >= enough:
            break
        held_out += len(held)
        train_labels = [labels[i] for i in train]
        if len(set(train_labels) - {OUT_OF_SCOPE}) < 2:
            continue
        head = fit_head(embeddings[train], [texts[i] for i in train], train_labels)
        names = head_labels(head)
        rows = np.vstack([embeddings[held], generic_embeddings])
        scores = head_scores(head, rows, [texts[i] for i in held] + list(generic_texts))
        best = scores.argmax(axis=1)
        for position, row in enumerate(held):
            score = float(scores[position, best[position]])
            if labels[row] == OUT_OF_SCOPE:
                out_scores.append(score)
            else:
                in_scores.append(score)
                right.append(names[best[position]] == labels[row])
        out_scores.extend(float(s) for s in scores[len(held) :].max(axis=1))
    threshold = choose_threshold(np.asarray(in_scores), np.asarray(right), np.asarray(out_scores), budget)
    log.info(
        "rejection threshold %.3f from %d held-out samples and %d out-of-scope scores",
        threshold, len(in_scores), len(out_scores),
    )  # fmt: skip
    return threshold


def choose_threshold(in_scores: np.ndarray, right: np.ndarray, out_scores: np.ndarray, budget: float) -> float:
    """Best accuracy + out-of-scope recall among thresholds losing at most `budget` accuracy."""
    import numpy as np

    if not len(in_scores):
        return 0.0
    candidates = np.unique(np.concatenate([[0.0], in_scores, out_scores]))
    right_scores = np.sort(in_scores[right])
    # accuracy(t) = right samples scoring >= t; recall(t) = out-of-scope scoring < t.
    accuracy = (len(right_scores) - np.searchsorted(right_scores, candidates, side="left")) / len(in_scores)
    recall = (
        np.searchsorted(np.sort(out_scores), candidates, side="left") / len(out_scores)
        if len(out_scores)
        else np.zeros(len(candidates))
    )
    allowed = accuracy >= accuracy[0] - budget - 1e-12
    objective = np.where(allowed, accuracy + recall, -np.inf)
    return float(candidates[int(np.argmax(objective))])
