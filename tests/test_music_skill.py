"""The music_player skill through the brain (lexical NLU, real worker processes, null output)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.config import MusicSettings
from assistant.services.music import MusicService
from test_music_audio import make_library


@pytest.fixture
def chat(lexical_app: Any, tmp_path: Path) -> Iterator[Any]:
    """A `say(text) -> turn dict` function talking to a brain whose music plays to nowhere."""
    settings = MusicSettings(folders=[str(make_library(tmp_path / "Music"))])
    service = MusicService(lexical_app.home, settings, "null")
    service.scan()
    lexical_app.services().add("music", lambda: service)
    session = lexical_app.open_session()

    def say(text: str) -> dict[str, Any]:
        return session.handle(text).to_json()

    say.music = service  # type: ignore[attr-defined]
    yield say
    service.close()


def state(turn: dict[str, Any]) -> dict[str, Any]:
    assert "music" in turn["data"], turn
    return turn["data"]["music"]


def test_play_a_song_by_title_and_artist(chat: Any) -> None:
    turn = chat("play here comes the sun by the beatles")
    assert (turn["skill"], turn["action"]) == ("music_player", "play")
    assert state(turn)["state"] == "playing"
    assert state(turn)["track"]["title"] == "Here Comes the Sun"
    assert "Here Comes the Sun" in turn["reply"]


def test_an_ambiguous_title_is_asked_back_and_the_answer_needs_no_wake_word(chat: Any) -> None:
    question = chat("play yesterday")
    assert question["expects_reply"] is True
    assert "The Beatles" in question["reply"] and "Boyz II Men" in question["reply"]
    answer = chat("the one by boyz ii men")
    assert answer["action"] == "choose"
    assert state(answer)["track"]["artist"] == "Boyz II Men"


def test_artist_album_genre_and_shuffle_everything(chat: Any) -> None:
    assert state(chat("play some music"))["shuffle"] is True
    assert state(chat("play songs by sigur ros"))["track"]["artist"] == "Sigur Rós"
    assert state(chat("play the album abbey road"))["track"]["album"] == "Abbey Road"
    assert state(chat("put on some jazz"))["track"]["title"] == "Ünïcödé Sóng"


def test_transport_pause_resume_next_previous_restart_stop(chat: Any) -> None:
    chat("play the beatles")
    time.sleep(0.3)
    paused = state(chat("pause the music"))
    assert paused["state"] == "paused"
    time.sleep(0.3)
    resumed = state(chat("resume"))
    assert resumed["state"] == "playing"
    assert resumed["position_s"] == pytest.approx(paused["position_s"], abs=0.1)
    first = resumed["track"]["title"]
    assert state(chat("next song"))["track"]["title"] != first
    assert state(chat("previous song"))["track"]["title"] == first
    assert state(chat("start this song again"))["position_s"] < 0.2
    assert state(chat("stop the music"))["state"] == "stopped"


def test_volume_mute_and_what_is_playing(chat: Any) -> None:
    chat("play hoppipolla")
    assert state(chat("set the volume to 30 percent"))["volume"] == 30
    assert state(chat("turn it up"))["volume"] == 40
    assert state(chat("make it quieter"))["volume"] == 30
    assert state(chat("mute"))["muted"] is True
    assert state(chat("unmute"))["muted"] is False
    turn = chat("who sings this")
    assert turn["action"] == "now_playing" and "Sigur Rós" in turn["reply"]


def test_shuffle_repeat_queue_and_play_next(chat: Any) -> None:
    chat("play so what")
    assert state(chat("turn shuffle on"))["shuffle"] is True
    assert state(chat("shuffle off"))["shuffle"] is False
    assert state(chat("repeat this song"))["repeat"] == "one"
    assert state(chat("repeat off"))["repeat"] == "off"
    assert state(chat("add here comes the sun to the queue"))["queue_length"] == 2
    assert state(chat("play hoppipolla next"))["queue_length"] == 3
    titles = [t["title"] for t in chat.music.tracks(chat.music.player.queue())]
    assert titles == ["So What", "Hoppípolla", "Here Comes the Sun"]


def test_playlists_made_filled_listed_and_played(chat: Any) -> None:
    assert chat("make a playlist called road trip")["action"] == "create_playlist"
    chat("play here comes the sun by the beatles")
    added = chat("add this song to road trip")
    assert added["action"] == "add_to_playlist"
    assert "road trip" in added["reply"] and "Here Comes the Sun" in added["reply"]
    listing = chat("list my playlists")
    assert listing["data"]["playlists"] == [{"name": "road trip", "tracks": 1}]
    chat("stop")
    played = chat("play the playlist road trip")
    assert state(played)["state"] == "playing"
    assert state(played)["track"]["title"] == "Here Comes the Sun"


def test_unknown_music_is_said_not_raised(chat: Any) -> None:
    turn = chat("play xqzvw kkrrpt")
    assert turn["skill"] == "music_player"
    assert "couldn't find" in turn["reply"] or "nothing called" in turn["reply"]
