"""Train the intent classifier once per set of examples and keep it in a cache folder.

The cache key is a hash of the examples, the encoder model and the code version; each
key has its own folder (`transformer-<key>`), the `KEEP` most recently used are kept,
so checking or testing a skill in a scratch catalog never throws away the home's model.
A folder that is missing, corrupt or stale is retrained, never trusted. A new model is
written beside the cache and moved into place in one rename. Sentence embeddings are
kept by content in `embeddings.sqlite` next to the folders: a changed skill set encodes
only its new sentences.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from assistant.errors import NluError
from assistant.nlu.base import Progress
from assistant.nlu.embeddings import EmbeddingStore
from assistant.nlu.encoder import Encoder
from assistant.nlu.transformer import CODE_VERSION, TransformerClassifier, read_meta

log = logging.getLogger(__name__)

__all__ = ["cached", "content_hash", "embedding_store", "forget", "load_or_train"]

CACHE_NAME = "transformer"
KEEP = 4
"""Trained heads kept per home (the installed skills, plus recent checks and tests)."""
STORE_NAME = "embeddings.sqlite"


def content_hash(examples: Sequence[tuple[str, str]], model: str) -> str:
    """SHA-256 of the examples (order kept), the model name and the code version."""
    payload = json.dumps(
        [CODE_VERSION, model, [list(pair) for pair in examples]], ensure_ascii=False
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def embedding_store(cache_dir: Path) -> EmbeddingStore:
    return EmbeddingStore(cache_dir / STORE_NAME)


def _folder(cache_dir: Path, wanted: str) -> Path:
    return cache_dir / f"{CACHE_NAME}-{wanted[:16]}"


def cached(examples: Sequence[tuple[str, str]], model: str, cache_dir: Path) -> bool:
    """Whether a model for `examples` is in `cache_dir` (it may still turn out corrupt)."""
    return (_folder(cache_dir, content_hash(examples, model)) / "meta.json").is_file()


def load_or_train(
    examples: Sequence[tuple[str, str]],
    model: str,
    cache_dir: Path,
    progress: Progress | None = None,
    encoder: Encoder | None = None,
    calibrate: bool = True,
) -> TransformerClassifier:
    """The classifier for `examples` ((text, "skill.action") pairs): from `cache_dir` or trained now.

    With `calibrate=False` (a skill being checked or tested) the threshold is borrowed from
    the most recently used calibrated model in `cache_dir`, which saves five head fits.
    """
    if not examples:
        raise NluError("no training examples: no skill has sample utterances")
    wanted = content_hash(examples, model)
    folder = _folder(cache_dir, wanted)
    store = embedding_store(cache_dir)
    if folder.exists():
        try:
            classifier = TransformerClassifier.load(
                folder, content_hash=wanted, encoder=encoder, store=store
            )
            if not calibrate or classifier.calibrated:
                log.info("intent classifier loaded from %s", folder)
                os.utime(folder)  # most recently used: pruned last
                if progress:
                    progress(1.0, "intent classifier loaded from the cache")
                return classifier
            log.info("calibrating the intent classifier trained for a skill check in %s", folder)
        except NluError as error:
            log.warning("retraining the intent classifier: %s", error)
    classifier = TransformerClassifier(model, encoder, store)
    texts, labels = zip(*examples, strict=True)
    classifier.fit(list(texts), list(labels), progress, None if calibrate else _borrowed(cache_dir))
    _save_atomically(classifier, folder, wanted)
    _prune(cache_dir)
    return classifier


def forget(cache_dir: Path) -> None:
    """Remove the trained models (not the embeddings, which depend only on the text)."""
    for folder in cache_dir.glob(f"{CACHE_NAME}*"):
        shutil.rmtree(folder, ignore_errors=True)


def _borrowed(cache_dir: Path) -> float | None:
    """The threshold of the most recently used calibrated model here; None when there is none."""
    for folder in sorted(cache_dir.glob(f"{CACHE_NAME}-*"), key=lambda f: f.stat().st_mtime, reverse=True):
        try:
            meta = read_meta(folder)
        except NluError:
            continue
        if meta.get("calibrated") and meta.get("code_version") == CODE_VERSION:
            return float(meta["threshold"])
    return None


def _prune(cache_dir: Path) -> None:
    """Remove all but the `KEEP` most recently used model folders (and the old single folder)."""
    folders = sorted(cache_dir.glob(f"{CACHE_NAME}-*"), key=lambda f: f.stat().st_mtime, reverse=True)
    for old in [*folders[KEEP:], cache_dir / CACHE_NAME]:
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)


def _save_atomically(classifier: TransformerClassifier, folder: Path, wanted: str) -> None:
    """Write into a fresh sibling folder, then swap it in; readers never see half a model."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-new-", dir=folder.parent))
    try:
        classifier.save(staging, content_hash=wanted)
        old = None
        if folder.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{folder.name}-old-", dir=folder.parent))
            os.replace(folder, old / folder.name)
        os.replace(staging, folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        log.warning("the intent classifier could not be cached in %s: %s", folder, error)
