"""Reading Wyoming events with bounds, and audio in any format brought to 16 kHz mono int16.

The `wyoming` package's own reader trusts its peer: it reads any `data_length`
or `payload_length` it is told and waits forever for the rest of an event. A
server that anyone on the network may reach (Wyoming has no authentication)
reads through `read_event` here instead, which refuses oversized events, gives
up on a peer that stops half-way, and says in one line what was wrong.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from wyoming.audio import AudioChunkConverter
from wyoming.event import Event

from assistant.errors import AssistantError

SAMPLE_RATE_HZ = 16000
"""What the recognisers and the wake-word models take."""


class ProtocolError(AssistantError):
    """A peer sent something that is not a well-formed, acceptable Wyoming event."""


class SlowReader(ConnectionError):
    """A peer left what it was sent unread for longer than `Limits.write_timeout_s`."""


@dataclass(frozen=True)
class Limits:
    """Bounds on what one peer may send."""

    read_timeout_s: float = 30.0
    """Seconds to wait for the next event, or for the rest of one."""
    max_event_bytes: int = 65536
    """Largest header line, and largest data block, in bytes."""
    max_payload_bytes: int = 1_048_576
    """Largest payload of one event, in bytes."""
    max_audio_s: float = 60.0
    """Longest audio stream accepted for one request, in seconds."""
    max_text_chars: int = 20000
    """Longest text accepted for synthesis or handling."""
    write_timeout_s: float = 10.0
    """Seconds a peer may leave what it was sent unread (its socket full) before it is dropped."""

    @classmethod
    def from_settings(cls, settings: Any) -> Limits:
        """From `[wyoming]` settings."""
        return cls(
            settings.read_timeout_s,
            settings.max_event_bytes,
            settings.max_payload_bytes,
            settings.max_audio_s,
            settings.max_text_chars,
            settings.write_timeout_s,
        )


async def read_event(reader: asyncio.StreamReader, limits: Limits) -> Event | None:
    """The next event; None when the peer closed the connection between events.

    Raises ProtocolError for an oversized or malformed event, and for a peer that
    falls silent (or closes) in the middle of one; TimeoutError when no event comes.
    """
    try:
        line = await asyncio.wait_for(reader.readuntil(b"\n"), limits.read_timeout_s)
    except asyncio.IncompleteReadError as error:
        if error.partial.strip():
            raise ProtocolError("the connection closed in the middle of an event") from None
        return None
    except asyncio.LimitOverrunError:
        raise ProtocolError(
            f"an event header is longer than {limits.max_event_bytes} bytes"
        ) from None
    header = _json_object(line, "the event header")
    kind = header.get("type")
    if not isinstance(kind, str) or not kind:
        raise ProtocolError("the event header has no 'type'")
    data = header.get("data") or {}
    if not isinstance(data, dict):
        raise ProtocolError(f"{kind}: 'data' is not an object")
    data_length = _length(header, "data_length", limits.max_event_bytes, kind)
    payload_length = _length(header, "payload_length", limits.max_payload_bytes, kind)
    if data_length:
        extra = _json_object(await _read_exactly(reader, data_length, limits, kind), f"{kind} data")
        data = {**data, **extra}
    payload = await _read_exactly(reader, payload_length, limits, kind) if payload_length else None
    return Event(type=kind, data=data, payload=payload)


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise ProtocolError(f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise ProtocolError(f"{what} is not a JSON object")
    return value


def _length(header: dict[str, Any], key: str, most: int, kind: str) -> int:
    value = header.get(key) or 0
    if not isinstance(value, int) or value < 0:
        raise ProtocolError(f"{kind}: {key} must be a whole number of bytes")
    if value > most:
        raise ProtocolError(f"{kind}: {key} {value} is over the limit of {most} bytes")
    return value


async def _read_exactly(
    reader: asyncio.StreamReader, count: int, limits: Limits, kind: str
) -> bytes:
    try:
        return await asyncio.wait_for(reader.readexactly(count), limits.read_timeout_s)
    except asyncio.IncompleteReadError:
        raise ProtocolError(f"{kind}: the connection closed before the event's end") from None
    except TimeoutError:
        raise ProtocolError(
            f"{kind}: the rest of the event did not come within {limits.read_timeout_s:g} s"
        ) from None


@dataclass(frozen=True)
class AudioFormat:
    """The format a peer announced for its audio."""

    rate_hz: int
    width_bytes: int
    channels: int

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> AudioFormat:
        """From an audio-start or audio-chunk event's data; ProtocolError when unusable."""
        try:
            rate, width, channels = int(data["rate"]), int(data["width"]), int(data["channels"])
        except (KeyError, TypeError, ValueError):
            raise ProtocolError("audio needs whole-number 'rate', 'width' and 'channels'") from None
        if not 4000 <= rate <= 192000 or width not in (1, 2, 3, 4) or not 1 <= channels <= 8:
            raise ProtocolError(
                f"unsupported audio format: {rate} Hz, {width} bytes a sample, {channels} channels"
                " (4000-192000 Hz, 1-4 bytes, 1-8 channels)"
            )
        return cls(rate, width, channels)

    @property
    def frame_bytes(self) -> int:
        return self.width_bytes * self.channels


