"""Where replies are played: a WAV file, the sound card (sounddevice), or nowhere."""

from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from assistant.audio.decode import resample
from assistant.audio.sources import parse_device
from assistant.errors import AudioError

log = logging.getLogger(__name__)


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


class SoundDeviceSink:
    """The sound card, through PortAudio: one output stream, fed by a thread, so that sentences
    queued one after another play back to back. `play` returns at once; `stop` drops what is
    queued (barge-in); `close` waits for the last of it to be heard."""

    realtime = True
    CHUNK_FRAMES = 1024
    """Samples written at a time: a `stop` takes effect within one chunk (46 ms)."""

    def __init__(self, device: str | int | None = None, sample_rate_hz: int = 22050):
        import sounddevice

        self._sd = sounddevice
        self.device = parse_device(device)
        self.sample_rate_hz = sample_rate_hz
        try:
            sounddevice.check_output_settings(
                device=self.device, channels=1, dtype="int16", samplerate=sample_rate_hz
            )
        except (sounddevice.PortAudioError, ValueError) as error:
            raise AudioError(
                f"cannot open speaker {self.device if self.device is not None else 'default'}: {error}; "
                "see `assistant devices`, or use --output FILE.wav"
            ) from None
        self._queue: queue.Queue[tuple[int, np.ndarray] | None] = queue.Queue()
        self._generation = 0
        self._thread: threading.Thread | None = None
        self.error: AudioError | None = None

    def play(self, samples: np.ndarray, sample_rate_hz: int) -> None:
        if self.error is not None:
            raise self.error
        self._queue.put((self._generation, resample(samples, sample_rate_hz, self.sample_rate_hz)))
        if self._thread is None:
            self._thread = threading.Thread(target=self._write, name="speaker", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._generation += 1

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def _write(self) -> None:
        try:
            stream = self._sd.OutputStream(
                samplerate=self.sample_rate_hz, channels=1, dtype="int16", device=self.device
            )
            with stream:  # leaving it waits until the buffered audio has played
                while (item := self._queue.get()) is not None:
                    generation, samples = item
                    for start in range(0, len(samples), self.CHUNK_FRAMES):
                        if generation != self._generation:
                            break
                        stream.write(samples[start : start + self.CHUNK_FRAMES])
        except self._sd.PortAudioError as error:
            self.error = AudioError(f"playback failed: {error}")
            log.error("%s", self.error)


def open_sink(spec: str, speaker: str = "default") -> AudioSink:
    """ "null" = nowhere, "speaker" = the speaker setting, a path = a WAV file."""
    if spec == "null" or (spec == "speaker" and speaker == "null"):
        return NullSink()
    if spec == "speaker":
        return SoundDeviceSink(speaker)
    return WavFileSink(spec)
