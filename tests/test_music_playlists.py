"""Playlists: kept across restarts, fuzzy names, M3U import and export."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.config import MusicSettings
from assistant.home import Home
from assistant.services.music import MusicError, MusicService
from assistant.services.music.playlists import read_m3u
from test_music_audio import make_library


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return Home(tmp_path / "home").ensure()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return make_library(tmp_path / "Music")


@pytest.fixture
def music(home: Home, folder: Path) -> Iterator[MusicService]:
    service = MusicService(home, MusicSettings(folders=[str(folder)]), "null")
    service.scan()
    yield service
    service.close()


def titles(music: MusicService, name: str) -> list[str]:
    return [t["title"] for t in music.playlist_tracks(name)]


def _id(music: MusicService, title: str) -> int:
    return next(t["id"] for t in music.tracks(music.library.all_ids()) if t["title"] == title)


def test_playlists_persist_across_services(music: MusicService, home: Home, folder: Path) -> None:
    music.create_playlist("Road Trip")
    music.add_to_playlist("road trip", [_id(music, "So What"), _id(music, "Hoppípolla")])
    again = MusicService(home, MusicSettings(folders=[str(folder)]), "null")
    assert again.playlists() == [{"name": "Road Trip", "tracks": 2}]
    assert titles(again, "Road Trip") == ["So What", "Hoppípolla"]


def test_the_current_song_goes_into_a_playlist_made_on_the_fly(music: MusicService) -> None:
    with pytest.raises(MusicError, match="nothing is playing"):
        music.add_current_to_playlist("Favourites")
    music.play([_id(music, "Here Comes the Sun")])
    added = music.add_current_to_playlist("Favourites")
    assert (added["name"], added["tracks"]) == ("Favourites", 1)


def test_playing_a_playlist_by_a_misheard_name(music: MusicService) -> None:
    music.add_to_playlist("Sunday Morning", [_id(music, "untagged"), _id(music, "So What")])
    status = music.play_playlist("sunday mornings")
    assert (status["playlist"], status["track"]["title"], status["queue_length"]) == ("Sunday Morning", "untagged", 2)
    with pytest.raises(MusicError, match="no playlist named 'heavy metal'.*Sunday Morning"):
        music.play_playlist("heavy metal")


def test_export_then_import_round_trips_with_non_ascii_names(music: MusicService, tmp_path: Path) -> None:
    music.add_to_playlist("Ünïcödé mix", [_id(music, "Ünïcödé Sóng"), _id(music, "Hoppípolla")])
    file = tmp_path / "mix.m3u8"
    assert music.export_m3u("Ünïcödé mix", str(file))["tracks"] == 2
    text = file.read_text(encoding="utf-8")
    assert text.startswith("#EXTM3U\n") and "#EXTINF:1,Sigur Rós - Hoppípolla" in text
    report = music.import_m3u(str(file), "Copy")
    assert (report["name"], report["added"], report["missing"]) == ("Copy", 2, [])
    assert titles(music, "Copy") == ["Ünïcödé Sóng", "Hoppípolla"]


def test_import_resolves_relative_paths_and_reports_missing_files(music: MusicService, folder: Path) -> None:
    file = folder / "party.m3u"
    file.write_text(
        "#EXTM3U\n#EXTINF:2,The Beatles - Here Comes the Sun\n"
        "The Beatles/Abbey Road/07 Here Comes the Sun.mp3\n"
        "gone.mp3\nhttp://radio.example/stream\n\n./Miles Davis - So What.mp3\n",
        encoding="utf-8",
    )
    report = music.import_m3u(str(file))
    assert report["name"] == "party" and report["added"] == 2
    assert report["missing"] == [str(folder.resolve() / "gone.mp3")]
    assert titles(music, "party") == ["Here Comes the Sun", "So What"]


def test_bad_playlist_files_and_names_give_clear_errors(music: MusicService, tmp_path: Path) -> None:
    with pytest.raises(MusicError, match="cannot read playlist"):
        read_m3u(tmp_path / "absent.m3u")
    with pytest.raises(MusicError, match="needs a name"):
        music.create_playlist("   ")
    with pytest.raises(MusicError, match="no playlist named"):
        music.export_m3u("nope", str(tmp_path / "x.m3u"))