class AudioStream:
    """Audio chunks in the peer's format, brought to 16 kHz mono int16, up to a length cap."""

    def __init__(self, max_audio_s: float | None, keep: bool = True):
        """`max_audio_s`: None for a stream listened to for as long as it comes (a wake word's:
        `keep` must then be False); `keep`: False counts the audio only and holds none of it."""
        if max_audio_s is None and keep:
            raise ValueError("an audio stream without a length cap cannot keep its audio")
        self.keep = keep
        self.max_samples = int(max_audio_s * SAMPLE_RATE_HZ) if max_audio_s is not None else None
        self._converter = AudioChunkConverter(rate=SAMPLE_RATE_HZ, width=2, channels=1)
        self._format: AudioFormat | None = None
        self._parts: list[np.ndarray] = []
        self._count = 0

    def convert(self, data: dict[str, Any], audio: bytes) -> np.ndarray:
        """One chunk's samples at 16 kHz mono, also kept; ProtocolError when unusable or too long."""
        from wyoming.audio import AudioChunk

        fmt = AudioFormat.from_data(data)
        if len(audio) % fmt.frame_bytes:
            raise ProtocolError(
                f"an audio chunk of {len(audio)} bytes is not whole frames of {fmt.frame_bytes} bytes"
            )
        if fmt != self._format:  # the resampler's state belongs to one format
            self._format = fmt
            self._converter = AudioChunkConverter(rate=SAMPLE_RATE_HZ, width=2, channels=1)
        mono = _mono_int16(audio, fmt)
        chunk = AudioChunk(fmt.rate_hz, 2, 1, mono.astype("<i2").tobytes())
        samples = np.frombuffer(self._converter.convert(chunk).audio, dtype="<i2").astype(np.int16)
        self._count += len(samples)
        if self.max_samples is not None and self._count > self.max_samples:
            raise ProtocolError(f"the audio is longer than {self.max_samples / SAMPLE_RATE_HZ:g} s")
        if self.keep:
            self._parts.append(samples)
        return samples

    def samples(self) -> np.ndarray:
        """Everything received so far."""
        return np.concatenate(self._parts) if self._parts else np.zeros(0, np.int16)

    @property
    def duration_s(self) -> float:
        return self._count / SAMPLE_RATE_HZ


def _mono_int16(audio: bytes, fmt: AudioFormat) -> np.ndarray:
    """PCM of any width (8-bit unsigned, as in WAV; wider signed little-endian) and any number of
    channels, as int16 mono at the same rate (channels averaged)."""
    raw = np.frombuffer(audio, dtype=np.uint8)
    if fmt.width_bytes == 1:
        values = (raw.astype(np.int32) - 128) << 8
    elif fmt.width_bytes == 2:
        values = np.frombuffer(audio, dtype="<i2").astype(np.int32)
    elif fmt.width_bytes == 3:
        triples = raw.reshape(-1, 3).astype(np.int32)
        values = (triples[:, 0] | triples[:, 1] << 8 | triples[:, 2] << 16) << 8 >> 16
    else:
        values = np.frombuffer(audio, dtype="<i4").astype(np.int64) >> 16
    frames = values.reshape(-1, fmt.channels).mean(axis=1)
    return np.clip(frames, -32768, 32767).astype(np.int16)


def speech_events(
    samples: np.ndarray, rate_hz: int, chunk_samples: int = 1024, start_sample: int = 0
) -> list[Event]:
    """audio-start, audio-chunk..., audio-stop for int16 mono `samples`; `start_sample`: where they
    begin in a longer stream (its timestamps count from there)."""
    from wyoming.audio import AudioChunk, AudioStart, AudioStop

    data = np.asarray(samples, dtype="<i2").tobytes()
    step = chunk_samples * 2
    events = [AudioStart(rate=rate_hz, width=2, channels=1, timestamp=0).event()]
    for offset in range(0, len(data), step):
        timestamp = (start_sample + offset // 2) * 1000 // rate_hz
        events.append(AudioChunk(rate_hz, 2, 1, data[offset : offset + step], timestamp).event())
    events.append(AudioStop(timestamp=(start_sample + len(data) // 2) * 1000 // rate_hz).event())
    return events
