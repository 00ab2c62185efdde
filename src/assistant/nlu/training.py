"""Train the intent classifier once per set of examples and keep it in a cache folder.

The cache key is a hash of the examples, the encoder model and the code version;
a folder that is missing, corrupt or stale is retrained, never trusted. A new
model is written beside the cache and moved into place in one rename.
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
from assistant.nlu.encoder import Encoder
from assistant.nlu.transformer import CODE_VERSION, TransformerClassifier

log = logging.getLogger(__name__)

__all__ = ["content_hash", "load_or_train"]

CACHE_NAME = "transformer"


def content_hash(examples: Sequence[tuple[str, str]], model: str) -> str:
    """SHA-256 of the examples (order kept), the model name and the code version."""
    payload = json.dumps(
        [CODE_VERSION, model, [list(pair) for pair in examples]], ensure_ascii=False
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def load_or_train(
    examples: Sequence[tuple[str, str]],
    model: str,
    cache_dir: Path,
    progress: Progress | None = None,
    encoder: Encoder | None = None,
) -> TransformerClassifier:
    """The classifier for `examples` ((text, "skill.action") pairs): from `cache_dir` or trained now."""
    if not examples:
        raise NluError("no training examples: no skill has sample utterances")
    wanted = content_hash(examples, model)
    folder = cache_dir / CACHE_NAME
    if folder.exists():
        try:
            classifier = TransformerClassifier.load(folder, content_hash=wanted, encoder=encoder)
            log.info("intent classifier loaded from %s", folder)
            if progress:
                progress(1.0, "intent classifier loaded from the cache")
            return classifier
        except NluError as error:
            log.warning("retraining the intent classifier: %s", error)
    classifier = TransformerClassifier(model, encoder)
    texts, labels = zip(*examples, strict=True)
    classifier.fit(list(texts), list(labels), progress)
    _save_atomically(classifier, folder, wanted)
    return classifier


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
