"""The music library: scans folders into a SQLite index, incrementally by size and mtime."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from assistant.services.music.tags import AUDIO_EXTENSIONS, UnreadableFile, read_tags

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]
"""Called as progress(files_done, files_total, current_path) while scanning."""

_BATCH = 500
_COLUMNS = "id, path, title, artist, album, album_artist, genre, track_number, duration_s"


@dataclass(frozen=True)
class Track:
    """One indexed file."""

    id: int
    path: str
    title: str
    artist: str
    album: str
    album_artist: str
    genre: str
    track_number: int | None
    duration_s: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ScanReport:
    """What a scan found; `unreadable` counts files skipped as corrupt or unreadable."""

    files: int
    added: int
    updated: int
    removed: int
    unchanged: int
    unreadable: int
    missing_folders: list[str]
    duration_s: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Library:
    """The index of playable files; reads are cheap, `scan` brings it up to date."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection
        self._lock = threading.RLock()

    def scan(self, folders: list[Path], progress: Progress | None = None) -> ScanReport:
        """Index new and changed files, forget vanished ones; unreadable files are counted."""
        started = time.monotonic()
        missing = [str(folder) for folder in folders if not folder.is_dir()]
        found = {path: stat for folder in folders if folder.is_dir() for path, stat in _walk(folder)}
        with self._lock:
            known = _signatures(self._db, "tracks")
            bad = _signatures(self._db, "unreadable")
        changed = [
            path for path, signature in found.items()
            if known.get(path) != signature and bad.get(path) != signature
        ]
        unchanged = len(found) - len(changed)
        counts = {"added": 0, "updated": 0}
        total = len(changed)
        for start in range(0, total, _BATCH):
            batch = changed[start : start + _BATCH]
            rows = []
            for offset, path in enumerate(batch):
                if progress is not None:
                    progress(start + offset, total, path)
                rows.append((path, found[path], _read(path)))
            with self._lock, self._db:
                for path, (size, mtime_ns), tags in rows:
                    if isinstance(tags, str):
                        self._store_unreadable(path, size, mtime_ns, tags)
                        continue
                    counts["updated" if path in known else "added"] += 1
                    self._store_track(path, size, mtime_ns, tags)
        if progress is not None:
            progress(total, total, "")
        removed = self._forget(set(known) - set(found), set(bad) - set(found))
        with self._lock:
            unreadable = self._db.execute("SELECT COUNT(*) FROM unreadable").fetchone()[0]
        return ScanReport(
            files=len(found),
            added=counts["added"],
            updated=counts["updated"],
            removed=removed,
            unchanged=unchanged,
            unreadable=unreadable,
            missing_folders=missing,
            duration_s=round(time.monotonic() - started, 3),
        )

    def track(self, track_id: int) -> Track | None:
        with self._lock:
            row = self._db.execute(f"SELECT {_COLUMNS} FROM tracks WHERE id = ?", (track_id,)).fetchone()
        return None if row is None else Track(*row)

    def tracks(self, track_ids: list[int]) -> list[Track]:
        """The tracks with these ids, in the order given; unknown ids are left out."""
        found = {}
        with self._lock:
            for start in range(0, len(track_ids), 500):
                chunk = track_ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for row in self._db.execute(f"SELECT {_COLUMNS} FROM tracks WHERE id IN ({marks})", chunk):
                    found[row[0]] = Track(*row)
        return [found[i] for i in track_ids if i in found]

    def by_path(self, path: str) -> Track | None:
        with self._lock:
            row = self._db.execute(f"SELECT {_COLUMNS} FROM tracks WHERE path = ?", (path,)).fetchone()
        return None if row is None else Track(*row)

    def iter_tracks(self) -> Iterator[Track]:
        """Every track, ordered by album artist, album, track number."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM tracks ORDER BY album_artist, album, track_number, title"
            ).fetchall()
        return (Track(*row) for row in rows)

    def all_ids(self) -> list[int]:
        with self._lock:
            return [row[0] for row in self._db.execute(
                "SELECT id FROM tracks ORDER BY album_artist, album, track_number, title"
            )]

    def durations(self, track_ids: list[int]) -> dict[int, float]:
        return {track.id: track.duration_s for track in self.tracks(track_ids)}

    def counts(self) -> dict[str, int]:
        with self._lock:
            tracks = self._db.execute("SELECT COUNT(*) FROM tracks").fetchone()[0]
            unreadable = self._db.execute("SELECT COUNT(*) FROM unreadable").fetchone()[0]
        return {"tracks": tracks, "unreadable": unreadable}

    def search_rows(self) -> list[tuple[int, str, str, str, str, str]]:
        """(id, title, artist, album, album_artist, genre) of every track, for fuzzy search."""
        with self._lock:
            return self._db.execute(
                "SELECT id, title, artist, album, album_artist, genre FROM tracks "
                "ORDER BY album_artist, album, track_number, title"
            ).fetchall()

    def _store_track(self, path: str, size: int, mtime_ns: int, tags: Any) -> None:
        self._db.execute("DELETE FROM unreadable WHERE path = ?", (path,))
        self._db.execute(
            "INSERT INTO tracks (path, size, mtime_ns, title, artist, album, album_artist, genre,"
            " track_number, duration_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(path) DO UPDATE SET size=excluded.size, mtime_ns=excluded.mtime_ns,"
            " title=excluded.title, artist=excluded.artist, album=excluded.album,"
            " album_artist=excluded.album_artist, genre=excluded.genre,"
            " track_number=excluded.track_number, duration_s=excluded.duration_s",
            (path, size, mtime_ns, tags.title, tags.artist, tags.album, tags.album_artist,
             tags.genre, tags.track_number, tags.duration_s),
        )

    def _store_unreadable(self, path: str, size: int, mtime_ns: int, reason: str) -> None:
        log.info("skipping unreadable music file %s: %s", path, reason)
        # Track ids stay stable: a file that turned unreadable leaves the index.
        self._db.execute("DELETE FROM tracks WHERE path = ?", (path,))
        self._db.execute(
            "INSERT OR REPLACE INTO unreadable (path, size, mtime_ns, reason) VALUES (?, ?, ?, ?)",
            (path, size, mtime_ns, reason),
        )

    def _forget(self, tracks: set[str], unreadable: set[str]) -> int:
        with self._lock, self._db:
            self._db.executemany("DELETE FROM tracks WHERE path = ?", [(p,) for p in tracks])
            self._db.executemany("DELETE FROM unreadable WHERE path = ?", [(p,) for p in unreadable])
        return len(tracks)


def _walk(folder: Path) -> Iterator[tuple[str, tuple[int, int]]]:
    """(path, (size, mtime_ns)) of every audio file below `folder`; unreadable folders skipped."""
    stack = [str(folder)]
    seen: set[tuple[int, int]] = set()  # (device, inode): a symlink loop is walked once
    while stack:
        current = stack.pop()
        try:
            info = os.stat(current)
            if (info.st_dev, info.st_ino) in seen:
                continue
            seen.add((info.st_dev, info.st_ino))
            entries = list(os.scandir(current))
        except OSError as error:
            log.warning("cannot list music folder %s: %s", current, error.strerror)
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=True):
                    stack.append(entry.path)
                elif os.path.splitext(entry.name)[1].lower() in AUDIO_EXTENSIONS:
                    stat = entry.stat(follow_symlinks=True)
                    yield entry.path, (stat.st_size, stat.st_mtime_ns)
            except OSError:
                continue


def _signatures(db: sqlite3.Connection, table: str) -> dict[str, tuple[int, int]]:
    return {path: (size, mtime) for path, size, mtime in db.execute(f"SELECT path, size, mtime_ns FROM {table}")}


def _read(path: str) -> Any:
    """The file's tags, or a string saying why it cannot be read."""
    try:
        return read_tags(Path(path))
    except UnreadableFile as error:
        return str(error)
    except Exception as error:  # noqa: BLE001 - a library bug on one file must not stop a scan
        log.warning("tag reader failed on %s", path, exc_info=True)
        return f"{type(error).__name__}: {error}"
