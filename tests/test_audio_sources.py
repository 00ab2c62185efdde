"""assistant.audio.sources: files and byte streams as frames; the hour-long file is streamed."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import numpy as np
import pytest

from assistant.audio.sources import FileSource, MicrophoneSource, StreamSource, open_source
from assistant.errors import AudioError


def speak(text: str, path: Path) -> Path:
    subprocess.run(["espeak-ng", "-w", str(path), text], check=True)
    return path


def test_file_source_yields_30ms_frames_then_closing_silence(tmp_path: Path) -> None:
    source = FileSource(speak("play some jazz", tmp_path / "a.wav"), tail_silence_s=1.0)
    frames = list(source.frames())
    assert all(len(f) == 480 for f in frames[:-1]) and frames[0].dtype == np.int16
    total_s = sum(len(f) for f in frames) / 16000
    assert 1.6 < total_s < 2.6  # about 1.2 s of speech plus 1 s of silence
    assert not frames[-1].any()


def test_stopping_early_stops_an_hour_long_file(tmp_path: Path) -> None:
    import soundfile

    hour = tmp_path / "hour.wav"
    with soundfile.SoundFile(
        str(hour), "w", samplerate=8000, channels=1, subtype="PCM_U8"
    ) as handle:
        for _ in range(60):
            handle.write(np.zeros(8000 * 60, np.float32))
    frames = FileSource(hour).frames()
    first = [next(frames) for _ in range(100)]
    frames.close()  # the decoder subprocess is killed, not run to the end
    assert len(first) == 100


def test_file_source_rejects_non_audio_at_once(tmp_path: Path) -> None:
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio")
    with pytest.raises(AudioError, match="notes.wav"):
        FileSource(bad)


def test_stream_source_reads_raw_pcm_in_frames() -> None:
    samples = (np.arange(1000) - 500).astype("<i2")
    frames = list(StreamSource(io.BytesIO(samples.tobytes()), frame_ms=10).frames())
    assert [len(f) for f in frames] == [160] * 6 + [40]
    assert np.array_equal(np.concatenate(frames), samples)


def test_open_source_and_device_names(tmp_path: Path) -> None:
    assert isinstance(open_source("-"), StreamSource)
    assert isinstance(open_source(str(speak("yes", tmp_path / "y.wav"))), FileSource)
    # What names no file is a microphone: a sound server's source names have dots in them.
    source = open_source("alsa_input.usb-Blue_Yeti.analog-stereo", "3")
    assert isinstance(source, MicrophoneSource) and source.device == "alsa_input.usb-Blue_Yeti.analog-stereo"
    assert isinstance(open_source("mic", "3"), MicrophoneSource) and open_source("mic", "3").device == "3"  # type: ignore[attr-defined]
    with pytest.raises(AudioError):  # an audio file's name is a file, even a missing one
        open_source(str(tmp_path / "missing.wav"))
