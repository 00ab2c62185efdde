"""The player through the MusicService facade, on the null output, with real decoded files."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from assistant.audio.mixer import Mixer
from assistant.config import MusicSettings
from assistant.home import Home
from assistant.services.music import MusicService
from test_music_audio import make_library


def wait_for(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return Home(tmp_path / "home").ensure()


@pytest.fixture
def settings(tmp_path: Path) -> MusicSettings:
    return MusicSettings(folders=[str(make_library(tmp_path / "Music"))], duck_volume=0.25)


@pytest.fixture
def music(home: Home, settings: MusicSettings) -> Iterator[MusicService]:
    service = MusicService(home, settings, "null")
    service.scan()
    yield service
    service.close()


def ids(music: MusicService, *titles: str) -> list[int]:
    by_title = {t["title"]: t["id"] for t in music.tracks(music.library.all_ids())}
    return [by_title[title] for title in titles]


def test_play_reports_the_track_and_the_position_follows_the_clock(music: MusicService) -> None:
    started = time.monotonic()
    status = music.play(ids(music, "Here Comes the Sun"))
    assert status["state"] == "playing"
    assert status["track"]["title"] == "Here Comes the Sun"
    assert status["track"]["artist"] == "The Beatles"
    time.sleep(0.4)
    position = music.status()["position_s"]
    # Never ahead of the wall clock, and not far behind it (a loaded machine may sleep longer).
    assert 0.3 <= position <= time.monotonic() - started + 0.05
    wait_for(lambda: music.player.start_latency_s() is not None)


def test_pause_then_resume_continues_from_the_same_position(music: MusicService) -> None:
    music.play(ids(music, "Here Comes the Sun"))
    time.sleep(0.5)
    paused = music.pause()
    time.sleep(0.4)
    assert paused["state"] == "paused"
    assert music.status()["position_s"] == paused["position_s"]
    resumed = music.resume()
    assert resumed["state"] == "playing"
    assert resumed["position_s"] == pytest.approx(paused["position_s"], abs=0.05)


def test_a_song_ends_after_its_duration_and_the_next_one_starts(music: MusicService) -> None:
    music.play(ids(music, "So What", "untagged"))
    wait_for(lambda: music.status()["queue_index"] == 1, timeout_s=10.0)
    assert music.status()["track"]["title"] == "untagged"
    wait_for(lambda: music.status()["state"] == "stopped", timeout_s=10.0)


def test_next_previous_and_restart(music: MusicService) -> None:
    music.play(ids(music, "Here Comes the Sun", "Yesterday", "So What"))
    assert music.next()["track"]["title"] == "Yesterday"
    assert music.previous()["track"]["title"] == "Here Comes the Sun"
    time.sleep(0.3)
    assert music.restart()["position_s"] < 0.1
    music.next()
    music.next()
    assert music.next()["state"] == "stopped"


def test_volume_steps_clamp_and_mute(music: MusicService) -> None:
    assert music.set_volume(40)["volume"] == 40
    assert music.change_volume(10)["volume"] == 50
    assert music.change_volume(-80)["volume"] == 0
    assert music.set_volume(150)["volume"] == 100
    assert music.mute()["muted"] is True
    assert music.unmute()["muted"] is False


def test_shuffle_and_repeat(music: MusicService) -> None:
    everything = music.library.all_ids()
    music.play(everything)
    status = music.set_shuffle(True)
    assert status["shuffle"] is True and status["queue_length"] == len(everything)
    assert sorted(music.player.queue()) == sorted(everything)
    assert music.set_repeat("one")["repeat"] == "one"
    assert music.set_repeat(False)["repeat"] == "off"
    assert music.set_shuffle(False)["shuffle"] is False
    assert music.player.queue() == everything


def test_enqueue_and_play_next(music: MusicService) -> None:
    sun, yesterday, so_what = ids(music, "Here Comes the Sun", "Yesterday", "So What")
    assert music.enqueue([sun])["state"] == "playing"  # an idle player starts
    music.enqueue([yesterday])
    music.enqueue([so_what], play_next=True)
    assert music.player.queue() == [sun, so_what, yesterday]


def test_a_file_broken_after_the_scan_is_skipped(music: MusicService, settings: MusicSettings) -> None:
    sun, so_what = ids(music, "Here Comes the Sun", "So What")
    Path(music.library.track(sun).path).write_bytes(b"garbage" * 1000)
    music.play([sun, so_what])
    wait_for(lambda: music.status()["track"]["title"] == "So What", timeout_s=3.0)
    assert music.status()["state"] == "playing"


def test_a_fresh_service_reports_the_same_state(music: MusicService, home: Home, settings: MusicSettings) -> None:
    music.play(ids(music, "Here Comes the Sun"))
    music.set_volume(33)
    time.sleep(0.3)
    reader = MusicService(home, settings, "null")
    seen = reader.status()
    assert (seen["state"], seen["track"]["title"], seen["volume"]) == ("playing", "Here Comes the Sun", 33)
    assert seen["position_s"] == pytest.approx(music.status()["position_s"], abs=0.1)
    music.pause()
    assert reader.status()["state"] == "paused"


def test_another_process_sees_the_music_play_and_then_pause(tmp_path: Path, home: Home, settings: MusicSettings) -> None:
    MusicService(home, settings, "null").scan()
    script = (
        "import sys, time\n"
        "from assistant.home import Home\nfrom assistant.config import MusicSettings\n"
        "from pathlib import Path\nfrom assistant.services.music import MusicService\n"
        f"s = MusicService(Home(Path({str(home.root)!r})), MusicSettings(folders={settings.folders!r}), 'null')\n"
        "s.play(s.library.all_ids()); print('ready', flush=True); sys.stdin.readline(); s.close()\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        time.sleep(0.3)
        seen = MusicService(home, settings, "null").status()
        assert seen["state"] == "playing" and seen["position_s"] >= 0.2
        assert seen["queue_length"] == len(MusicService(home, settings, "null").library.all_ids())
    finally:
        child.communicate("\n", timeout=10)
    assert MusicService(home, settings, "null").status()["state"] == "paused"


class Peaks:
    """Remembers the peak level of every block the null output plays."""

    def __init__(self) -> None:
        self.peaks: list[float] = []

    def __call__(self, block: np.ndarray) -> None:
        self.peaks.append(float(np.abs(block).max()))


def test_volume_and_ducking_scale_the_audio(home: Home, settings: MusicSettings) -> None:
    sink = Peaks()
    music = MusicService(home, settings, Mixer("null", settings.duck_volume, tap=sink))
    music.scan()
    try:
        music.set_volume(100)
        music.play(ids(music, "Here Comes the Sun"))
        wait_for(lambda: len(sink.peaks) > 10)
        loud = max(sink.peaks[-5:])
        music.duck()
        assert music.status()["ducked"] is True
        count = len(sink.peaks)
        wait_for(lambda: len(sink.peaks) > count + 5)
        assert max(sink.peaks[-3:]) == pytest.approx(loud * 0.25, rel=0.15)
        music.unduck()
        music.mute()
        count = len(sink.peaks)
        wait_for(lambda: len(sink.peaks) > count + 8)  # the music queued ahead is heard first
        assert max(sink.peaks[-3:]) == 0.0
    finally:
        music.close()


def test_an_output_device_that_cannot_open_pauses_instead_of_skipping_everything(
    home: Home, settings: MusicSettings
) -> None:
    music = MusicService(home, settings, "no such device 4711")
    music.scan()
    try:
        status = music.play(music.library.all_ids())
        assert status["state"] == "playing"
        wait_for(lambda: music.status()["state"] == "paused")
        assert music.status()["queue_index"] == 0
    finally:
        music.close()
