"""assistant.audio.wakeword: the packaged microWakeWord models on real synthesised speech."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from assistant.audio.decode import load_audio, resample
from assistant.audio.wakeword import (
    BUILTIN_MODELS,
    MicroWakeWordDetector,
    cutoff_for,
    load_detector,
)
from assistant.config import TtsSettings
from assistant.errors import ModelError
from assistant.tts import make_synthesizer

RATE = 16000


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), np.int16)


@pytest.fixture(scope="module")
def piper():  # type: ignore[no-untyped-def]
    synthesizer = make_synthesizer(TtsSettings(engine="piper"))

    def say(text: str) -> np.ndarray:
        speech = synthesizer.synthesize(text)
        return resample(speech.samples, speech.sample_rate_hz, RATE)

    return say


def espeak(text: str, tmp_path: Path) -> np.ndarray:
    path = tmp_path / "espeak.wav"
    subprocess.run(["espeak-ng", "-w", str(path), text], check=True)
    return load_audio(path).samples


def detections(detector: MicroWakeWordDetector, audio: np.ndarray) -> list[float]:
    """Where the detector fired, in seconds, feeding 30 ms frames as the listener does."""
    found = []
    for start in range(0, len(audio), 480):
        detection = detector.process(audio[start : start + 480])
        if detection is not None:
            found.append(detection.end_s)
    return found


def test_hey_jarvis_is_heard_where_it_is_said_and_nowhere_else(piper) -> None:  # type: ignore[no-untyped-def]
    audio = np.concatenate(
        [silence(0.5), piper("What time is it?"), silence(1.0), piper("Hey Jarvis"), silence(1.0)]
    )
    wake_starts_s = 0.5 + len(piper("What time is it?")) / RATE + 1.0
    detector = MicroWakeWordDetector("hey_jarvis")
    found = detections(detector, audio)
    assert len(found) == 1
    assert wake_starts_s < found[0] < wake_starts_s + 2.0
    detector.reset()
    # (Not "Hey Travis": Piper's voice varies from run to run, and now and then the model takes it.)
    assert detections(detector, np.concatenate([silence(0.5), piper("Hey there, play some jazz.")])) == []


def test_the_detection_names_the_model_and_its_phrase(piper) -> None:  # type: ignore[no-untyped-def]
    detector = load_detector("hey_jarvis")
    audio = np.concatenate([silence(0.5), piper("Hey Jarvis"), silence(0.5)])
    results = [detector.process(audio[i : i + 480]) for i in range(0, len(audio), 480)]
    detection = next(r for r in results if r is not None)
    assert (detection.model, detection.wake_word) == ("hey_jarvis", "Hey Jarvis")
    assert detection.probability > detector.cutoff  # type: ignore[attr-defined]


@pytest.mark.parametrize(("model", "phrase"), [("okay_nabu", "okay nabu"), ("alexa", "alexa")])
def test_other_packaged_models_hear_their_own_phrase_only(model: str, phrase: str, tmp_path: Path) -> None:
    detector = MicroWakeWordDetector(model)
    assert len(detections(detector, np.concatenate([silence(0.5), espeak(phrase, tmp_path), silence(0.5)]))) == 1
    detector.reset()
    assert detections(detector, np.concatenate([silence(0.5), espeak("what time is it", tmp_path)])) == []


def test_refractory_period_swallows_a_repeat(tmp_path: Path) -> None:
    phrase = np.concatenate([silence(0.3), espeak("alexa", tmp_path), silence(0.3)])
    twice = np.concatenate([phrase, phrase, silence(0.5)])
    assert len(detections(MicroWakeWordDetector("alexa", refractory_s=0.2), twice)) == 2
    assert len(detections(MicroWakeWordDetector("alexa", refractory_s=5.0), twice)) == 1


def test_sensitivity_moves_the_cutoff_around_the_models_own() -> None:
    assert cutoff_for(0.97, 0.5) == pytest.approx(0.97)
    assert cutoff_for(0.97, 1.0) < cutoff_for(0.97, 0.7) < 0.97 < cutoff_for(0.97, 0.2) < 1.0
    assert MicroWakeWordDetector("hey_jarvis", sensitivity=0.9).cutoff < MicroWakeWordDetector(
        "hey_jarvis"
    ).cutoff


def test_every_packaged_model_loads_by_name_in_any_spelling() -> None:
    for model in BUILTIN_MODELS:
        assert load_detector(model.replace("_", " ").title()).wake_word  # type: ignore[attr-defined]


def test_a_custom_model_by_its_json_path(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    import pymicro_wakeword

    packaged = Path(pymicro_wakeword.__file__).parent / "models"
    shutil.copy(packaged / "alexa.tflite", tmp_path / "my_word.tflite")
    config = json.loads((packaged / "alexa.json").read_text())
    config.update(model="my_word.tflite", wake_word="My Word")
    (tmp_path / "my_word.json").write_text(json.dumps(config))
    detector = load_detector(str(tmp_path / "my_word.json"))
    speech = espeak("alexa", tmp_path_factory.mktemp("speech"))
    results = [detector.process(frame) for frame in np.array_split(np.concatenate([silence(0.5), speech, silence(0.5)]), 60)]
    assert [(d.model, d.wake_word) for d in results if d is not None] == [("my_word", "My Word")]


def test_a_model_that_cannot_load_is_a_clear_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="'hey_siri'.*not a packaged model.*hey_jarvis"):
        load_detector("hey_siri")
    with pytest.raises(ModelError, match="does not exist"):
        load_detector(str(tmp_path / "missing.json"))
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ModelError, match="not a microWakeWord model JSON"):
        load_detector(str(tmp_path / "bad.json"))
    (tmp_path / "w.json").write_text(
        json.dumps({"wake_word": "W", "model": "w.tflite", "micro": {"probability_cutoff": 0.9, "sliding_window_size": 5}})
    )
    with pytest.raises(ModelError, match="cannot read"):
        load_detector(str(tmp_path / "w.json"))
    (tmp_path / "w.tflite").write_bytes(b"this is no model at all")
    with pytest.raises(ModelError, match="not a TensorFlow Lite model"):
        load_detector(str(tmp_path / "w.json"))
