"""Choosing the rejection threshold from the training samples and the shipped out-of-scope sentences."""

from __future__ import annotations

import numpy as np

from assistant.nlu.calibration import choose_threshold, folds, generic_out_of_scope


def test_every_sample_is_held_out_once_and_a_lone_sample_never() -> None:
    labels = ["a"] * 7 + ["b"] * 3 + ["c"]
    held = [row for _, rows in folds(labels, 5) for row in rows]
    assert sorted(held) == list(range(10))  # row 10, the only "c", always stays in training
    for train, rows in folds(labels, 5):
        assert not set(train) & set(rows)
        assert {labels[i] for i in train} == {"a", "b", "c"}


def test_the_threshold_costs_at_most_the_budget() -> None:
    rng = np.random.default_rng(1)
    in_scores = rng.uniform(0.3, 1.0, 1000)
    right = np.ones(1000, dtype=bool)
    out_scores = rng.uniform(0.0, 0.6, 300)
    threshold = choose_threshold(in_scores, right, out_scores, budget=0.01)
    assert (in_scores < threshold).mean() <= 0.01
    assert threshold > 0.3  # and it does reject the out-of-scope scores below the in-scope ones
    assert (out_scores < threshold).mean() > 0.45


def test_without_out_of_scope_scores_only_the_budget_limits() -> None:
    in_scores = np.linspace(0.1, 0.9, 100)
    threshold = choose_threshold(in_scores, np.ones(100, dtype=bool), np.zeros(0), budget=0.05)
    assert threshold == 0.0  # nothing to gain from rejecting: never reject
    assert choose_threshold(np.zeros(0), np.zeros(0, dtype=bool), np.zeros(0), 0.05) == 0.0


def test_wrong_answers_are_worth_rejecting() -> None:
    # Low-scoring held-out samples that were classified wrongly cost nothing when rejected.
    in_scores = np.array([0.1, 0.15, 0.2, 0.8, 0.85, 0.9])
    right = np.array([False, False, False, True, True, True])
    threshold = choose_threshold(in_scores, right, np.array([0.05, 0.3, 0.4]), budget=0.0)
    assert 0.4 < threshold <= 0.8


def test_the_shipped_sentences_are_many_and_distinct() -> None:
    sentences = generic_out_of_scope()
    assert len(sentences) >= 150
    assert len(set(sentences)) == len(sentences)
    assert not [s for s in sentences if s.startswith("#") or s != s.strip()]
