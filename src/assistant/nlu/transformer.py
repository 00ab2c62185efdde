"""The intent classifier: frozen MiniLM sentence embeddings plus word and character n-grams, one logistic head.

Scores are the head's probabilities times how close the utterance is to the
training sentences (mean cosine similarity of its nearest neighbours), so an
utterance unlike anything the skills were taught scores low for every label.
A model is saved to a folder: arrays in `head.npz`, vocabularies in
`vocabulary.json`, and `meta.json` with versions and each file's SHA-256.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.errors import NluError
from assistant.nlu.base import OUT_OF_SCOPE, Progress
from assistant.nlu.encoder import DEFAULT_MODEL, Encoder
from assistant.nlu.ngrams import NgramTable

if TYPE_CHECKING:
    import numpy as np
    from threadpoolctl import ThreadpoolController

    from assistant.nlu.embeddings import EmbeddingStore

log = logging.getLogger(__name__)

CODE_VERSION = "transformer-3"
"""Bump when features, head or file layout change: cached models are then retrained."""
DEFAULT_THRESHOLD = 0.35
"""Rejection threshold of an untrained classifier; `fit` chooses one (see `calibration`)."""
NEIGHBOURS = 3
"""How many nearest sentences of a label measure how close an utterance is to that label."""
HEAD_C = 20.0
"""Inverse regularisation of the logistic head (chosen on CLINC150 val)."""
_NGRAMS: dict[str, tuple[str, tuple[int, int]]] = {"words": ("word", (1, 2)), "chars": ("char_wb", (2, 5))}
COVERED_SIMILARITY = 0.75
"""A background sentence this close (cosine) to a skill's sample is not taught as out of scope."""
_FILES = ("head.npz", "vocabulary.json")


@dataclass
class _Head:
    classes: list[str]
    weights: np.ndarray
    """(features, labels) weights of the logistic head, C-contiguous for fast sparse products."""
    intercept: np.ndarray
    memory: np.ndarray
    """Unit-length embeddings of the training sentences, for the neighbour score (float16 on disk)."""
    memory_labels: np.ndarray
    """Index into the labels without "oos" of each row of `memory`; rows are grouped by label."""
    vectorizers: dict[str, NgramTable]


