"""assistant.stt.commands: the grammar engine with Whisper as second opinion and free-speech fallback."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from assistant.audio.decode import load_audio
from assistant.stt.base import Transcript
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


class _Fixed:
    """An engine that always hears the same thing (to test the decision, not the engines)."""

    def __init__(self, name: str, text: str, **details: object):
        self.name, self.text, self.details = name, text, details

    def transcribe(self, audio: np.ndarray) -> Transcript:
        return Transcript(
            self.text, self.name, 0.5, False if self.details else None, 1.0, 0.0, dict(self.details)
        )


# (what the grammar heard, whether that is a whole phrase, what Whisper heard, the result, in grammar)
DECISIONS = [
    ("farewell", True, "Fair well.", "farewell", True),  # Whisper confirms the grammar's own phrase
    ("what's the song", True, "What's this song?", "what's this song", True),  # another phrase
    (
        "pause the music",
        True,
        "Please order a pizza.",
        "Please order a pizza.",
        False,
    ),  # free speech
    ("farewell", False, "Fair well.", "Fair well.", False),  # an incomplete guess confirms nothing
    ("hey assistant stop", True, "Hey, Assistant, stop!", "hey assistant stop", True),
]


@pytest.mark.parametrize(
    ("grammar_heard", "complete", "whisper_heard", "expected", "in_grammar"), DECISIONS
)
def test_second_opinion_decisions(
    grammar_heard: str, complete: bool, whisper_heard: str, expected: str, in_grammar: bool
) -> None:
    grammar = _Fixed("pocketsphinx", grammar_heard, complete_phrase=complete, margin=-1.0)
    phrases = ["farewell", "what's the song", "what's this song", "pause the music", "stop"]
    result = CommandRecognizer(
        grammar, _Fixed("whisper", whisper_heard), phrases, "hey assistant"
    ).transcribe(np.zeros(16000, np.int16))
    assert (result.text, result.in_grammar) == (expected, in_grammar)
