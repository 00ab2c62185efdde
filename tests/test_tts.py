"""assistant.tts: pyttsx3 and the espeak-ng program produce real speech that Whisper can read back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.config import TtsSettings
from assistant.errors import ConfigError, RecognitionError
from assistant.tts import make_synthesizer
from assistant.tts.base import NullSynthesizer
from assistant.tts.espeak import EspeakSynthesizer
from assistant.tts.pyttsx3 import Pyttsx3Synthesizer


@pytest.mark.parametrize("engine", ["pyttsx3", "espeak"])
def test_engines_make_speech(
    engine: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    synthesizer = make_synthesizer(TtsSettings(engine=engine), tmp_path)  # type: ignore[arg-type]
    speech = synthesizer.synthesize("It is ten past five.")
    assert synthesizer.name == engine
    assert speech.sample_rate_hz == 22050 and speech.samples.dtype == np.int16
    assert 1.0 < speech.duration_s < 2.5 and np.abs(speech.samples).max() > 3000
    assert capsys.readouterr().out == ""  # pyttsx3's "Audio saved to" never reaches stdout
    assert list(tmp_path.iterdir()) == []  # its temporary WAV is removed


def test_rate_and_volume_change_the_audio(tmp_path: Path) -> None:
    slow = EspeakSynthesizer(rate_wpm=100).synthesize("one two three four five")
    fast = EspeakSynthesizer(rate_wpm=300).synthesize("one two three four five")
    quiet = EspeakSynthesizer(volume=0.2).synthesize("one two three four five")
    loud = EspeakSynthesizer(volume=1.0).synthesize("one two three four five")
    assert slow.duration_s > 1.8 * fast.duration_s
    assert np.abs(quiet.samples).max() < 0.5 * np.abs(loud.samples).max()
    rate_slow = Pyttsx3Synthesizer(rate_wpm=100, scratch_dir=tmp_path).synthesize(
        "one two three four five"
    )
    assert rate_slow.duration_s > 1.5 * fast.duration_s


def test_voice_is_applied_and_unknown_voice_is_an_error() -> None:
    us = EspeakSynthesizer(voice="en-us").synthesize("tomato")
    gb = EspeakSynthesizer(voice="en-gb").synthesize("tomato")
    assert not np.array_equal(us.samples, gb.samples)
    with pytest.raises(RecognitionError, match="espeak-ng failed"):
        EspeakSynthesizer(voice="xx-nonexistent").synthesize("hello")


def test_pyttsx3_voice_by_name_and_unknown_voice_is_a_config_error() -> None:
    us = Pyttsx3Synthesizer(voice="en-us").synthesize("tomato")
    gb = Pyttsx3Synthesizer(voice="en-GB").synthesize("tomato")
    assert not np.array_equal(us.samples, gb.samples)
    with pytest.raises(ConfigError, match="no voice named 'xx-nonexistent-voice'"):
        make_synthesizer(TtsSettings(engine="pyttsx3", voice="xx-nonexistent-voice"))


def test_null_engine_is_silent() -> None:
    assert isinstance(make_synthesizer(TtsSettings(engine="null")), NullSynthesizer)
    assert NullSynthesizer().synthesize("anything").duration_s == 0.0
