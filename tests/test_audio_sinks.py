"""assistant.audio.sinks: replies into a real WAV file; the sound card is reported, not crashed on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from assistant.audio.sinks import NullSink, WavFileSink, open_sink
from assistant.errors import AudioError


def tone(seconds: float, rate: int) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (np.sin(2 * np.pi * 300 * t) * 8000).astype(np.int16)


def test_wav_sink_appends_replies_with_a_pause(tmp_path: Path) -> None:
    sink = WavFileSink(tmp_path / "out" / "reply.wav", sample_rate_hz=22050, gap_s=0.3)
    sink.play(tone(1.0, 22050), 22050)
    sink.play(tone(0.5, 16000), 16000)  # resampled to the file's rate
    sink.close()
    data, rate = soundfile.read(str(tmp_path / "out" / "reply.wav"), dtype="int16")
    assert rate == 22050
    assert len(data) / rate == pytest.approx(1.8, abs=0.01)
    assert not data[int(1.05 * rate) : int(1.25 * rate)].any()


def test_unwritable_output_is_an_audio_error(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="cannot write the reply audio"):
        WavFileSink(tmp_path)  # a folder


def test_null_sink_and_sink_names(tmp_path: Path) -> None:
    sink = open_sink("null")
    assert isinstance(sink, NullSink)
    sink.play(tone(0.5, 16000), 16000)
    assert sink.played_s == pytest.approx(0.5)
    assert isinstance(open_sink("speaker", speaker="null"), NullSink)
    assert isinstance(open_sink(str(tmp_path / "r.wav")), WavFileSink)


def test_missing_sound_card_is_reported_clearly() -> None:
    import sounddevice

    if any(d["max_output_channels"] for d in sounddevice.query_devices()):
        pytest.skip("this machine has a speaker")
    # No sound server (or one PortAudio cannot reach): the sentence says which, and what to do.
    with pytest.raises(AudioError, match=r"no sound server is running .*pulseaudio --start|PortAudio has no \"pulse\""):
        open_sink("speaker")
    with pytest.raises(AudioError, match="no sound server is running|PortAudio has no"):
        open_sink("desk")  # a speaker's name
