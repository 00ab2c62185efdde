"""Speech and noise for bench_voice.py: several voices, real noise mixed at a set SNR, and long
stretches of audio in which nobody says the wake word.

Voices: the Piper voice the assistant speaks with (en_US-joe-medium, at two paces)
and espeak-ng variants. Noise: the human speech clips of ../shared/datasets/speech
overlapped into babble, and synthesised music (chords, a melody, drums). All
audio is 16 kHz int16 mono.
"""

from __future__ import annotations

import csv
import functools
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

RATE = 16000
REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "datasets"
SPEECH = SHARED / "speech"

VOICES = {
    "piper": ("piper", 175),
    "piper-fast": ("piper", 215),
    "en-us": ("espeak", "en-us"),
    "en-gb": ("espeak", "en-gb"),
    "en-us+f3": ("espeak", "en-us+f3"),
}
"""Name -> (engine, Piper rate in wpm or espeak voice)."""


@functools.cache
def _piper(rate_wpm: int):  # type: ignore[no-untyped-def]
    from assistant.config import TtsSettings
    from assistant.tts import make_synthesizer

    return make_synthesizer(TtsSettings(engine="piper", rate_wpm=rate_wpm))


def speak(text: str, voice: str, rate_wpm: int = 160) -> np.ndarray:
    """`text` in `voice` (a key of VOICES), trimmed of the engine's own leading/trailing silence."""
    from assistant.audio.decode import load_audio, resample

    engine, option = VOICES[voice]
    if engine == "piper":
        speech = _piper(int(option)).synthesize(text)
        samples = resample(speech.samples, speech.sample_rate_hz, RATE)
    else:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "s.wav"
            command = ["espeak-ng", "-v", str(option), "-s", str(rate_wpm), "-w", str(path), text]
            subprocess.run(command, check=True)
            samples = load_audio(path).samples
    return trim(samples)


def trim(samples: np.ndarray, level: int = 300) -> np.ndarray:
    loud = np.flatnonzero(np.abs(samples) > level)
    return samples[loud[0] : loud[-1] + 1] if len(loud) else samples


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), np.int16)


def speech_power(samples: np.ndarray) -> float:
    """Mean power over the voiced part (pauses do not dilute it)."""
    x = samples.astype(np.float64)
    loud = x[np.abs(x) > 0.05 * (np.abs(x).max() or 1)]
    return float(np.mean(loud**2)) if len(loud) else 1.0


