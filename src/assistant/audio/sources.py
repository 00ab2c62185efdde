"""Where speech comes from: a file, raw PCM on stdin, or a microphone, as fixed-length frames.

Every source yields int16 mono frames at 16 kHz, `frame_ms` long (the last
one may be shorter), so the listener never sees the device's own format.
"""

from __future__ import annotations

import logging
import queue
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Protocol

import numpy as np

from assistant.audio.decode import SAMPLE_RATE_HZ, check_audio, stream, to_int16
from assistant.errors import AudioError

if TYPE_CHECKING:
    from assistant.audio.devices import Route

log = logging.getLogger(__name__)

FRAME_MS = 30
"""webrtcvad accepts 10, 20 or 30 ms frames."""


def frame_samples(frame_ms: int = FRAME_MS, sample_rate_hz: int = SAMPLE_RATE_HZ) -> int:
    return sample_rate_hz * frame_ms // 1000


class AudioSource(Protocol):
    """A stream of int16 mono frames at `sample_rate_hz`."""

    sample_rate_hz: int
    frame_ms: int

    def frames(self) -> Iterator[np.ndarray]: ...


class FileSource:
    """An audio file played as if it were the microphone; `realtime` paces it like one.

    The file is decoded as a stream (`assistant.audio.decode.stream`), so an
    hour-long recording costs no more memory than a short one, and stopping early
    (`listen --once`) stops the decoding too.
    """

    def __init__(
        self,
        path: str | Path,
        frame_ms: int = FRAME_MS,
        max_duration_s: float | None = 3600.0,
        realtime: bool = False,
        tail_silence_s: float = 1.0,
    ):
        self.path = Path(path)
        self.sample_rate_hz = SAMPLE_RATE_HZ
        self.frame_ms = frame_ms
        self.max_duration_s = max_duration_s
        self.realtime = realtime
        # Decoding the first half second says early and clearly if the file is not audio.
        check_audio(self.path)
        # A recording that stops mid-word still gets its last utterance closed.
        self._tail = np.zeros(int(tail_silence_s * SAMPLE_RATE_HZ), np.int16)

    def frames(self) -> Iterator[np.ndarray]:
        step = frame_samples(self.frame_ms)
        started = time.monotonic()
        for index, frame in enumerate(self._with_tail(step)):
            if self.realtime:  # the tail too: a microphone's silence takes its time
                delay = started + index * self.frame_ms / 1000.0 - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            yield frame

    def _with_tail(self, step: int) -> Iterator[np.ndarray]:
        for frame in self._decoded(step):
            if len(frame) < step:  # the last, short frame: pad it to a whole one
                frame = np.concatenate([frame, np.zeros(step - len(frame), np.int16)])
            yield frame
        for offset in range(0, len(self._tail), step):
            yield self._tail[offset : offset + step]

    def _decoded(self, step: int) -> Iterator[np.ndarray]:
        """int16 frames of `step` samples, until the file or `max_duration_s` ends."""
        left = None if self.max_duration_s is None else int(self.max_duration_s * SAMPLE_RATE_HZ)
        pending = np.zeros(0, np.int16)
        chunks = stream(self.path, SAMPLE_RATE_HZ, 1, 0.0)
        try:
            for chunk in chunks:
                pending = np.concatenate([pending, to_int16(chunk[:, 0])])
                if left is not None:
                    pending, left = pending[:left], left - min(left, len(pending))
                while len(pending) >= step:
                    yield pending[:step]
                    pending = pending[step:]
                if left == 0:
                    break
            if len(pending):
                yield pending
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()  # an ffmpeg subprocess is stopped, not run to the end


class StreamSource:
    """Raw signed 16-bit little-endian mono PCM at 16 kHz from a byte stream (`-` = stdin).

    For example: `arecord -f S16_LE -r 16000 -c 1 | assistant listen --input -`.
    """

    def __init__(self, stream: IO[bytes] | None = None, frame_ms: int = FRAME_MS):
        self.stream = stream if stream is not None else sys.stdin.buffer
        self.sample_rate_hz = SAMPLE_RATE_HZ
        self.frame_ms = frame_ms

    def frames(self) -> Iterator[np.ndarray]:
        size = frame_samples(self.frame_ms) * 2
        pending = b""
        while True:
            chunk = self.stream.read(size - len(pending))
            if not chunk:
                break
            pending += chunk
            if len(pending) == size:
                yield np.frombuffer(pending, dtype="<i2").astype(np.int16)
                pending = b""
        if len(pending) >= 2:
            yield np.frombuffer(pending[: len(pending) // 2 * 2], dtype="<i2").astype(np.int16)


class MicrophoneSource:
    """A microphone through PortAudio (sounddevice), resampled by PortAudio (or the sound server)
    to 16 kHz. `device` is a setting: "default", or a name or number from `assistant devices`."""

    def __init__(self, device: str | int | None = None, frame_ms: int = FRAME_MS):
        self.device = "default" if device in (None, "") else str(device)
        self.sample_rate_hz = SAMPLE_RATE_HZ
        self.frame_ms = frame_ms
        self._route: Route | None = None

    def check(self) -> None:
        """Raise `AudioError` now, with what to do, if there is no such microphone."""
        self._resolve()

    def _resolve(self) -> Route:
        from assistant.audio.devices import open_device

        if self._route is None:
            self._route = open_device(self.device, "input", "use --input FILE (an audio file)")
        return self._route

    def frames(self) -> Iterator[np.ndarray]:
        from assistant.audio.devices import portaudio

        sounddevice = portaudio()
        route = self._resolve()
        blocks: queue.Queue[np.ndarray] = queue.Queue(maxsize=200)

        def collect(data: np.ndarray, _frames: int, _time: object, status: object) -> None:
            if status:
                log.debug("microphone: %s", status)
            try:
                blocks.put_nowait(data[:, 0].copy())
            except queue.Full:
                log.warning("microphone: dropping audio, the listener is too slow")

        with route.opening() as device:
            try:
                stream = sounddevice.InputStream(
                    samplerate=SAMPLE_RATE_HZ,
                    channels=1,
                    dtype="int16",
                    device=device,
                    blocksize=frame_samples(self.frame_ms),
                    callback=collect,
                )
                stream.start()
            except (sounddevice.PortAudioError, ValueError) as error:
                raise AudioError(
                    f"cannot open microphone {self.device!r}: {error}; "
                    "see `assistant devices`, or use --input FILE"
                ) from None
        try:
            while True:
                yield blocks.get()
        finally:
            stream.stop()
            stream.close()


AUDIO_FILE_SUFFIXES = frozenset(
    {".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac", ".webm", ".raw"}
)
"""What an `--input` that names no existing file is taken as a file for (else a device name)."""


def open_source(
    spec: str,
    microphone: str = "default",
    frame_ms: int = FRAME_MS,
    max_duration_s: float | None = 3600.0,
) -> AudioSource:
    """ "-" = stdin, "mic" = the microphone setting, an audio file, else a microphone's name or
    number from `assistant devices`."""
    if spec == "-":
        return StreamSource(frame_ms=frame_ms)
    if spec in ("mic", "microphone"):
        return MicrophoneSource(microphone, frame_ms)
    path = Path(spec)
    if path.exists() or "/" in spec or path.suffix.lower() in AUDIO_FILE_SUFFIXES:
        return FileSource(spec, frame_ms, max_duration_s)
    return MicrophoneSource(spec, frame_ms)
