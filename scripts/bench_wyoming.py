"""Wyoming benchmark: round trips as Home Assistant makes them, and satellites' reply latency.

Prints a markdown table of medians (p50) and 90th percentiles over `--requests` requests each:
- audio-stop -> transcript (a spoken command, transcribed by the command grammar + Whisper);
- transcript -> handled (the brain, in a conversation of its own);
- synthesize -> first audio chunk (the configured voice; Piper by default);
- satellites: end of speech in the room -> first reply audio there (two satellites fed spoken
  commands at a microphone's pace, served by `assistant serve --satellite`'s code).

Run from the repository root (a temporary home; the configured engines, transformer NLU by
default):

    .venv/bin/python scripts/bench_wyoming.py [--requests 20] [--satellite-turns 6] [--nlu lexical]

Speech is made with espeak-ng. Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

COMMANDS = [
    "what time is it",
    "set a timer for ten minutes",
    "what is the date today",
    "remind me to call mum at six pm",
    "play some jazz",
    "how much time is left on my timer",
    "stop the music",
    "cancel my timer",
]
SATELLITE_COMMANDS = ["what time is it", "what is the date today", "who are you", "how are you"]
"""Nothing that sets a timer: a satellite fed a file waits for its timers to finish."""
REPLIES = [
    "It's ten past four.",
    "OK, I'll remind you to water the plants at six in the evening.",
    "Timer set for ten minutes; it ends at four twenty.",
]


def spoken(text: str) -> tuple[np.ndarray, int]:
    import soundfile

    wav = subprocess.run(
        ["espeak-ng", "--stdout", "-s", "160", text], capture_output=True, check=True
    ).stdout
    samples, rate = soundfile.read(io.BytesIO(wav), dtype="int16")
    return samples, int(rate)


def figures(values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    p90 = ms[min(len(ms) - 1, int(0.9 * len(ms)))]
    return f"{statistics.median(ms):.0f} ms | {p90:.0f} ms | {len(ms)}"


async def round_trips(port: int, requests: int) -> dict[str, list[float]]:
    from wyoming.asr import Transcribe, Transcript
    from wyoming.audio import AudioChunk, AudioStart, AudioStop
    from wyoming.client import AsyncTcpClient
    from wyoming.tts import Synthesize

    async def client() -> AsyncTcpClient:
        c = AsyncTcpClient("127.0.0.1", port, read_timeout=120)
        await c.connect()
        return c

    async def until(c: AsyncTcpClient, kinds: set[str]) -> str:
        while True:
            event = await c.read_event()
            assert event is not None
            if event.type in kinds or event.type == "error":
                return event.type

    audio = [spoken(text) for text in COMMANDS]
    results: dict[str, list[float]] = {"asr": [], "handle": [], "tts": []}
    for index in range(requests):
        samples, rate = audio[index % len(audio)]
        c = await client()
        await c.write_event(Transcribe(language="en").event())
        await c.write_event(AudioStart(rate, 2, 1).event())
        data = samples.astype("<i2").tobytes()
        for offset in range(0, len(data), 2048):
            await c.write_event(AudioChunk(rate, 2, 1, data[offset : offset + 2048]).event())
        started = time.perf_counter()
        await c.write_event(AudioStop().event())
        await until(c, {"transcript"})
        results["asr"].append(time.perf_counter() - started)
        await c.disconnect()

        c = await client()
        text = COMMANDS[index % len(COMMANDS)]
        started = time.perf_counter()
        await c.write_event(
            Transcript(text=text, context={"conversation_id": f"bench-{index}"}).event()
        )
        await until(c, {"handled", "not-handled", "not-recognized"})
        results["handle"].append(time.perf_counter() - started)
        await c.disconnect()

        c = await client()
        started = time.perf_counter()
        await c.write_event(Synthesize(text=REPLIES[index % len(REPLIES)]).event())
        await until(c, {"audio-chunk"})
        results["tts"].append(time.perf_counter() - started)
        await until(c, {"audio-stop"})
        await c.disconnect()
    return results


async def satellites(app, services, turns: int) -> list[float]:  # type: ignore[no-untyped-def]
    """End of speech (as the room hears it) -> first reply audio there, two rooms at once."""
    from assistant.wyoming.satellite import Satellite
    from assistant.wyoming.satellite_link import SatelliteLinks
    from assistant.wyoming.server import Endpoint

    latencies: list[float] = []
    rooms = ["kitchen", "bedroom"]
    for turn in range(turns):
        pairs = []
        for offset, room in enumerate(rooms):
            samples, rate = spoken(
                SATELLITE_COMMANDS[(2 * turn + offset) % len(SATELLITE_COMMANDS)]
            )
            pairs.append((room, *paced(samples, rate)))
        sats = []
        marks: dict[str, dict[str, float]] = {}
        for room, frames, end_index in pairs:
            marks[room] = {}
            sats.append(
                Satellite(
                    room,
                    timed(frames, end_index, marks[room]),
                    _Silent(),
                    None,
                    on_event=lambda kind, _data, m=marks[room]: m.setdefault(
                        kind, time.perf_counter()
                    ),
                    one_request=True,
                )
            )
        endpoints = [await s.start(Endpoint.parse("tcp://127.0.0.1:0")) for s in sats]
        links = SatelliteLinks(app, services, endpoints)
        running = asyncio.create_task(links.run())
        try:
            await asyncio.wait_for(asyncio.gather(*(s.done.wait() for s in sats)), 120)
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
            for s in sats:
                await s.stop()
        for room in rooms:
            m = marks[room]
            if "reply-audio" in m and "end" in m:
                latencies.append(m["reply-audio"] - m["end"])
    return latencies


def paced(samples: np.ndarray, rate: int) -> tuple[list[np.ndarray], int]:
    """30 ms frames at 16 kHz (half a second of silence around), and the frame where speech ends."""
    from assistant.audio.decode import resample

    audio = resample(samples, rate, 16000).astype(np.int16)
    pad = np.zeros(8000, np.int16)
    audio = np.concatenate([pad, audio, pad, pad, pad])
    frames = [audio[i : i + 480] for i in range(0, len(audio) - 479, 480)]
    return frames, (8000 + len(resample(samples, rate, 16000))) // 480


def timed(frames: list[np.ndarray], end_index: int, marks: dict[str, float]):  # type: ignore[no-untyped-def]
    """The frames at a microphone's pace, marking when the last frame of speech was heard."""
    started = time.perf_counter()
    for index, frame in enumerate(frames):
        delay = started + index * 0.03 - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        if index == end_index:
            marks["end"] = time.perf_counter()
        yield frame


