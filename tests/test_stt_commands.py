"""assistant.stt.commands: the grammar engine with Whisper as second opinion and free-speech fallback."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from assistant.audio.decode import load_audio
from assistant.stt.commands import CommandRecognizer
from assistant.stt.pocketsphinx import PocketsphinxRecognizer
from assistant.stt.whisper import WhisperRecognizer

COMMANDS = [
    "what time is it",
    "play some jazz",
    "pause the music",
    "set a timer for five minutes",
    "tell me a joke",
]


def speak(text: str, folder: Path) -> np.ndarray:
    path = folder / "s.wav"
    subprocess.run(["espeak-ng", "-w", str(path), text], check=True)
    return load_audio(path).samples


@pytest.fixture(scope="module")
def engines() -> tuple[PocketsphinxRecognizer, WhisperRecognizer]:
    return PocketsphinxRecognizer(COMMANDS), WhisperRecognizer()


@pytest.mark.slow
def test_command_comes_from_the_grammar(engines, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = CommandRecognizer(*engines).transcribe(speak("pause the music", tmp_path))
    assert result.text == "pause the music" and result.in_grammar is True


@pytest.mark.slow
def test_free_speech_falls_through_to_whisper(engines, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = CommandRecognizer(*engines).transcribe(
        speak("please order me a large pizza with mushrooms", tmp_path)
    )
    assert result.engine == "whisper" and result.in_grammar is False
    assert "pizza" in result.text.lower()
    assert result.details["grammar"]["engine"] == "pocketsphinx"


def test_without_dictation_a_rejected_guess_becomes_nothing(engines, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = CommandRecognizer(engines[0], None).transcribe(
        speak("how far away is the moon from the earth", tmp_path)
    )
    assert result.text == "" and result.in_grammar is False and "rejected" in result.details
