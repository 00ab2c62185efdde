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


def test_a_large_set_fits_fewer_folds() -> None:
    import numpy as np

    from assistant.nlu.calibration import calibrate

    rng = np.random.default_rng(3)
    labels = [f"skill.action{i % 4}" for i in range(400)]
    centres = rng.normal(size=(4, 16))
    embeddings = np.array([centres[i % 4] + 0.3 * rng.normal(size=16) for i in range(400)], dtype=np.float32)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    texts = [f"sentence number {i}" for i in range(400)]
    generic = rng.normal(size=(5, 16)).astype(np.float32)
    generic /= np.linalg.norm(generic, axis=1, keepdims=True)
    generic_texts = [f"something else {i}" for i in range(5)]
    everything = calibrate(embeddings, texts, labels, generic, generic_texts)
    two_folds = calibrate(embeddings, texts, labels, generic, generic_texts, enough=150)
    assert 0.0 <= two_folds <= 1.0 and 0.0 <= everything <= 1.0
    assert two_folds == calibrate(embeddings, texts, labels, generic, generic_texts, enough=81)
