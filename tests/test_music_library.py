"""The music library: tags, file-name fallback, corrupt files, incremental rescans, progress."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assistant.services.music.db import connect
from assistant.services.music.library import Library
from assistant.services.music.tags import UnreadableFile, read_tags
from test_music_audio import CORRUPT, PLAYABLE, make_library


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return make_library(tmp_path / "Music")


@pytest.fixture
def library(tmp_path: Path) -> Library:
    return Library(connect(tmp_path / "music.sqlite3"))


def _by_title(library: Library) -> dict[str, object]:
    return {track.title: track for track in library.iter_tracks()}


def test_first_scan_indexes_every_playable_file_and_counts_the_corrupt_one(folder: Path, library: Library) -> None:
    report = library.scan([folder])
    assert (report.files, report.added, report.unreadable) == (PLAYABLE + 1, PLAYABLE, 1)
    assert library.counts() == {"tracks": PLAYABLE, "unreadable": 1}


def test_tags_come_from_the_file(folder: Path, library: Library) -> None:
    library.scan([folder])
    tracks = _by_title(library)
    sun = tracks["Here Comes the Sun"]
    assert (sun.artist, sun.album, sun.album_artist, sun.genre, sun.track_number) == (
        "The Beatles", "Abbey Road", "The Beatles", "Rock", 7)
    assert sun.duration_s == pytest.approx(2.0, abs=0.1)
    assert tracks["Yesterday"].album in {"Help!", "II"}
    assert tracks["Hoppípolla"].artist == "Sigur Rós"
    assert tracks["Ünïcödé Sóng"].genre == "Jazz"


def test_untagged_files_are_named_after_the_file(folder: Path, library: Library) -> None:
    library.scan([folder])
    tracks = _by_title(library)
    assert tracks["So What"].artist == "Miles Davis"
    assert tracks["untagged"].artist == ""


def test_a_corrupt_file_is_reported_as_unreadable_not_raised(folder: Path) -> None:
    with pytest.raises(UnreadableFile):
        read_tags(folder / CORRUPT)


def test_rescan_with_nothing_changed_reads_nothing(folder: Path, library: Library) -> None:
    library.scan([folder])
    calls: list[int] = []
    report = library.scan([folder], progress=lambda done, total, path: calls.append(total))
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 0, 0, PLAYABLE + 1)
    assert calls == [0]


def test_rescan_picks_up_changed_added_and_removed_files_and_keeps_ids(folder: Path, library: Library) -> None:
    library.scan([folder])
    before = {t.title: t.id for t in library.iter_tracks()}
    sun = folder / "The Beatles/Abbey Road/07 Here Comes the Sun.mp3"
    os.utime(sun, ns=(1_000_000_000, 1_000_000_000))
    (folder / "untagged.wav").rename(folder / "Nina Simone - Feeling Good.wav")
    (folder / "Miles Davis - So What.mp3").unlink()

    report = library.scan([folder])

    assert (report.added, report.updated, report.removed) == (1, 1, 2)
    after = {t.title: t.id for t in library.iter_tracks()}
    assert after["Here Comes the Sun"] == before["Here Comes the Sun"]
    assert "Feeling Good" in after and "So What" not in after


def test_a_repaired_file_leaves_the_unreadable_list(folder: Path, library: Library) -> None:
    library.scan([folder])
    (folder / CORRUPT).write_bytes((folder / "Miles Davis - So What.mp3").read_bytes())
    report = library.scan([folder])
    assert report.unreadable == 0
    assert library.by_path(str(folder / CORRUPT)) is not None


def test_progress_counts_up_to_the_files_read(folder: Path, library: Library) -> None:
    seen: list[tuple[int, int]] = []
    library.scan([folder], progress=lambda done, total, path: seen.append((done, total)))
    assert seen[0] == (0, PLAYABLE + 1)
    assert seen[-1] == (PLAYABLE + 1, PLAYABLE + 1)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_a_missing_folder_is_reported(tmp_path: Path, library: Library) -> None:
    report = library.scan([tmp_path / "nowhere"])
    assert report.missing_folders == [str(tmp_path / "nowhere")]
    assert report.files == 0


def test_a_symlink_loop_is_walked_once(folder: Path, library: Library) -> None:
    (folder / "The Beatles" / "loop").symlink_to(folder, target_is_directory=True)
    assert library.scan([folder]).added == PLAYABLE


def test_a_damaged_database_is_a_clear_error(tmp_path: Path) -> None:
    from assistant.services.music.errors import MusicError

    damaged = tmp_path / "music.sqlite3"
    damaged.write_bytes(b"not a database at all" * 100)
    with pytest.raises(MusicError, match="cannot open the music database.*music scan"):
        connect(damaged)
