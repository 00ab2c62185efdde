"""Decoding every music format to frames (audio.decode.stream: miniaudio, or ffmpeg for opus and m4a), and the outputs."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from assistant.audio.decode import stream
from assistant.audio.mixer import CHANNELS, SAMPLE_RATE_HZ, Mixer
from assistant.errors import AudioError
from test_music_audio import CORRUPT, SONGS, make_library


def decode(path: str, start_s: float = 0.0):  # type: ignore[no-untyped-def]
    return stream(path, SAMPLE_RATE_HZ, CHANNELS, start_s)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_library(tmp_path_factory.mktemp("Music"))


@pytest.mark.parametrize(("relative", "seconds"), [(s[0], s[1]) for s in SONGS], ids=[Path(s[0]).suffix for s in SONGS])
def test_every_format_decodes_to_its_length_in_stereo(folder: Path, relative: str, seconds: float) -> None:
    chunks = list(decode(str(folder / relative)))
    frames = np.concatenate(chunks)
    assert frames.dtype == np.float32 and frames.shape[1] == CHANNELS
    assert len(frames) / SAMPLE_RATE_HZ == pytest.approx(seconds, abs=0.08)
    assert 0.05 < float(np.abs(frames).max()) < 0.2  # the tone (ffmpeg's sine is at most 1/8 of full scale), not silence


@pytest.mark.parametrize("relative", [SONGS[0][0], SONGS[3][0]], ids=["miniaudio", "ffmpeg"])
def test_decoding_can_start_part_way_in(folder: Path, relative: str) -> None:
    whole = sum(len(chunk) for chunk in decode(str(folder / relative)))
    rest = sum(len(chunk) for chunk in decode(str(folder / relative), start_s=0.5))
    assert (whole - rest) / SAMPLE_RATE_HZ == pytest.approx(0.5, abs=0.06)


def test_corrupt_and_missing_files_raise_audio_errors_naming_the_file(folder: Path) -> None:
    with pytest.raises(AudioError, match="broken.mp3: cannot decode"):
        list(decode(str(folder / CORRUPT)))
    with pytest.raises(AudioError, match="absent.mp3: no such audio file"):
        decode(str(folder / "absent.mp3"))


def test_the_null_output_takes_as_long_as_the_audio_lasts() -> None:
    sink = Mixer("null").music
    sink.open()
    started = time.monotonic()
    chunk = np.zeros((4410, CHANNELS), dtype=np.float32)  # 0.1 s
    for _ in range(5):
        sink.write(chunk, threading.Event())
    sink.close()
    assert time.monotonic() - started == pytest.approx(0.5, abs=0.08)


def test_an_unknown_sound_device_is_a_clear_error() -> None:
    """One sentence that says what to do: the name is not a speaker's, or (as on a machine with
    neither a sound server nor a card) there is no sound at all; tests/test_audio_devices.py
    checks each through a real sound server and a dead one."""
    unknown = "no speaker is named or numbered 'no such device 4711'"
    with pytest.raises(AudioError, match=f"({unknown}|no sound server is running).*or play to a file with --output FILE.wav"):
        Mixer("no such device 4711").music.open()
