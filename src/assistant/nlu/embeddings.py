"""Sentence embeddings kept by content, so that a changed skill set re-encodes only new sentences.

One SQLite file (WAL, shared by every process of one home) maps the SHA-256 of
(model, maximum length, text) to the float32 vector. Encoding is the slow part of
training; with this store, adding a skill or checking one encodes only its own sentences.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.nlu.base import Progress

if TYPE_CHECKING:
    import numpy as np

    from assistant.nlu.encoder import Encoder

log = logging.getLogger(__name__)

__all__ = ["EmbeddingStore", "embed"]

CHUNK = 256
"""Sentences encoded (and stored) per step: progress is reported and kept this often."""


class EmbeddingStore:
    """Embeddings by content in one SQLite file; a damaged file is replaced, never trusted."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                self._connection = self._open()
            except sqlite3.DatabaseError as error:
                log.warning("replacing the damaged embedding store %s: %s", self.path, error)
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{self.path}{suffix}").unlink(missing_ok=True)
                self._connection = self._open()
        return self._connection

    def _open(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vector BLOB NOT NULL)")
        connection.execute("SELECT count(*) FROM vectors").fetchone()
        return connection

    def get(self, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        """The stored vectors among `keys`."""
        import numpy as np

        found: dict[bytes, np.ndarray] = {}
        with self._lock:
            connection = self._connect()
            for start in range(0, len(keys), 500):
                part = list(keys[start : start + 500])
                marks = ",".join("?" * len(part))
                rows = connection.execute(f"SELECT key, vector FROM vectors WHERE key IN ({marks})", part)
                found |= {bytes(key): np.frombuffer(vector, dtype=np.float32) for key, vector in rows}
        return found

    def put(self, keys: Sequence[bytes], vectors: np.ndarray) -> None:
        import numpy as np

        rows = [(key, np.asarray(v, dtype=np.float32).tobytes()) for key, v in zip(keys, vectors, strict=True)]
        try:
            with self._lock:
                connection = self._connect()
                with connection:
                    connection.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)", rows)
        except sqlite3.Error as error:  # a full disk costs speed next time, never the answer
            log.warning("cannot keep embeddings in %s: %s", self.path, error)

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


def key(model: str, max_length: int, text: str) -> bytes:
    """What identifies one embedding: the encoder and the exact text."""
    return hashlib.sha256(f"{model}\0{max_length}\0{text}".encode()).digest()


def embed(
    encoder: Encoder,
    texts: Sequence[str],
    store: EmbeddingStore | None = None,
    progress: Progress | None = None,
) -> np.ndarray:
    """(len(texts), dimension) unit vectors: stored ones read back, the rest encoded and stored.

    Missing sentences are encoded shortest first, so batches carry little padding.
    """
    import numpy as np

    keys = [key(encoder.model_name, encoder.max_length, text) for text in texts]
    known = store.get(keys) if store is not None else {}
    missing = sorted({k: i for i, k in enumerate(keys) if k not in known}.values(), key=lambda i: len(texts[i]))
    if missing and progress:
        progress(0.0, f"encoding {len(missing)} new sentences ({len(texts) - len(missing)} known)")
    for start in range(0, len(missing), CHUNK):
        if progress and start:
            progress(start / len(missing), f"encoding sentences {start}/{len(missing)}")
        chunk = missing[start : start + CHUNK]
        vectors = encoder.encode([texts[i] for i in chunk])
        chunk_keys = [keys[i] for i in chunk]
        known |= dict(zip(chunk_keys, vectors, strict=True))
        if store is not None:
            store.put(chunk_keys, vectors)
    if not texts:
        return np.zeros((0, encoder.dimension), dtype=np.float32)
    return np.stack([known[k] for k in keys]).astype(np.float32)
