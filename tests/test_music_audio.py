"""Real music files for the music tests: short tones encoded by ffmpeg, tagged by ffmpeg or mutagen.

Other music test modules import `make_library`; the files are made once per
session and copied, so each test gets a library of its own in a few milliseconds.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

# (relative path, seconds, tone Hz, ffmpeg codec arguments, tags written by ffmpeg)
SONGS: list[tuple[str, float, int, list[str], dict[str, str]]] = [
    ("The Beatles/Abbey Road/07 Here Comes the Sun.mp3", 2.0, 440, ["-c:a", "libmp3lame"],
     {"title": "Here Comes the Sun", "artist": "The Beatles", "album": "Abbey Road",
      "album_artist": "The Beatles", "genre": "Rock", "track": "7/17"}),
    ("The Beatles/Help!/13 Yesterday.flac", 1.5, 550, ["-c:a", "flac"], {}),
    ("Boyz II Men/Yesterday.ogg", 1.5, 660, ["-c:a", "libvorbis"],
     {"title": "Yesterday", "artist": "Boyz II Men", "album": "II", "genre": "R&B"}),
    ("Sigur Rós/Hoppípolla.opus", 1.0, 330, ["-c:a", "libopus"],
     {"title": "Hoppípolla", "artist": "Sigur Rós", "album": "Takk...", "genre": "Post-rock"}),
    ("Café Tacvba/Ünïcödé Sóng.m4a", 1.0, 770, ["-c:a", "aac"],
     {"title": "Ünïcödé Sóng", "artist": "Café Tacvba", "album": "Re", "genre": "Jazz"}),
    ("Miles Davis - So What.mp3", 1.0, 880, ["-c:a", "libmp3lame"], {}),
    ("untagged.wav", 1.0, 220, ["-c:a", "pcm_s16le"], {}),
]
CORRUPT = "broken.mp3"
PLAYABLE = len(SONGS)

_made: Path | None = None


def make_tone(path: Path, seconds: float, hz: int, codec: list[str], tags: dict[str, str]) -> None:
    """Encode a sine tone to `path` with ffmpeg, writing `tags` as metadata."""
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = [arg for key, value in tags.items() for arg in ("-metadata", f"{key}={value}")]
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi",
         "-i", f"sine=frequency={hz}:duration={seconds}", "-ac", "2", *codec, *metadata, str(path)],
        check=True,
    )


def make_library(dest: Path) -> Path:
    """Copy the test library (made on first use) into `dest` and return `dest`."""
    global _made
    if _made is None:
        folder = Path(tempfile.mkdtemp(prefix="music-fixture-"))
        for relative, seconds, hz, codec, tags in SONGS:
            make_tone(folder / relative, seconds, hz, codec, tags)
        _tag_with_mutagen(folder / SONGS[1][0])
        (folder / CORRUPT).write_bytes(b"this is not an mp3 file\n" * 200)
        _made = folder
    shutil.copytree(_made, dest, dirs_exist_ok=True)
    return dest


def _tag_with_mutagen(path: Path) -> None:
    from mutagen.flac import FLAC

    audio = FLAC(str(path))
    audio.update({"title": "Yesterday", "artist": "The Beatles", "album": "Help!",
                  "genre": "Pop", "tracknumber": "13"})
    audio.save()


def test_made_files_are_real_audio_with_tags(tmp_path: Path) -> None:
    import mutagen

    folder = make_library(tmp_path)
    sun = mutagen.File(str(folder / SONGS[0][0]), easy=True)
    assert sun.tags["title"] == ["Here Comes the Sun"]
    assert sun.info.length == pytest.approx(2.0, abs=0.1)
    flac = mutagen.File(str(folder / SONGS[1][0]), easy=True)
    assert flac.tags["artist"] == ["The Beatles"]
    assert mutagen.File(str(folder / "untagged.wav")) is not None
    assert len(list(folder.rglob("*.*"))) == PLAYABLE + 1
