"""Named playlists kept in the music database, with M3U import and export.

Items are stored as file paths, not track ids, so a playlist outlives a rebuilt index.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from assistant.services.music.errors import MusicError

MAX_NAME_LENGTH = 100


@dataclass(frozen=True)
class ImportReport:
    """How an M3U import went; `missing` entries name files that are not in the library."""

    name: str
    added: int
    missing: list[str]


class Playlists:
    """Create, fill, list, delete, import and export playlists."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection
        self._lock = threading.Lock()

    def names(self) -> list[tuple[str, int]]:
        """(name, number of items) of every playlist, by name."""
        with self._lock:
            return self._db.execute(
                "SELECT p.name, COUNT(i.path) FROM playlists p LEFT JOIN playlist_items i"
                " ON i.playlist_id = p.id GROUP BY p.id ORDER BY p.name COLLATE NOCASE"
            ).fetchall()

    def create(self, name: str) -> str:
        """Create an empty playlist (an existing one is kept); returns the stored name."""
        name = _clean(name)
        with self._lock, self._db:
            self._db.execute("INSERT OR IGNORE INTO playlists (name) VALUES (?)", (name,))
            return str(self._db.execute("SELECT name FROM playlists WHERE name = ?", (name,)).fetchone()[0])

    def delete(self, name: str) -> None:
        with self._lock, self._db:
            deleted = self._db.execute("DELETE FROM playlists WHERE name = ?", (name,)).rowcount
        if not deleted:
            raise MusicError(f"there is no playlist named {name!r}")

    def add(self, name: str, paths: list[str]) -> int:
        """Append files to playlist `name` (created if needed); returns its new length."""
        stored = self.create(name)
        with self._lock, self._db:
            playlist_id, end = self._db.execute(
                "SELECT p.id, COALESCE(MAX(i.position) + 1, 0) FROM playlists p LEFT JOIN"
                " playlist_items i ON i.playlist_id = p.id WHERE p.name = ? GROUP BY p.id",
                (stored,),
            ).fetchone()
            self._db.executemany(
                "INSERT INTO playlist_items (playlist_id, position, path) VALUES (?, ?, ?)",
                [(playlist_id, end + offset, path) for offset, path in enumerate(paths)],
            )
            return int(end + len(paths))

    def paths(self, name: str) -> list[str]:
        with self._lock:
            row = self._db.execute("SELECT id FROM playlists WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise MusicError(f"there is no playlist named {name!r}; say \"list playlists\"")
            return [path for (path,) in self._db.execute(
                "SELECT path FROM playlist_items WHERE playlist_id = ? ORDER BY position", (row[0],)
            )]

    def import_m3u(self, file: Path, known: set[str], name: str | None = None) -> ImportReport:
        """Read an M3U/M3U8 file into playlist `name` (default: the file's name)."""
        entries = read_m3u(file)
        found = [path for path in entries if path in known]
        missing = [path for path in entries if path not in known]
        stored = self.create(name or file.stem)
        self.add(stored, found)
        return ImportReport(name=stored, added=len(found), missing=missing)

    def export_m3u(self, name: str, file: Path, titles: dict[str, tuple[str, str, float]]) -> int:
        """Write playlist `name` as extended M3U (UTF-8); `titles` gives path -> (artist, title, seconds)."""
        paths = self.paths(name)
        lines = ["#EXTM3U"]
        for path in paths:
            if path in titles:
                artist, title, seconds = titles[path]
                label = f"{artist} - {title}" if artist else title
                lines.append(f"#EXTINF:{int(round(seconds))},{label}")
            lines.append(path)
        try:
            file.write_text("\n".join(lines) + "\n", encoding="utf-8")
        except OSError as error:
            raise MusicError(f"{file}: cannot write playlist: {error.strerror}") from None
        return len(paths)


def read_m3u(file: Path) -> list[str]:
    """Absolute paths of the entries of an M3U file; relative ones are taken from its folder."""
    try:
        raw = file.read_bytes()
    except OSError as error:
        raise MusicError(f"{file}: cannot read playlist: {error.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # plain .m3u files predate UTF-8
    paths = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "://" in line:
            continue
        path = Path(line).expanduser()
        if not path.is_absolute():
            path = file.parent / path
        paths.append(str(path.resolve()))
    return paths


def _clean(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise MusicError("a playlist needs a name")
    if len(name) > MAX_NAME_LENGTH:
        raise MusicError(f"a playlist name may have at most {MAX_NAME_LENGTH} characters")
    return name
