"""Where decoded music goes: the sound card through sounddevice, or nowhere at real-time pace."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Protocol

from assistant.errors import AudioError

SAMPLE_RATE_HZ = 44100
CHANNELS = 2
"""Music is decoded (`assistant.audio.decode.stream`) and played as 44.1 kHz stereo float32."""

if TYPE_CHECKING:
    import numpy as np


class Sink(Protocol):
    """Takes chunks of frames and returns once they are (as good as) played."""

    def open(self) -> None: ...
    def write(self, frames: np.ndarray, cancelled: threading.Event) -> None: ...
    def close(self) -> None: ...


class NullSink:
    """Plays to nowhere, but takes exactly as long as a sound card would."""

    def __init__(self) -> None:
        self._started = 0.0
        self._frames = 0

    def open(self) -> None:
        self._started = time.monotonic()
        self._frames = 0

    def write(self, frames: np.ndarray, cancelled: threading.Event) -> None:
        self._frames += len(frames)
        # Stay at most one chunk ahead of the wall clock, like a device buffer would.
        due = self._started + self._frames / SAMPLE_RATE_HZ - len(frames) / SAMPLE_RATE_HZ
        wait = due - time.monotonic()
        if wait > 0:
            cancelled.wait(wait)

    def close(self) -> None:
        remaining = self._started + self._frames / SAMPLE_RATE_HZ - time.monotonic()
        if remaining > 0:
            time.sleep(min(remaining, 0.1))


class DeviceSink:
    """A sounddevice output stream on the named device ("default", a name or an index)."""

    def __init__(self, device: str) -> None:
        self._device: str | int | None = None if device == "default" else (
            int(device) if device.isdigit() else device
        )
        self._stream: object | None = None

    def open(self) -> None:
        import sounddevice

        try:
            stream = sounddevice.OutputStream(
                samplerate=SAMPLE_RATE_HZ, channels=CHANNELS, dtype="float32",
                device=self._device, latency="low",
            )
            stream.start()
        except (sounddevice.PortAudioError, ValueError) as error:
            raise AudioError(
                f"cannot open audio output {self._device or 'default'!r}: {error}; "
                "set [audio] output = \"null\" on a machine without a sound card"
            ) from None
        self._stream = stream

    def write(self, frames: np.ndarray, cancelled: threading.Event) -> None:
        import numpy as np

        if self._stream is not None and not cancelled.is_set():
            self._stream.write(np.ascontiguousarray(frames))  # type: ignore[attr-defined]

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.abort()  # type: ignore[attr-defined]
            stream.close()  # type: ignore[attr-defined]


def make_sink(output: str) -> Sink:
    """The sink for `[audio] output`: "null" or a sounddevice device."""
    return NullSink() if output == "null" else DeviceSink(output)