class TransformerClassifier:
    """Implements `IntentClassifier`; `threshold` is the score below which nothing is understood."""

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        encoder: Encoder | None = None,
        store: EmbeddingStore | None = None,
    ):
        self.model = model
        self.encoder = encoder or Encoder(model)
        self.store = store
        """Where sentence embeddings are kept by content; None encodes every sentence."""
        self.threshold = DEFAULT_THRESHOLD
        self.calibrated = False
        """True when `threshold` was chosen for these examples (not borrowed)."""
        self._head: _Head | None = None
        self._prepared: dict[str, list[tuple[str, float]]] = {}

    @property
    def labels(self) -> list[str]:
        return [] if self._head is None else head_labels(self._head)

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        progress: Progress | None = None,
        threshold: float | None = None,
    ) -> None:
        """Embed `texts`, fit the head, and choose the threshold on the samples themselves.

        Label "oos" is a background class. Known sentences come from the embedding store.
        A given `threshold` is kept as it is and the calibration (five more fits) skipped.
        """
        from assistant.nlu.calibration import calibrate, generic_out_of_scope
        from assistant.nlu.embeddings import embed

        if len(texts) != len(labels):
            raise NluError(f"{len(texts)} training texts but {len(labels)} labels")
        if len(set(labels) - {OUT_OF_SCOPE}) < 2:
            raise NluError("the intent classifier needs at least two intents to learn from")
        report = progress or (lambda fraction, what: None)
        texts, labels = list(texts), list(labels)
        generic = generic_out_of_scope()
        embeddings = embed(
            self.encoder, texts + generic, self.store, lambda f, what: report(0.7 * f, what)
        )
        memory, generic_embeddings = embeddings[: len(texts)], embeddings[len(texts) :]
        memory, texts, labels = without_covered_background(memory, texts, labels)
        report(0.7, "fitting the intent head")
        self._head = fit_head(memory, texts, labels)
        self._prepared = {}
        self.calibrated = threshold is None
        if threshold is None:
            report(0.8, "choosing the rejection threshold")
            threshold = calibrate(memory, texts, labels, generic_embeddings, generic)
        self.threshold = threshold
        report(1.0, "intent classifier trained")

    def prepare(self, texts: Sequence[str]) -> None:
        """Rank `texts` now, in batches (known sentences from the store): `rank` then answers at once."""
        missing = [text for text in dict.fromkeys(texts) if text not in self._prepared]
        for start in range(0, len(missing), 256):
            chunk = missing[start : start + 256]
            self._prepared |= dict(zip(chunk, self.rank_many(chunk), strict=True))

    def rank(self, text: str) -> list[tuple[str, float]]:
        """Every label, best first, with scores in [0, 1]."""
        prepared = self._prepared.get(text)
        return list(prepared) if prepared is not None else self.rank_many([text])[0]

    def rank_many(self, texts: Sequence[str]) -> list[list[tuple[str, float]]]:
        """`rank` for many texts at once (batched encoding)."""
        scores = self.scores(texts)
        labels = self.labels
        return [
            sorted(zip(labels, map(float, row), strict=True), key=lambda item: -item[1])
            for row in scores
        ]

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """(texts, labels) scores in the order of `labels`."""
        import numpy as np

        from assistant.nlu.embeddings import embed

        head = self._require_head()
        if len(texts) == 1:
            embeddings = self.encoder.encode(list(texts))
        else:
            embeddings = embed(self.encoder, list(texts), self.store)
        with _blas().limit(limits=1, user_api="blas"):
            return head_scores(head, np.asarray(embeddings, dtype=np.float32), list(texts))

    def _require_head(self) -> _Head:
        if self._head is None:
            raise NluError("the intent classifier is not trained: call fit() or load() first")
        return self._head

    # ------------------------------------------------------------ files

    def save(self, folder: Path, content_hash: str = "") -> None:
        """Write the model into `folder` (created); `content_hash` names the training data."""
        import numpy as np

        head = self._require_head()
        folder.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, Any] = {
            "weights": head.weights,
            "intercept": head.intercept,
            "memory": head.memory.astype(np.float16),
            "memory_labels": head.memory_labels,
        }
        arrays |= {f"idf_{name}": v.idf for name, v in head.vectorizers.items()}
        with (folder / "head.npz").open("wb") as handle:
            np.savez(handle, **arrays)
        vocabularies = {
            name: v.vocabulary for name, v in head.vectorizers.items()
        }
        (folder / "vocabulary.json").write_text(
            json.dumps({"classes": head.classes, "ngrams": vocabularies})
        )
        meta = {
            "code_version": CODE_VERSION,
            "content_hash": content_hash,
            "model": self.model,
            "threshold": self.threshold,
            "calibrated": self.calibrated,
            "versions": library_versions(),
            "sha256": {name: _sha256(folder / name) for name in _FILES},
        }
        (folder / "meta.json").write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(
        cls,
        folder: Path,
        content_hash: str | None = None,
        encoder: Encoder | None = None,
        store: EmbeddingStore | None = None,
    ) -> TransformerClassifier:
        """Read a saved model; `NluError` if it is missing, corrupt, stale or for other data."""
        meta = read_meta(folder)
        if meta.get("code_version") != CODE_VERSION or meta.get("versions") != library_versions():
            raise NluError(f"{folder}: saved by another version of the code or its libraries")
        if content_hash is not None and meta.get("content_hash") != content_hash:
            raise NluError(f"{folder}: trained on other examples or another model")
        for name in _FILES:
            if _sha256(folder / name) != meta.get("sha256", {}).get(name):
                raise NluError(f"{folder / name}: checksum mismatch, the file is corrupt")
        classifier = cls(str(meta["model"]), encoder, store)
        classifier.threshold = float(meta["threshold"])
        classifier.calibrated = bool(meta.get("calibrated"))
        classifier._head = _read_head(folder)
        return classifier


def read_meta(folder: Path) -> dict[str, Any]:
    try:
        meta = json.loads((folder / "meta.json").read_text())
    except (OSError, ValueError) as error:
        raise NluError(
            f"{folder / 'meta.json'}: cannot read the model description: {error}"
        ) from None
    if not isinstance(meta, dict):
        raise NluError(f"{folder / 'meta.json'}: not a JSON object")
    return meta


def _read_head(folder: Path) -> _Head:
    import numpy as np

    try:
        vocabulary = json.loads((folder / "vocabulary.json").read_text())
        with np.load(folder / "head.npz") as arrays:
            loaded = {name: arrays[name] for name in arrays.files}
        vectorizers = {
            name: NgramTable(kind, sizes, vocabulary["ngrams"][name], loaded[f"idf_{name}"])
            for name, (kind, sizes) in _NGRAMS.items()
        }
        return _Head(
            list(vocabulary["classes"]),
            loaded["weights"],
            loaded["intercept"],
            loaded["memory"].astype(np.float32),
            loaded["memory_labels"],
            vectorizers,
        )
    except (OSError, ValueError, KeyError) as error:
        raise NluError(f"{folder}: cannot read the saved classifier: {error}") from None


