"""assistant.audio.decode: real files made with espeak-ng, sox and ffmpeg; bad files give AudioError."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from assistant.audio.decode import load_audio, resample
from assistant.errors import AudioError


def speak(text: str, path: Path) -> Path:
    subprocess.run(["espeak-ng", "-w", str(path), text], check=True)
    return path


def write_hour_of_hum(path: Path) -> Path:
    """One hour of a quiet 100 Hz hum, 8 kHz 8-bit (29 MB), written in one-minute blocks."""
    import soundfile

    minute = (0.05 * np.sin(2 * np.pi * 100 * np.arange(8000 * 60) / 8000)).astype(np.float32)
    with soundfile.SoundFile(
        str(path), "w", samplerate=8000, channels=1, subtype="PCM_U8"
    ) as handle:
        for _ in range(60):
            handle.write(minute)
    return path


def test_espeak_wav_is_resampled_to_16k_mono(tmp_path: Path) -> None:
    audio = load_audio(speak("what time is it", tmp_path / "a.wav"))
    assert audio.sample_rate_hz == 16000
    assert audio.samples.dtype == np.int16 and audio.samples.ndim == 1
    assert 0.8 < audio.duration_s < 1.5  # espeak says it in about 1.1 s
    assert np.abs(audio.samples).max() > 5000
    assert not audio.truncated


def test_stereo_44k_flac_is_mixed_down(tmp_path: Path) -> None:
    source = speak("hello there", tmp_path / "a.wav")
    flac = tmp_path / "b.flac"
    subprocess.run(["sox", str(source), "-r", "44100", "-c", "2", str(flac)], check=True)
    mono = load_audio(source)
    stereo = load_audio(flac)
    assert abs(len(stereo.samples) - len(mono.samples)) < 50
    assert (
        np.corrcoef(
            stereo.samples[: len(mono.samples)].astype(float),
            mono.samples[: len(stereo.samples)].astype(float),
        )[0, 1]
        > 0.95
    )


def test_formats_libsndfile_lacks_go_through_ffmpeg(tmp_path: Path) -> None:
    source = speak("hello there", tmp_path / "a.wav")
    m4a = tmp_path / "a.m4a"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(source), "-c:a", "aac", str(m4a)], check=True
    )
    audio = load_audio(m4a)
    assert 0.6 < audio.duration_s < 1.6


def test_long_files_are_cut_at_the_maximum(tmp_path: Path) -> None:
    hour = write_hour_of_hum(tmp_path / "hour.wav")
    audio = load_audio(hour, max_duration_s=5.0)
    assert audio.truncated and audio.duration_s == pytest.approx(5.0)
    m4a = tmp_path / "long.m4a"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=d=30", "-c:a", "aac", str(m4a)],
        check=True,
    )
    audio = load_audio(m4a, max_duration_s=2.0)
    assert audio.truncated and audio.duration_s == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"this is not audio at all\n" * 20, "not a readable audio file"),
        (b"RIFF\x00\x00\x00\x00WAVEjunk", "not a readable"),
    ],
)
def test_bad_files_raise_audio_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(AudioError, match=message) as caught:
        load_audio(path)
    assert str(path) in str(caught.value)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="no such audio file"):
        load_audio(tmp_path / "nothing.wav")
    with pytest.raises(AudioError, match="folder"):
        load_audio(tmp_path)


def test_resample_keeps_a_tone_in_tune() -> None:
    rate = 22050
    t = np.arange(rate) / rate
    tone = (np.sin(2 * np.pi * 440 * t) * 10000).astype(np.int16)
    converted = resample(tone, rate, 16000)
    assert len(converted) == 16000
    spectrum = np.abs(np.fft.rfft(converted))
    assert int(np.argmax(spectrum)) == 440  # 1 s of audio: bin index = Hz
