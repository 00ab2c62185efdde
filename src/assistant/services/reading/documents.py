"""The "current document" that reading, question answering and summarising share.

It is the last page read or text pasted, kept in SQLite under the home so that it
survives a restart, plus the text files of the configured notes folder.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
import time
from contextlib import closing
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from assistant.config import QuestionAnsweringSettings
from assistant.errors import AssistantError
from assistant.home import Home

log = logging.getLogger(__name__)

NOTE_SUFFIXES = (".txt", ".md", ".markdown", ".rst", ".text")
MAX_NOTE_BYTES = 1_000_000
MAX_NOTES = 500
KEEP_DOCUMENTS = 20

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    title TEXT NOT NULL,
    url TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at REAL NOT NULL
)
"""


class DocumentError(AssistantError):
    """A document is empty, or the notes folder cannot be read."""


@dataclass(frozen=True)
class Document:
    """One text the skills can question or summarise."""

    kind: str
    """"page" (read from the web), "text" (pasted) or "note" (a file of the notes folder)."""
    source: str
    """What to name when answering: the page URL, "the text you gave me", or the file path."""
    title: str
    text: str
    """Paragraphs separated by blank lines."""
    url: str = ""
    id: int | None = None
    created_at: float = 0.0
    """Seconds since the epoch."""

    @property
    def paragraphs(self) -> list[str]:
        return [block.strip() for block in re.split(r"\n\s*\n", self.text) if block.strip()]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "paragraphs": self.paragraphs}

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> Document:
        known = {"kind", "source", "title", "text", "url", "id", "created_at"}
        return cls(**{key: value[key] for key in known if key in value})


class Documents:
    """The current document (last page read or text pasted) and the notes folder."""

    def __init__(self, home: Home, settings: QuestionAnsweringSettings) -> None:
        self.path = home.database("documents")
        self.notes_folder = (
            Path(settings.notes_folder).expanduser() if settings.notes_folder else None
        )
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=5.0)
        # WAL without a sync per commit: a lost last write costs a re-fetch, not a corrupt file
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    def set_current(
        self, text: str, source: str, title: str = "", url: str = "", kind: str = "text"
    ) -> dict[str, Any]:
        """Make `text` the current document; returns it as a dict (with its `id`)."""
        text = text.strip()
        if not text:
            raise DocumentError("There is no text to keep: the document is empty.")
        created = time.time()
        with self._lock, closing(self._connect()) as db, db:
            cursor = db.execute(
                "INSERT INTO documents (kind, source, title, url, text, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (kind, source, title, url, text, created),
            )
            db.execute(
                "DELETE FROM documents WHERE id NOT IN (SELECT id FROM documents ORDER BY id DESC LIMIT ?)",
                (KEEP_DOCUMENTS,),
            )
        return Document(kind, source, title, text, url, cursor.lastrowid, created).to_dict()

    def set_page(self, page: dict[str, Any]) -> dict[str, Any]:
        """Make a page from `WebService.fetch` the current document."""
        blocks = page.get("paragraphs") or [page.get("text", "")]
        url = str(page.get("final_url") or page.get("url") or "")
        return self.set_current(
            "\n\n".join(blocks),
            source=url,
            title=str(page.get("title") or ""),
            url=url,
            kind="page",
        )

    def current(self) -> dict[str, Any] | None:
        """The last page read or text pasted, or None."""
        recent = self.recent(1)
        return recent[0] if recent else None

    def recent(self, limit: int = 5) -> list[dict[str, Any]]:
        with self._lock, closing(self._connect()) as db:
            rows = db.execute(
                "SELECT kind, source, title, text, url, id, created_at FROM documents ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [Document(*row).to_dict() for row in rows]

    def clear(self) -> None:
        with self._lock, closing(self._connect()) as db, db:
            db.execute("DELETE FROM documents")

    def notes(self) -> list[dict[str, Any]]:
        """The text files of `[question_answering] notes_folder` (none when it is not set)."""
        folder = self.notes_folder
        if folder is None:
            return []
        if not folder.is_dir():
            raise DocumentError(
                f"The notes folder {folder} does not exist; set [question_answering] notes_folder to a folder."
            )
        found = []
        for path in sorted(folder.rglob("*"))[: MAX_NOTES * 4]:
            if path.suffix.lower() not in NOTE_SUFFIXES or not path.is_file():
                continue
            if path.stat().st_size > MAX_NOTE_BYTES:
                log.info("skipping note %s: larger than %d bytes", path, MAX_NOTE_BYTES)
                continue
            text = path.read_text(encoding="utf-8", errors="replace").strip()
            if text:
                found.append(
                    Document("note", str(path), path.stem.replace("_", " "), text).to_dict()
                )
            if len(found) >= MAX_NOTES:
                break
        return found
