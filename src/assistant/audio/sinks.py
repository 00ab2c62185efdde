"""Where replies are played: a WAV file, the speaker (through `assistant.audio.mixer`), or nowhere."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from assistant.audio.decode import resample
from assistant.errors import AudioError

if TYPE_CHECKING:
    from assistant.audio.mixer import Mixer


class AudioSink(Protocol):
    """Plays int16 mono audio; `stop()` cuts playback short (barge-in)."""

    realtime: bool
    """True when `play` returns before the audio has been heard (a sound card)."""

    def play(self, samples: np.ndarray, sample_rate_hz: int) -> None: ...
    def stop(self) -> None: ...
    def close(self) -> None: ...


class NullSink:
    """Plays to nowhere; counts what it was given (for tests and `--output null`)."""

    realtime = False

    def __init__(self) -> None:
        self.played_s = 0.0

    def play(self, samples: np.ndarray, sample_rate_hz: int) -> None:
        self.played_s += len(samples) / sample_rate_hz

    def stop(self) -> None:
        pass

    def close(self) -> None:
        pass


class WavFileSink:
    """Appends every reply to one WAV file (16-bit mono), with a short pause between replies."""

    realtime = False

    def __init__(self, path: str | Path, sample_rate_hz: int = 22050, gap_s: float = 0.3):
        import soundfile

        self.path = Path(path)
        self.sample_rate_hz = sample_rate_hz
        self._gap = np.zeros(int(gap_s * sample_rate_hz), np.int16)
        self._written = 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file: Any = soundfile.SoundFile(
                str(self.path),
                "w",
                samplerate=sample_rate_hz,
                channels=1,
                subtype="PCM_16",
                format="WAV",
            )
        except (OSError, RuntimeError) as error:
            raise AudioError(f"{self.path}: cannot write the reply audio: {error}") from None

    def play(self, samples: np.ndarray, sample_rate_hz: int) -> None:
        if self._written:
            self._file.write(self._gap)
        data = resample(samples, sample_rate_hz, self.sample_rate_hz)
        self._file.write(data)
        self._file.flush()
        self._written += len(data)

    def stop(self) -> None:
        pass

    def close(self) -> None:
        self._file.close()


def open_sink(spec: str, speaker: str = "default", mixer: Mixer | None = None) -> AudioSink:
    """ "null" = nowhere; "speaker" = the speech input of `mixer` (the one audio output, shared
    with the music) or of a mixer of its own on the speaker setting; a path ending in .wav (or
    any path with a folder) = a WAV file; else a speaker's name or number from `assistant
    devices`, with a mixer of its own unless it is the speaker setting's."""
    if spec == "null" or (spec == "speaker" and speaker == "null"):
        return NullSink()
    if spec.lower().endswith((".wav", ".wave")) or "/" in spec:
        return WavFileSink(spec)
    from assistant.audio.mixer import Mixer, SpeechInput

    if spec == "speaker" or spec == speaker:
        speech = mixer.speech if mixer is not None else SpeechInput(Mixer(speaker), owns_mixer=True)
    else:
        speech = SpeechInput(Mixer(spec), owns_mixer=True)
    speech.mixer.check()
    return speech