def fit_head(embeddings: np.ndarray, texts: list[str], labels: list[str]) -> _Head:
    """The n-gram vocabularies and the logistic head over `embeddings` (one row per text)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    # On large sets rare character n-grams are noise; on a few skill samples every one counts.
    vectorizers = {
        name: NgramTable.fit(kind, sizes, texts, 2 if kind == "char_wb" and len(texts) > 2000 else 1)
        for name, (kind, sizes) in _NGRAMS.items()
    }
    features = _features(embeddings, texts, vectorizers)
    # One BLAS thread: L-BFGS on a busy machine is several times slower with more.
    with _blas().limit(limits=1, user_api="blas"):
        head = LogisticRegression(C=HEAD_C, max_iter=3000).fit(features, labels)
    in_scope = np.asarray(labels) != OUT_OF_SCOPE
    known = sorted(set(labels) - {OUT_OF_SCOPE})
    owners = np.searchsorted(known, np.asarray(labels)[in_scope])
    grouped = np.argsort(owners, kind="stable")
    return _Head(
        classes=[str(c) for c in head.classes_],
        weights=np.ascontiguousarray(head.coef_.T, dtype=np.float32),
        intercept=head.intercept_.astype(np.float32),
        memory=embeddings[in_scope][grouped].astype(np.float32),
        memory_labels=owners[grouped],
        vectorizers=vectorizers,
    )


def without_covered_background(
    embeddings: np.ndarray, texts: list[str], labels: list[str]
) -> tuple[np.ndarray, list[str], list[str]]:
    """The training rows less the background ("oos") sentences that some skill's sample is close
    to: an installed weather skill's "will it rain" must not be taught as out of scope."""
    import numpy as np

    background = np.asarray(labels) == OUT_OF_SCOPE
    if not background.any() or background.all():
        return embeddings, texts, labels
    closest = (embeddings[background] @ embeddings[~background].T).max(axis=1)
    covered = np.zeros(len(labels), dtype=bool)
    covered[np.flatnonzero(background)[closest >= COVERED_SIMILARITY]] = True
    if covered.any():
        log.info("background sentences a skill covers, left out: %s", [texts[i] for i in np.flatnonzero(covered)])
    kept = np.flatnonzero(~covered)
    return embeddings[kept], [texts[i] for i in kept], [labels[i] for i in kept]


def head_scores(head: _Head, embeddings: np.ndarray, texts: list[str]) -> np.ndarray:
    """(texts, labels without "oos") probability times closeness to the label's nearest sentences."""
    import numpy as np

    logits = _features(embeddings, texts, head.vectorizers) @ head.weights + head.intercept
    if logits.shape[1] == 1:  # two classes: scikit-learn keeps one column
        logits = np.hstack([-logits, logits]) / 2
    logits = np.asarray(logits)
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    keep = [i for i, label in enumerate(head.classes) if label != OUT_OF_SCOPE]
    closeness = _class_similarity(embeddings @ head.memory.T, head.memory_labels, len(keep))
    return probabilities[:, keep] * np.clip(closeness, 0.0, 1.0)


def head_labels(head: _Head) -> list[str]:
    return [c for c in head.classes if c != OUT_OF_SCOPE]


def _class_similarity(similarity: np.ndarray, owners: np.ndarray, labels: int) -> np.ndarray:
    """(texts, labels) mean cosine similarity to each label's nearest training sentences.

    Rows of `similarity` are gathered into a (texts, labels, widest label) block,
    short labels padded with -inf, so one partition finds every label's nearest.
    """
    import numpy as np

    sizes = np.bincount(owners, minlength=labels)
    width = int(sizes.max())
    if (sizes == width).all():
        grouped = similarity.reshape(similarity.shape[0], labels, width)
    else:
        padded = np.hstack([similarity, np.full((similarity.shape[0], 1), -np.inf, np.float32)])
        grouped = padded[:, _slots(sizes, width, similarity.shape[1])]
    k = min(NEIGHBOURS, width)
    nearest = np.partition(grouped, width - k, axis=2)[..., width - k :]
    # A label with fewer than k sentences has -inf among its k nearest: average the real ones.
    return np.where(np.isfinite(nearest), nearest, 0.0).sum(axis=2) / np.minimum(sizes, k)


def _slots(sizes: np.ndarray, width: int, padding: int) -> np.ndarray:
    """(labels, width) row numbers of each label's sentences, then `padding`."""
    import numpy as np

    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    columns = np.arange(width)
    return np.where(columns < sizes[:, None], starts[:, None] + columns, padding)


def _features(
    embeddings: np.ndarray, texts: list[str], vectorizers: dict[str, NgramTable]
) -> Any:
    """Embedding and n-gram blocks side by side; each n-gram block carries half the weight."""
    import numpy as np
    import scipy.sparse as sparse

    blocks = [sparse.csr_matrix(embeddings.astype(np.float32))]
    blocks += [v.transform(texts) / np.sqrt(len(vectorizers)) for v in vectorizers.values()]
    return sparse.hstack(blocks, format="csr", dtype=np.float32)


@functools.cache
def _blas() -> ThreadpoolController:
    """Limits BLAS threads: small products on a busy machine are several times slower with more."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def library_versions() -> dict[str, str]:
    """Versions that change what a saved model means."""
    from importlib.metadata import version

    return {name: version(name) for name in ("numpy", "scikit-learn", "transformers", "torch")}


def _sha256(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""
