"""Pages kept under the home with their validators (ETag, Last-Modified) for conditional requests."""

from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pages (
    url TEXT PRIMARY KEY,
    etag TEXT,
    last_modified TEXT,
    content_type TEXT NOT NULL,
    body BLOB NOT NULL,
    stored_at REAL NOT NULL
)
"""


@dataclass(frozen=True)
class CachedPage:
    url: str
    etag: str | None
    last_modified: str | None
    content_type: str
    body: bytes
    stored_at: float
    """Seconds since the epoch."""

    def conditional_headers(self) -> dict[str, str]:
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


class PageCache:
    """One SQLite file; only responses with a validator are worth keeping."""

    def __init__(self, path: Path, max_entries: int = 500) -> None:
        self.path = path
        self.max_entries = max_entries
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=5.0)
        # WAL without a sync per commit: a lost last write costs a re-fetch, not a corrupt file
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    def get(self, url: str) -> CachedPage | None:
        with self._lock, closing(self._connect()) as db:
            row = db.execute(
                "SELECT url, etag, last_modified, content_type, body, stored_at FROM pages WHERE url = ?",
                (url,),
            ).fetchone()
        return CachedPage(*row) if row else None

    def put(
        self, url: str, etag: str | None, last_modified: str | None, content_type: str, body: bytes
    ) -> None:
        if not etag and not last_modified:
            return
        with self._lock, closing(self._connect()) as db, db:
            db.execute(
                "INSERT OR REPLACE INTO pages VALUES (?, ?, ?, ?, ?, ?)",
                (url, etag, last_modified, content_type, body, time.time()),
            )
            db.execute(
                "DELETE FROM pages WHERE url NOT IN "
                "(SELECT url FROM pages ORDER BY stored_at DESC LIMIT ?)",
                (self.max_entries,),
            )
