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


def noisy(samples: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    """White noise `snr_db` below the speech (as scripts/bench_voice.py adds it)."""
    speech = samples.astype(np.float64)
    loud = speech[np.abs(speech) > 0.05 * np.abs(speech).max()]
    sigma = np.sqrt(np.mean(loud**2) / 10 ** (snr_db / 10))
    noise = np.random.default_rng(seed).normal(0.0, sigma, len(speech))
    return np.clip(speech + noise, -32768, 32767).astype(np.int16)


@pytest.mark.slow
def test_score_prefers_the_spoken_phrase_in_noise(
    whisper: WhisperRecognizer, tmp_path: Path
) -> None:
    path = tmp_path / "s.wav"
    subprocess.run(["espeak-ng", "-w", str(path), "shuffle off"], check=True)
    audio = noisy(load_audio(path).samples, 10.0)
    heard = whisper.transcribe(audio)
    right, *wrong = whisper.score(
        audio, ["Shuffle off.", "Shuffle on.", "Play some jazz.", "Stop the alarm."]
    )
    assert right > max(wrong), heard.text
    # The whole transcript of an unrelated sentence fits far better than any command does.
    subprocess.run(["espeak-ng", "-w", str(path), "bananas are my favourite fruit"], check=True)
    sentence = load_audio(path).samples
    own, *commands = whisper.score(
        sentence, [whisper.transcribe(sentence).text, "Shuffle off.", "Play some jazz."]
    )
    assert own > max(commands) + 2.0
