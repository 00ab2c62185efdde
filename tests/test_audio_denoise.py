"""assistant.audio.denoise: SNR estimate and spectral gating on espeak speech mixed with white noise."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from assistant.audio.decode import load_audio
from assistant.audio.denoise import denoise, snr_db


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    path = tmp_path_factory.mktemp("denoise") / "s.wav"
    subprocess.run(["espeak-ng", "-w", str(path), "set a timer for five minutes"], check=True)
    samples = load_audio(path).samples
    pad = np.zeros(4800, np.int16)
    return np.concatenate([pad, samples, pad])


def noisy(speech: np.ndarray, noise_rms: float) -> tuple[np.ndarray, np.ndarray]:
    noise = np.random.default_rng(0).normal(0.0, noise_rms, len(speech))
    return np.clip(speech + noise, -32768, 32767).astype(np.int16), noise


def test_snr_estimate_tells_clean_from_noisy(speech: np.ndarray) -> None:
    clean, _ = noisy(speech, 5.0)
    loud, _ = noisy(speech, 1500.0)
    assert snr_db(clean) > 35 and snr_db(loud) < 15
    assert snr_db(np.zeros(100, np.int16)) == float("inf")  # too short to judge


def test_gating_removes_noise_and_keeps_speech(speech: np.ndarray) -> None:
    mixed, _ = noisy(speech, 1500.0)
    cleaned = denoise(mixed, 16000)
    assert cleaned.dtype == np.int16 and len(cleaned) == len(mixed)
    silent = slice(0, 4000)  # the padding: only noise
    voiced = np.abs(speech) > 3000
    assert np.std(cleaned[silent]) < 0.3 * np.std(mixed[silent])
    assert np.std(cleaned[voiced]) > 0.6 * np.std(speech[voiced])
    assert snr_db(cleaned) > snr_db(mixed) + 6
