"""assistant.wyoming.satellite and satellite_link: satellites on loopback, each fed a spoken command
from a file, served by the assistant in Home Assistant's assist_satellite event order."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile

from wyoming_support import Loop, make_app, spoken

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")


class RecordingSink:
    """A speaker that keeps what it was given."""

    def __init__(self) -> None:
        self.played: list[tuple[np.ndarray, int]] = []

    def play(self, samples: np.ndarray, sample_rate_hz: int) -> None:
        self.played.append((samples, sample_rate_hz))

    def stop(self) -> None:
        pass

    def close(self) -> None:
        pass


class Room:
    """A satellite fed one spoken command, with what it heard and played."""

    def __init__(self, name: str, command: str, folder: Path, plays: int = 1):
        """`plays`: the room is done once it has played this many replies."""
        from assistant.audio.sources import FileSource

        samples, rate = spoken(command)
        path = folder / f"{name}.wav"
        soundfile.write(path, samples, rate)
        self.name = name
        self.plays = plays
        self.source = FileSource(path)
        self.sink = RecordingSink()
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.satellite: Any = None

    def on_event(self, kind: str, data: dict[str, Any]) -> None:
        self.events.append((kind, data))
        if kind == "played" and self.kinds().count("played") == self.plays:
            self.satellite.done.set()

    def kinds(self) -> list[str]:
        skipped = ("reply-audio", "voice-started", "voice-stopped", "connected", "disconnected")
        return [kind for kind, _data in self.events if kind not in skipped]

    def texts(self, kind: str) -> list[str]:
        return [str(data.get("text", "")) for k, data in self.events if k == kind]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    app = make_app(tmp_path_factory.mktemp("home"))
    app.start_background()  # the scheduler: timers and reminders come due
    yield app
    app.close()


@pytest.fixture(scope="module")
def services(app: Any) -> Any:
    from assistant.wyoming.services import build_services

    services = build_services(app, wake=False)
    yield services
    services.close()


def serve_rooms(app: Any, services: Any, rooms: list[Room], timeout_s: float = 90) -> Any:
    """Start each room's satellite, connect the server to all, wait until every room is done."""
    from assistant.wyoming.satellite import Satellite
    from assistant.wyoming.satellite_link import SatelliteLinks
    from assistant.wyoming.server import Endpoint

    loop = Loop()

    async def go() -> Any:
        endpoints = []
        for room in rooms:
            room.satellite = Satellite(
                room.name, room.source.frames(), room.sink, None, on_event=room.on_event
            )
            endpoints.append(await room.satellite.start(Endpoint.parse("tcp://127.0.0.1:0")))
        links = SatelliteLinks(app, services, endpoints)
        running = asyncio.create_task(links.run())
        try:
            await asyncio.wait_for(
                asyncio.gather(*(room.satellite.done.wait() for room in rooms)), timeout_s
            )
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
            for room in rooms:
                await room.satellite.stop()
        return links

    try:
        return loop.run(go(), timeout=timeout_s + 30)
    finally:
        loop.close()


def heard(services: Any, sink: RecordingSink, index: int) -> str:
    """What the recogniser hears in the room's `index`th reply."""
    from assistant.audio.decode import resample

    samples, rate = sink.played[index]
    return str(services.transcriber.transcribe(resample(samples, rate, 16000)).text).lower()


def test_two_satellites_at_once_each_get_their_own_answer_and_the_timer_rings_in_its_room(
    tmp_path: Path, app: Any, services: Any
) -> None:
    # Five, not three: on the current grammar espeak's "three seconds" is heard as "thirty".
    kitchen = Room("kitchen", "set a timer for five seconds", tmp_path, plays=2)
    bedroom = Room("bedroom", "what time is it", tmp_path)
    links = serve_rooms(app, services, [kitchen, bedroom])

    # Home Assistant's order: run-pipeline and audio, transcript, synthesize, audio out, played.
    assert bedroom.kinds() == ["wake", "transcribe", "transcript", "synthesize", "played"]
    assert kitchen.kinds()[:5] == ["wake", "transcribe", "transcript", "timer-started", "synthesize"]
    # The reply is sent at the pace it is heard: on a busy machine the five seconds may be over
    # before it has been played; the timer's own announcement comes after it all the same.
    assert [k for k in kitchen.kinds()[5:] if k != "timer-finished"] == ["played", "synthesize", "played"]
    assert "timer" in kitchen.texts("transcript")[0].lower()
    assert "time" in bedroom.texts("transcript")[0].lower()

    # The timer: started and finished in the kitchen only, then announced there.
    started = [d for k, d in kitchen.events if k == "timer-started"]
    finished = [d for k, d in kitchen.events if k == "timer-finished"]
    assert len(started) == 1 and started[0]["total_seconds"] == 5
    assert [d["id"] for d in finished] == [started[0]["id"]]
    assert not any(kind.startswith("timer") for kind in bedroom.kinds())
    assert len(kitchen.sink.played) == 2 and len(bedroom.sink.played) == 1

    # Each room heard its own answer, spoken.
    assert re.search(r"\b(5|five) seconds\b", kitchen.texts("synthesize")[0].lower())
    assert "seconds" not in bedroom.texts("synthesize")[0].lower()
    assert re.search(r"\b(5|five) seconds\b", heard(services, kitchen.sink, 0))
    assert "seconds" not in heard(services, bedroom.sink, 0)
    assert "timer" in kitchen.texts("synthesize")[1].lower()  # "Your 5 second timer is done."
    assert all(value >= 0 for link in links.links for value in link.timings)


