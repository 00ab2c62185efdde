"""assistant.audio.vad: the three detectors on real speech, silence and noise, and inside the listener."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from assistant.audio.decode import load_audio
from assistant.audio.listener import Listener
from assistant.audio.vad import ENGINES, make_vad
from assistant.config import ListenerSettings
from assistant.errors import ModelError

FRAME = 480  # 30 ms


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    path = tmp_path_factory.mktemp("vad") / "speech.wav"
    subprocess.run(["espeak-ng", "-w", str(path), "please set a timer for ten minutes"], check=True)
    return load_audio(path).samples


def frames(audio: np.ndarray) -> list[np.ndarray]:
    return [audio[i : i + FRAME] for i in range(0, len(audio) - FRAME + 1, FRAME)]


def speech_share(engine: str, audio: np.ndarray) -> float:
    vad = make_vad(engine)
    return float(np.mean([vad.is_speech(frame) for frame in frames(audio)]))


@pytest.mark.parametrize("engine", ENGINES)
def test_speech_is_speech_and_silence_is_not(engine: str, speech: np.ndarray) -> None:
    assert speech_share(engine, speech) > 0.6
    assert speech_share(engine, np.zeros(16000, np.int16)) == 0.0


@pytest.mark.parametrize("engine", ["micro", "silero"])
def test_the_neural_detectors_ignore_steady_noise(engine: str) -> None:
    noise = (np.random.default_rng(1).normal(0, 2000, 32000)).astype(np.int16)
    assert speech_share(engine, noise) < 0.1


@pytest.mark.parametrize("engine", ENGINES)
def test_the_listener_cuts_two_utterances_with_each_detector(engine: str, speech: np.ndarray) -> None:
    gap = np.zeros(32000, np.int16)  # microVAD holds on for about half a second after speech
    audio = np.concatenate([gap, speech, gap, speech, gap])
    listener = Listener(ListenerSettings(vad=engine))  # type: ignore[arg-type]
    utterances = list(listener.utterances(frames(audio)))
    assert len(utterances) == 2
    voiced = np.flatnonzero(np.abs(speech) > 500) / 16000
    for utterance, offset_s in zip(utterances, (2.0, 4.0 + len(speech) / 16000), strict=True):
        # microVAD wakes up later than the others (its first ~0.3 s are lost): a looser start.
        assert offset_s + voiced[0] - 0.5 < utterance.start_s < offset_s + voiced[0] + 0.7
        assert abs(utterance.end_s - (offset_s + voiced[-1])) < 0.4


def test_reset_forgets_the_stream(speech: np.ndarray) -> None:
    vad = make_vad("silero")
    first = [vad.is_speech(frame) for frame in frames(speech)]
    vad.reset()
    assert [vad.is_speech(frame) for frame in frames(speech)] == first


def test_an_unknown_engine_is_named() -> None:
    with pytest.raises(ModelError, match="no engine 'loud'"):
        make_vad("loud")