class _Silent:
    def play(self, samples: np.ndarray, sample_rate_hz: int) -> None:
        pass

    def stop(self) -> None:
        pass

    def close(self) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument(
        "--satellite-turns", type=int, default=6, help="each serves two rooms at once"
    )
    parser.add_argument("--nlu", choices=["transformer", "lexical"], default="transformer")
    args = parser.parse_args()

    from assistant.config import load_config
    from assistant.home import Home
    from assistant.runtime import Assistant
    from assistant.wyoming.server import AllowList, Endpoint, WyomingServer
    from assistant.wyoming.services import build_services

    with tempfile.TemporaryDirectory() as folder:
        home = Home(Path(folder)).ensure()
        app = Assistant(home, load_config(home.config_file, environ={"ASSISTANT_NLU__ENGINE": args.nlu}))
        started = time.perf_counter()
        services = build_services(app, wake=False)
        ready_s = time.perf_counter() - started
        loop = asyncio.new_event_loop()
        threading.Thread(target=loop.run_forever, daemon=True).start()

        def run(coroutine):  # type: ignore[no-untyped-def]
            return asyncio.run_coroutine_threadsafe(coroutine, loop).result()

        server = WyomingServer(services, AllowList(["127.0.0.1"]))
        bound = run(server.start(Endpoint.parse("tcp://127.0.0.1:0")))
        trips = asyncio.run(round_trips(bound.port, args.requests))
        latencies = run(satellites(app, services, args.satellite_turns))
        run(server.stop())
        loop.call_soon_threadsafe(loop.stop)
        services.close()
        app.close()

    voice = next(iter(services.voices.synthesizers)) if services.voices else "-"
    print(
        f"Engines: stt {services.info.asr[0].models[0].name}, voice {voice}, nlu {args.nlu}; "
        f"models loaded in {ready_s:.1f} s\n"
    )
    print("| Wyoming round trip | p50 | p90 | n |")
    print("|---|---|---|---|")
    print(f"| audio-stop -> transcript | {figures(trips['asr'])} |")
    print(f"| transcript -> handled | {figures(trips['handle'])} |")
    print(f"| synthesize -> first audio chunk | {figures(trips['tts'])} |")
    if latencies:
        print(f"| satellites: end of speech -> first reply audio | {figures(latencies)} |")


if __name__ == "__main__":
    main()