def test_a_reminder_set_in_the_kitchen_rings_in_the_kitchen(
    tmp_path: Path, app: Any, services: Any
) -> None:
    kitchen = Room("kitchen", "remind me to stir the soup in five seconds", tmp_path, plays=2)
    bedroom = Room("bedroom", "what time is it", tmp_path)
    serve_rooms(app, services, [kitchen, bedroom])
    said = kitchen.texts("synthesize")
    assert "stir the soup" in said[0].lower() and "stir the soup" in said[1].lower(), said
    assert len(bedroom.sink.played) == 1
    assert "soup" not in " ".join(bedroom.texts("synthesize")).lower()
    # The reminder belonged to the kitchen's room, the satellite's name. (The newest occurrence:
    # the module's services have rung the other test's kitchen timer too.)
    newest = app.services()["scheduler"].history()[0]["job"]
    assert newest["room"] == "kitchen" and newest["kind"] == "reminder", newest


def test_the_satellite_command_serves_a_file_and_writes_the_reply(tmp_path: Path) -> None:
    """`assistant satellite --input FILE --output FILE.wav`, driven by `assistant serve --satellite`."""
    import os
    import socket

    samples, rate = spoken("what time is it")
    soundfile.write(tmp_path / "ask.wav", samples, rate)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")},
        "ASSISTANT_HOME": str(tmp_path / "home"),
        "ASSISTANT_NLU__ENGINE": "lexical",
        "ASSISTANT_TTS__ENGINE": "espeak",
    }
    command = [sys.executable, "-m", "assistant"]
    satellite = subprocess.Popen(
        [*command, "satellite", "--wyoming", f"tcp://127.0.0.1:{port}", "--name", "study",
         "--input", str(tmp_path / "ask.wav"), "--output", str(tmp_path / "reply.wav"), "--json"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    time.sleep(2)
    server = subprocess.Popen(
        [*command, "serve", "--satellite", f"tcp://127.0.0.1:{port}", "--no-wake"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        out, err = satellite.communicate(timeout=120)
    finally:
        server.kill()
        served = server.communicate()[1]
        satellite.kill()
    assert satellite.returncode == 0, err
    # One line each when ready, and when the other side connects.
    assert "waiting for a server" in err and "server 127.0.0.1 connected" in err, err
    assert "ready for satellites" in served and "satellite study connected" in served, served
    assert '"event": "transcript"' in out and '"event": "played"' in out, out + err
    reply, reply_rate = soundfile.read(tmp_path / "reply.wav", dtype="int16")
    assert len(reply) / reply_rate > 0.5


class SpeakerSink(RecordingSink):
    """A speaker as the mixer's is: `play` queues the audio and returns at once."""

    realtime = True


def test_the_satellite_says_played_once_the_reply_has_been_heard_not_when_it_starts() -> None:
    from wyoming.audio import AudioChunk, AudioStart, AudioStop

    from assistant.wyoming.satellite import ANSWERING, IDLE, Satellite
    from assistant.wyoming.server import Endpoint
    from wyoming_support import request

    sink = SpeakerSink()
    satellite = Satellite("porch", iter(()), sink, None)
    loop = Loop()
    try:
        endpoint = loop.run(satellite.start(Endpoint.parse("tcp://127.0.0.1:0")))

        async def reply() -> tuple[float, list[str]]:
            from wyoming.client import AsyncTcpClient

            client = AsyncTcpClient("127.0.0.1", endpoint.port, connect_timeout=5, read_timeout=10)
            await client.connect()
            second = np.zeros(16000, np.int16).tobytes()  # 1 s of audio, in two chunks
            events = [AudioStart(16000, 2, 1).event(), AudioChunk(16000, 2, 1, second[:16000]).event(),
                      AudioChunk(16000, 2, 1, second[16000:]).event(), AudioStop().event()]  # fmt: skip
            started = time.monotonic()
            for event in events:
                await client.write_event(event)
            await asyncio.sleep(0.3)
            states.append(satellite.state)  # playing: its wake word is not listened for
            answer = await request(client, [], {"played"})
            states.append(satellite.state)
            await client.disconnect()
            return time.monotonic() - started, [e.type for e in answer]

        states: list[str] = []
        waited_s, kinds = loop.run(reply())
    finally:
        loop.run(satellite.stop())
        loop.close()
    assert kinds == ["played"]
    assert 0.9 <= waited_s < 3.0, waited_s  # the reply lasts 1 s: played when it has been heard
    assert len(sink.played) == 2  # each chunk went to the speaker as it came
    assert states == [ANSWERING, IDLE]
