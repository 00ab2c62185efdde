"""Reading a music file's tags and duration with mutagen, with the file name as fallback."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

AUDIO_EXTENSIONS = frozenset({".mp3", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".mp4", ".wav"})

# Tag names as mutagen's "easy" interfaces spell them, and the ID3 frame that
# holds the same thing in files (WAV) for which mutagen has no easy interface.
_FIELDS = {
    "title": "TIT2",
    "artist": "TPE1",
    "album": "TALB",
    "albumartist": "TPE2",
    "genre": "TCON",
    "tracknumber": "TRCK",
}
_ARTIST_TITLE = re.compile(r"^\s*(?:\d+[\s.\-_]+)?(?P<artist>.+?)\s+-\s+(?P<title>.+?)\s*$")


class UnreadableFile(Exception):
    """A file that mutagen cannot parse as audio; the message says why."""


@dataclass(frozen=True)
class TrackTags:
    """What the library stores about one file's content."""

    title: str
    artist: str
    album: str
    album_artist: str
    genre: str
    track_number: int | None
    duration_s: float


def read_tags(path: Path) -> TrackTags:
    """Tags of `path`; missing title/artist come from the name ("Artist - Title.mp3")."""
    import mutagen

    try:
        audio = mutagen.File(str(path), easy=True)
    except (mutagen.MutagenError, OSError, ValueError, IndexError, KeyError, EOFError) as error:
        raise UnreadableFile(f"{type(error).__name__}: {error}") from None
    if audio is None:
        raise UnreadableFile("not a recognised audio format")
    duration_s = float(getattr(audio.info, "length", 0.0) or 0.0)
    if duration_s <= 0:
        raise UnreadableFile("no audio stream or zero length")
    values = {name: _first(audio.tags, name, frame) for name, frame in _FIELDS.items()}
    title, artist = values["title"], values["artist"]
    if not title:
        named_artist, title = _from_file_name(path)
        artist = artist or named_artist
    return TrackTags(
        title=title,
        artist=artist,
        album=values["album"],
        album_artist=values["albumartist"] or artist,
        genre=values["genre"],
        track_number=_track_number(values["tracknumber"]),
        duration_s=duration_s,
    )


def _first(tags: Any, name: str, frame: str) -> str:
    if tags is None:
        return ""
    try:
        value = tags.get(name) or tags.get(frame)
    except (KeyError, ValueError):
        value = None
    if value is None:
        return ""
    if hasattr(value, "text"):  # a raw ID3 frame
        value = value.text
    if isinstance(value, list | tuple):
        value = value[0] if value else ""
    return str(value).strip()


def _from_file_name(path: Path) -> tuple[str, str]:
    """("Artist", "Title") from "Artist - Title", else ("", the name without extension)."""
    match = _ARTIST_TITLE.match(path.stem)
    if match:
        return match["artist"], match["title"]
    return "", path.stem.replace("_", " ").strip()


def _track_number(value: str) -> int | None:
    """ "3", "03/12" -> 3."""
    head = value.split("/", 1)[0].strip()
    return int(head) if head.isdigit() else None
