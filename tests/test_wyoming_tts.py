"""assistant.wyoming.tts: speech sent sentence by sentence as it is made, and a client that never
reads stops the synthesis it asked for. A real espeak-ng voice, a real server on a loopback port,
and real sockets (the `wyoming` client, and a raw socket that never reads)."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop

from wyoming_support import RunningServer, joined_audio, request

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")

SENTENCES = " ".join(f"This is sentence number {n}." for n in range(1, 7))


@dataclass
class Watched:
    """A real voice that counts the sentences it has made and, once `hold` is set, makes no
    sentence after the first until `go` is set."""

    voice: Any
    hold: bool = False
    go: threading.Event = field(default_factory=threading.Event)
    made: int = 0

    @property
    def name(self) -> str:
        return str(self.voice.name)

    def load(self) -> None:
        self.voice.load()

    def synthesize(self, text: str) -> Any:
        from assistant.tts.base import Speech

        parts = list(self.synthesize_stream(text))
        return Speech(np.concatenate([p.samples for p in parts]), parts[0].sample_rate_hz)

    def synthesize_stream(self, text: str) -> Iterator[Any]:
        for speech in self.voice.synthesize_stream(text):
            if self.made and self.hold:
                self.go.wait(60)
            self.made += 1
            yield speech


def serve(voice: Watched, write_timeout_s: float = 10.0) -> RunningServer:
    from assistant.wyoming.info import describe
    from assistant.wyoming.services import Services
    from assistant.wyoming.tts import Voices
    from assistant.wyoming.wire import Limits

    voices = Voices({"watched": voice})  # type: ignore[dict-item]
    limits = Limits(write_timeout_s=write_timeout_s)
    return RunningServer(Services(describe(None, voices, [], False), voices=voices, limits=limits))


@pytest.fixture
def espeak() -> Any:
    from assistant.config import TtsSettings
    from assistant.tts import make_synthesizer

    return make_synthesizer(TtsSettings(engine="espeak"))


@pytest.mark.parametrize("streamed", [False, True], ids=["synthesize", "synthesize-start"])
def test_the_first_sentence_is_heard_before_the_next_is_made(espeak: Any, streamed: bool) -> None:
    voice = Watched(espeak, hold=True)
    running = serve(voice)
    if streamed:
        events = [
            SynthesizeStart().event(),
            SynthesizeChunk(text=SENTENCES).event(),
            SynthesizeStop().event(),
        ]
        end = "synthesize-stopped"
    else:
        events = [Synthesize(text=SENTENCES).event()]
        end = "audio-stop"

    async def go() -> tuple[list[Any], list[Any]]:
        async with running.client(read_timeout=20) as client:
            first = await request(client, events, {"audio-chunk"})
            voice.go.set()  # only now may the second sentence be made
            return first, await request(client, [], {end})

    try:
        first, rest = asyncio.run(go())
    finally:
        voice.go.set()
        running.close()
    assert [e.type for e in first] == ["audio-start", "audio-chunk"]
    assert voice.made == 6
    kinds = [e.type for e in first + rest]
    assert kinds.count("audio-start") == 1 and kinds.count("audio-stop") == 1
    samples, rate = joined_audio(first + rest)
    assert len(samples) / rate > 6  # six sentences of speech, all of them sent
    stamps = [e.data["timestamp"] for e in first + rest if e.type == "audio-chunk"]
    assert stamps == sorted(stamps) and stamps[-1] > 5000  # one stream, counted in ms throughout
    stop = next(e for e in rest if e.type == "audio-stop")
    assert stop.data["timestamp"] == len(samples) * 1000 // rate


def test_a_client_that_never_reads_is_dropped_and_its_synthesis_stops(espeak: Any) -> None:
    voice = Watched(espeak)
    running = serve(voice, write_timeout_s=1.0)
    text = " ".join(f"Sentence {n} of a reply nobody reads." for n in range(1, 401))
    header = {"type": "synthesize", "data_length": 0}
    data = json.dumps({"text": text}).encode()
    header["data_length"] = len(data)
    try:
        with socket.socket() as silent:
            silent.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            silent.connect(("127.0.0.1", running.port))
            silent.sendall(json.dumps(header).encode() + b"\n" + data)
            deadline = time.monotonic() + 60
            while not voice.made and time.monotonic() < deadline:  # the request is being served
                time.sleep(0.05)
            while running.server.open_connections and time.monotonic() < deadline:
                time.sleep(0.2)
            assert running.server.open_connections == 0, "the silent client is still served"
            made = voice.made
            time.sleep(2)
            # Nothing more is made for it; and only what its buffers could hold was made at all.
            assert voice.made <= made + 1
            assert 0 < voice.made < 100, voice.made
    finally:
        running.close()
    # The server is none the worse for it.
    other = serve(voice)
    try:

        async def go() -> list[Any]:
            async with other.client() as client:
                return await request(client, [Synthesize(text="Still here.").event()], {"audio-stop"})

        assert asyncio.run(go())[-1].type == "audio-stop"
    finally:
        other.close()
