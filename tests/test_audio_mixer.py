"""assistant.audio.mixer: music and speech through one output, the music ducked under speech.

The null output keeps a sound card's pace and hands every mixed block to a recorder; the
music's and the speech's share of each block is measured at their own frequencies.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from assistant.audio.mixer import BLOCK_FRAMES, CHANNELS, SAMPLE_RATE_HZ, Mixer
from assistant.audio.sinks import open_sink
from assistant.config import MusicSettings
from assistant.home import Home
from assistant.services.music import MusicService
from test_music_audio import make_library

MUSIC_HZ, SPEECH_HZ, VOICE_RATE_HZ = 1000.0, 300.0, 22050


class Recorder:
    def __init__(self) -> None:
        self.blocks: list[np.ndarray] = []

    def __call__(self, block: np.ndarray) -> None:
        self.blocks.append(block.copy())


def level(block: np.ndarray, hz: float) -> float:
    """Amplitude of the `hz` sine in the left channel of a block (Hann-windowed, so that the
    other sine does not leak into it)."""
    t = np.arange(len(block)) / SAMPLE_RATE_HZ
    window = np.hanning(len(block))
    left = block[:, 0].astype(np.float64) * window
    return float(2 * abs(left @ np.exp(-2j * np.pi * hz * t)) / window.sum())


def music_chunks(seconds: float, amplitude: float = 0.5) -> Iterator[np.ndarray]:
    t = np.arange(int(seconds * SAMPLE_RATE_HZ)) / SAMPLE_RATE_HZ
    wave = (amplitude * np.sin(2 * np.pi * MUSIC_HZ * t)).astype(np.float32)
    stereo = np.repeat(wave[:, None], CHANNELS, axis=1)
    for start in range(0, len(stereo), 4410):
        yield stereo[start : start + 4410]


def voice(seconds: float, amplitude: int = 8000) -> np.ndarray:
    t = np.arange(int(seconds * VOICE_RATE_HZ)) / VOICE_RATE_HZ
    return (amplitude * np.sin(2 * np.pi * SPEECH_HZ * t)).astype(np.int16)


def wait_for(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def play_music(mixer: Mixer, seconds: float) -> threading.Thread:
    def run() -> None:
        cancelled = threading.Event()
        mixer.music.open()
        for chunk in music_chunks(seconds):
            mixer.music.write(chunk, cancelled)
        mixer.music.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_music_plays_on_under_a_reply_at_the_duck_gain_and_comes_back_after() -> None:
    recorder = Recorder()
    mixer = Mixer("null", duck_gain=0.25, tap=recorder)
    music = play_music(mixer, 6.0)
    wait_for(lambda: len(recorder.blocks) > 20)
    mixer.speech.play(voice(0.8), VOICE_RATE_HZ)  # resampled to the mixer's rate
    music.join(timeout=20)
    mixer.close()

    speech = [level(b, SPEECH_HZ) > 0.1 for b in recorder.blocks]
    first = speech.index(True)
    last = len(speech) - 1 - speech[::-1].index(True)
    assert (last - first + 1) * BLOCK_FRAMES / SAMPLE_RATE_HZ == pytest.approx(0.8, abs=0.05)
    full = level(recorder.blocks[first - 5], MUSIC_HZ)
    assert full == pytest.approx(0.5, rel=0.05)
    during = [level(b, MUSIC_HZ) for b in recorder.blocks[first + 1 : last]]
    assert during and all(m == pytest.approx(0.5 * 0.25, rel=0.05) for m in during)
    assert all(level(b, SPEECH_HZ) == pytest.approx(8000 / 32768, rel=0.05) for b in recorder.blocks[first + 1 : last])
    after = [level(b, MUSIC_HZ) for b in recorder.blocks[last + 25 : -2]]  # past the hold
    assert after and all(m == pytest.approx(0.5, rel=0.05) for m in after)
    # The music never stopped: all 6 s of it were heard, under the speech too.
    assert len(recorder.blocks) * BLOCK_FRAMES / SAMPLE_RATE_HZ == pytest.approx(6.0, abs=0.1)


def test_barge_in_stops_the_speech_and_the_music_plays_on() -> None:
    recorder = Recorder()
    mixer = Mixer("null", duck_gain=0.25, tap=recorder)
    music = play_music(mixer, 4.0)
    wait_for(lambda: len(recorder.blocks) > 10)
    mixer.speech.play(voice(5.0), VOICE_RATE_HZ)
    wait_for(lambda: any(level(b, SPEECH_HZ) > 0.1 for b in recorder.blocks[-3:]))
    mixer.speech.stop()
    stopped_at = len(recorder.blocks)
    music.join(timeout=20)
    mixer.close()
    assert not any(level(b, SPEECH_HZ) > 0.01 for b in recorder.blocks[stopped_at + 2 :])
    assert all(level(b, MUSIC_HZ) > 0.1 for b in recorder.blocks[stopped_at + 2 : -2])
    assert len(recorder.blocks) * BLOCK_FRAMES / SAMPLE_RATE_HZ == pytest.approx(4.0, abs=0.1)


def test_ducked_while_listening_without_speech() -> None:
    recorder = Recorder()
    mixer = Mixer("null", duck_gain=0.3, tap=recorder)
    music = play_music(mixer, 1.5)
    wait_for(lambda: len(recorder.blocks) > 10)
    mixer.duck(True)
    ducked_at = len(recorder.blocks)
    wait_for(lambda: len(recorder.blocks) > ducked_at + 12)
    mixer.duck(False)
    music.join(timeout=20)
    mixer.close()
    # Ducking acts at the mix, not on the music queued ahead: within two blocks.
    assert level(recorder.blocks[ducked_at + 3], MUSIC_HZ) == pytest.approx(0.15, rel=0.05)


def test_the_music_player_and_a_spoken_reply_share_one_output(tmp_path: Path) -> None:
    """The real player decodes a real song into the mixer while a reply is spoken through it."""
    recorder = Recorder()
    mixer = Mixer("null", duck_gain=0.25, tap=recorder)
    settings = MusicSettings(folders=[str(make_library(tmp_path / "Music"))], duck_volume=0.25)
    music = MusicService(Home(tmp_path / "home").ensure(), settings, mixer)
    music.scan()
    try:
        music.set_volume(100)
        music.play(music.library.all_ids())
        wait_for(lambda: len(recorder.blocks) > 20)
        loud = max(float(np.abs(b).max()) for b in recorder.blocks[-10:])
        assert loud > 0.05
        speaker = open_sink("speaker", mixer=mixer)  # what `listen` and `say` are given
        speaker.play(np.zeros(int(0.6 * VOICE_RATE_HZ), np.int16), VOICE_RATE_HZ)  # a silent reply
        start = len(recorder.blocks)
        wait_for(lambda: len(recorder.blocks) > start + 20)
        under = max(float(np.abs(b).max()) for b in recorder.blocks[start + 4 : start + 20])
        assert under == pytest.approx(loud * 0.25, rel=0.3)
        assert music.status()["state"] == "playing"
        wait_for(lambda: len(recorder.blocks) > start + 60)
        back = max(float(np.abs(b).max()) for b in recorder.blocks[-10:])
        assert back == pytest.approx(loud, rel=0.3)
        assert music.status()["state"] == "playing"
    finally:
        music.close()
        mixer.close()


def test_each_sentence_says_when_it_reaches_the_device_and_a_stop_forgets_the_rest() -> None:
    """`on_start` comes with the block that holds the sentence's first sample (an echo canceller
    places its reference then): the second sentence, queued at once, starts where the first ends;
    sentences dropped by `stop` never start."""
    recorder = Recorder()
    mixer = Mixer("null", tap=recorder)
    told: list[tuple[int, float]] = []

    def on_start(offset_s: float) -> None:
        told.append((len(recorder.blocks), offset_s))  # blocks written before this one

    try:
        mixer.speech.play(voice(0.5), VOICE_RATE_HZ, on_start)
        mixer.speech.play(voice(0.3), VOICE_RATE_HZ, on_start)
        wait_for(lambda: len(told) == 2)
        first_block, first_offset = told[0]
        second_block, second_offset = told[1]
        assert first_offset == 0.0
        # The second starts 0.5 s of frames after the first: in block 0.5 * 44100 // 1024 after it.
        start = first_block * BLOCK_FRAMES + round(0.5 * SAMPLE_RATE_HZ)
        assert second_block == start // BLOCK_FRAMES
        assert abs(second_offset * SAMPLE_RATE_HZ - start % BLOCK_FRAMES) <= 1
        mixer.speech.play(voice(2.0), VOICE_RATE_HZ, on_start)
        mixer.speech.play(voice(1.0), VOICE_RATE_HZ, on_start)
        wait_for(lambda: len(told) == 3)
        mixer.speech.stop()
        time.sleep(0.3)
        assert len(told) == 3, "a sentence dropped by stop was told as started"
    finally:
        mixer.close()