def mix(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """`speech` with `noise` (looped or cut to its length) at `snr_db` below it."""
    noise = np.resize(noise, len(speech)).astype(np.float64)
    gain = np.sqrt(speech_power(speech) / 10 ** (snr_db / 10) / max(1e-9, float(np.mean(noise**2))))
    return np.clip(speech.astype(np.float64) + gain * noise, -32768, 32767).astype(np.int16)


@functools.cache
def human_clips() -> tuple[tuple[str, np.ndarray], ...]:
    """(transcript, samples) of every human clip; empty when ../shared is absent."""
    from assistant.audio.decode import load_audio

    if not SPEECH.is_dir():
        return ()
    with (SPEECH / "manifest.tsv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return tuple((row["transcript"], load_audio(SPEECH / row["file"]).samples) for row in rows)


def babble(seconds: float, rng: np.random.Generator, talkers: int = 3) -> np.ndarray:
    """Several of the human clips talking over each other (falls back to Piper sentences)."""
    clips = [samples for _, samples in human_clips()] or [
        speak(sentence, "piper") for sentence in clinc_sentences("test.csv", 6, 3)
    ]
    out = np.zeros(int(seconds * RATE), np.float64)
    for _ in range(talkers):
        track = np.concatenate([clips[i] for i in rng.permutation(len(clips))] * 4)
        start = int(rng.integers(0, max(1, len(track) - len(out))))
        out += np.resize(track[start:], len(out)) * rng.uniform(0.6, 1.0)
    return np.clip(out / talkers * 1.5, -32768, 32767).astype(np.int16)


def music(seconds: float, rng: np.random.Generator, bpm: float = 112.0) -> np.ndarray:
    """Synthesised music: a chord progression with a bass, a melody and drums, in a random key."""
    t_beat = 60.0 / bpm
    beats = int(seconds / t_beat) + 1
    out = np.zeros(int((beats + 5) * t_beat * RATE), np.float64)
    root = 110.0 * 2 ** (int(rng.integers(0, 12)) / 12)
    progression = [[0, 4, 7], [9, 12, 16], [5, 9, 12], [7, 11, 14]]  # I vi IV V
    scale = [0, 2, 4, 5, 7, 9, 11, 12, 14, 16]

    def note(freq: float, start_s: float, length_s: float, amp: float, harmonics: int) -> None:
        n = int(length_s * RATE)
        t = np.arange(n) / RATE
        wave = sum(np.sin(2 * np.pi * freq * k * t) / k**1.5 for k in range(1, harmonics + 1))
        envelope = np.minimum(1.0, t / 0.01) * np.exp(-3.0 * t / length_s)
        i = int(start_s * RATE)
        out[i : i + n] += amp * wave * envelope

    for beat in range(beats):
        start = beat * t_beat
        chord = progression[(beat // 4) % 4]
        if beat % 4 == 0:
            for interval in chord:
                note(root * 2 ** (interval / 12) * 2, start, 4 * t_beat, 1500, 4)
            note(root * 2 ** (chord[0] / 12) / 2, start, 2 * t_beat, 3000, 3)
        if beat % 4 == 2:
            note(root * 2 ** (chord[0] / 12) / 2, start, 2 * t_beat, 2500, 3)
        for half in (0.0, 0.5):
            if rng.random() < 0.7:
                degree = scale[int(rng.integers(0, len(scale)))]
                note(root * 4 * 2 ** (degree / 12), start + half * t_beat, t_beat / 2, 2000, 2)
        kick = int(start * RATE)
        k = np.arange(int(0.12 * RATE)) / RATE
        if beat % 2 == 0:
            out[kick : kick + len(k)] += 6000 * np.sin(2 * np.pi * 60 * k) * np.exp(-25 * k)
        else:
            out[kick : kick + len(k)] += 2500 * rng.normal(0, 1, len(k)) * np.exp(-30 * k)
    return np.clip(out[: int(seconds * RATE)], -32768, 32767).astype(np.int16)


def noise_for(index: int, seconds: float, rng: np.random.Generator) -> tuple[str, np.ndarray]:
    """Alternately babble and music, long enough to cover `seconds`."""
    if index % 2 == 0:
        return "babble", babble(seconds, rng)
    return "music", music(seconds, rng)


def clinc_sentences(name: str, count: int, seed: int) -> list[str]:
    """`count` sentences from ../shared/datasets/intents/clinc150/`name` (empty when absent)."""
    path = SHARED / "intents" / "clinc150" / name
    if not path.is_file():
        return []
    with path.open(encoding="utf-8") as handle:
        sentences = [row["text"] for row in csv.DictReader(handle)]
    order = np.random.default_rng(seed).permutation(len(sentences))
    return [sentences[i] for i in order[:count]]


def non_wake_audio(minutes: float, replies: list[str], seed: int) -> Iterator[tuple[str, np.ndarray]]:
    """(kind, audio) pieces adding up to `minutes` in which nobody says a wake word:
    human clips (at three speeds), the assistant's own replies and other sentences in every voice,
    music, and babble. About a quarter of the time each."""
    from assistant.audio.decode import resample

    rng = np.random.default_rng(seed)
    budget = {kind: minutes * 60 / 4 for kind in ("human", "speech", "music", "babble")}
    clips = human_clips()
    while clips and budget["human"] > 0:
        for _, samples in clips:
            for factor in (0.9, 1.0, 1.1):  # a little faster and slower: more speakers
                piece = resample(samples, int(RATE * factor), RATE)
                budget["human"] -= len(piece) / RATE
                yield "human", piece
    budget["speech"] += max(0.0, budget["human"])
    sentences = replies + clinc_sentences("test.csv", 4000, seed)
    voices = list(VOICES)
    index = 0
    while budget["speech"] > 0 and sentences:
        piece = np.concatenate([speak(sentences[index % len(sentences)], voices[index % len(voices)]), silence(0.4)])
        budget["speech"] -= len(piece) / RATE
        index += 1
        yield "speech", piece
    while budget["music"] > 0:
        piece = music(60.0, rng, bpm=float(rng.uniform(80, 140)))
        budget["music"] -= 60.0
        yield "music", piece
    while budget["babble"] > 0:
        piece = babble(60.0, rng)
        budget["babble"] -= 60.0
        yield "babble", piece
