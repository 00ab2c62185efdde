"""assistant.stt.whisper: tiny.en, offline, on a human clip, espeak speech and silence."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from assistant.audio.decode import load_audio
from assistant.errors import ModelError
from assistant.stt.grammar import normalise
from assistant.stt.whisper import WhisperRecognizer, resolve_whisper_model

SPEECH = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "speech"


@pytest.fixture(scope="module")
def whisper() -> WhisperRecognizer:
    return WhisperRecognizer()


def word_errors(reference: str, hypothesis: str) -> int:
    from rapidfuzz.distance import Levenshtein

    return Levenshtein.distance(normalise(reference).split(), normalise(hypothesis).split())


@pytest.mark.slow
@pytest.mark.skipif(not SPEECH.is_dir(), reason=f"{SPEECH} (shared speech clips) is absent")
def test_human_sentence(whisper: WhisperRecognizer) -> None:
    reference = "he might even have been made amiable himself"
    result = whisper.transcribe(load_audio(SPEECH / "pocketsphinx_librivox_0930.wav").samples)
    assert word_errors(reference, result.text) <= 1, result.text
    assert (
        result.engine == "whisper"
        and 0 < result.confidence <= 1
        and result.audio_s == pytest.approx(3.29, abs=0.02)
    )


@pytest.mark.slow
def test_espeak_sentence_and_silence(whisper: WhisperRecognizer, tmp_path: Path) -> None:
    path = tmp_path / "s.wav"
    subprocess.run(
        ["espeak-ng", "-w", str(path), "please order me a large pizza with mushrooms"], check=True
    )
    heard = whisper.transcribe(load_audio(path).samples)
    assert "pizza" in heard.text.lower() and "mushrooms" in heard.text.lower()
    silence = whisper.transcribe(np.zeros(16000, np.int16))
    assert silence.confidence < heard.confidence


def test_missing_model_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no model.bin"):
        resolve_whisper_model(str(tmp_path))
    with pytest.raises(ModelError, match="neither a folder nor an installed model package"):
        resolve_whisper_model("no-such-model-package")
