"""Steady background noise (fan, hiss) taken out of an utterance before grammar recognition.

Stationary spectral gating, the method of the `noisereduce` package: the noise
spectrum is learnt from the quietest frames of the utterance itself (the
listener keeps a little silence on each side), and time-frequency cells not
clearly above it are attenuated. Written here with scipy because `noisereduce`
imports torch when it loads (several seconds). Clean speech is left alone:
gating it costs accuracy, so `snr_db` decides.
"""

from __future__ import annotations

import numpy as np

NOISY_BELOW_DB = 20.0
"""Utterances with an estimated SNR under this are denoised."""
_FRAME = 512
_QUIET_SHARE = 0.15
"""Share of the quietest frames taken as the noise sample."""
_THRESHOLD_STD = 1.5
"""A cell is speech when it is this many noise standard deviations above the noise mean (dB)."""
_ATTENUATION = 0.9
"""How much of a noise cell is removed (0..1)."""


def snr_db(samples: np.ndarray, frame: int = 480) -> float:
    """Loud frames against quiet frames: a rough signal-to-noise ratio of one utterance, in dB."""
    count = len(samples) // frame
    if count < 4:
        return float("inf")
    energies = np.mean(
        samples[: count * frame].astype(np.float64).reshape(count, frame) ** 2, axis=1
    )
    quiet, loud = np.percentile(energies, 10), np.percentile(energies, 90)
    return float(10 * np.log10(loud / quiet)) if quiet > 0 else float("inf")


def denoise(samples: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """int16 in, int16 out: spectral gating against the utterance's own quietest frames."""
    from scipy.ndimage import uniform_filter
    from scipy.signal import istft, stft

    signal = samples.astype(np.float32)
    _, _, spectrum = stft(signal, fs=sample_rate_hz, nperseg=_FRAME)
    level_db = 20 * np.log10(np.abs(spectrum) + 1e-6)
    frame_energy = level_db.mean(axis=0)
    quiet = frame_energy <= np.quantile(frame_energy, _QUIET_SHARE)
    noise_mean = level_db[:, quiet].mean(axis=1, keepdims=True)
    noise_std = level_db[:, quiet].std(axis=1, keepdims=True)
    speech = (level_db > noise_mean + _THRESHOLD_STD * noise_std).astype(np.float32)
    # Smooth the mask over neighbouring frequencies and frames so the gate does not chirp.
    mask = uniform_filter(speech, size=(3, 5))
    gain = 1.0 - _ATTENUATION * (1.0 - mask)
    _, cleaned = istft(spectrum * gain, fs=sample_rate_hz, nperseg=_FRAME)
    cleaned = cleaned[: len(samples)]
    return np.clip(np.round(cleaned), -32768, 32767).astype(np.int16)
