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


class _Scoring(_Fixed):
    """A dictation engine that also scores sentences: `scores` by sentence, its own text 0."""

    def __init__(self, text: str, scores: dict[str, float]):
        super().__init__("whisper", text)
        self.scores = scores

    def score(self, audio: np.ndarray, texts: list[str]) -> list[float]:
        return [0.0 if t == self.text else self.scores.get(t, -10.0) for t in texts]


PHRASES = ["shuffle off", "shuffle on", "stop the alarm", "play some jazz", "pause the music"]


def _noisy_burst(snr_db: float) -> np.ndarray:
    """One second of hiss with a louder tone in the middle, `snr_db` above the hiss."""
    rng = np.random.default_rng(0)
    audio = rng.normal(0.0, 300.0, 16000)
    tone = (
        np.sin(np.arange(8000) * 2 * np.pi * 440 / 16000) * 300.0 * 10 ** (snr_db / 20) * np.sqrt(2)
    )
    audio[4000:12000] += tone
    return audio.astype(np.int16)


@pytest.mark.parametrize(
    ("scores", "expected", "in_grammar"),
    [
        ({"Shuffle off.": -1.5, "Shuffle on.": -3.0}, "shuffle off", True),  # close: the command
        ({"Shuffle off.": -4.0, "Shuffle on.": -5.0}, "Shut the law.", False),  # far: free speech
    ],
)
def test_rescoring_decides_by_the_gap_to_whisper_own_words(
    scores: dict[str, float], expected: str, in_grammar: bool
) -> None:
    grammar = _Fixed("pocketsphinx", "shuffle all", complete_phrase=False, margin=-2.0)
    result = CommandRecognizer(
        grammar, _Scoring("Shut the law.", scores), PHRASES, "hey assistant"
    ).transcribe(_noisy_burst(10.0))
    assert (result.text, result.in_grammar) == (expected, in_grammar)


def test_clean_speech_is_not_rescored() -> None:
    """On clean audio Whisper's words stand: "No." must not become the nearby phrase "snooze"."""
    grammar = _Fixed("pocketsphinx", "shuffle all", complete_phrase=False, margin=-2.0)
    scores = {"Shuffle off.": -1.5, "Shuffle on.": -3.0}
    recognizer = CommandRecognizer(grammar, _Scoring("Shut the law.", scores), PHRASES)
    assert recognizer.transcribe(_noisy_burst(40.0)).text == "Shut the law."
    assert recognizer.transcribe(_noisy_burst(10.0)).text == "shuffle off"


@pytest.mark.slow
def test_noisy_command_is_snapped_to_its_phrase(engines, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The grammar misses it, Whisper garbles it; the phrase still fits the audio best."""
    from test_stt_whisper import noisy

    grammar = _Fixed("pocketsphinx", "shuffle all", complete_phrase=False, margin=-2.0)
    audio = noisy(speak("shuffle off", tmp_path), 10.0)
    result = CommandRecognizer(grammar, engines[1], PHRASES, "hey assistant").transcribe(audio)
    assert (result.text, result.in_grammar) == ("shuffle off", True), result.details


@pytest.mark.slow
@pytest.mark.parametrize("snr_db", [None, 10.0])
def test_free_speech_is_not_snapped_to_a_phrase(
    engines, tmp_path: Path, snr_db: float | None
) -> None:  # type: ignore[no-untyped-def]
    from test_stt_whisper import noisy

    audio = speak("my cat likes to sleep on the sofa all afternoon", tmp_path)
    audio = audio if snr_db is None else noisy(audio, snr_db)
    grammar = _Fixed("pocketsphinx", "play some jazz", complete_phrase=True, margin=-2.0)
    result = CommandRecognizer(grammar, engines[1], PHRASES, "hey assistant").transcribe(audio)
    assert result.in_grammar is False and result.engine == "whisper", result.details


@pytest.mark.parametrize(
    ("phrase_score", "expected"),
    [(-0.5, "put on my favourites playlist"), (-3.4, "But not my favorite fruit.")],
)
def test_a_confirmed_phrase_must_also_fit_the_audio(phrase_score: float, expected: str) -> None:
    """Whisper's words share a few with the grammar's phrase (confirmation); its score decides."""
    grammar = _Fixed(
        "pocketsphinx", "put on my favourites playlist", complete_phrase=True, margin=-0.7
    )
    dictation = _Scoring(
        "But not my favorite fruit.", {"Put on my favourites playlist.": phrase_score}
    )
    phrases = ["put on my favourites playlist", "pause the music"]
    result = CommandRecognizer(grammar, dictation, phrases).transcribe(_noisy_burst(40.0))
    assert result.text == expected
