#!/usr/bin/env python3
"""Start-up benchmark: seconds from launching the assistant to its first answer.

Usage: .venv/bin/python scripts/bench_startup.py [--engine lexical|transformer] [--runs N] [--fresh | --ways]

Warm (default): `assistant chat --json` with a trained home, start-up to the prompt plus one
dialog turn (no skill worker is started for it). `--fresh`: the interactive chat on a
pseudo-terminal in a new, empty home each run: the first answer comes while the classifier
trains in the background; the time until the trained classifier takes over is printed too.
`--ways`: every way in (`ask`, a piped `chat --json`, `listen --input FILE.wav`, `serve
--wyoming` and one conversation turn), each in a new home with the default configuration:
its first answer, then (once the training job it started has finished) a second start's.
Prints a markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pty
import select
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
READY = b"now understands requests"


def one_run(home: Path, engine: str) -> float:
    env = {**os.environ, "ASSISTANT_HOME": str(home), "ASSISTANT_NLU__ENGINE": engine, "HF_HUB_OFFLINE": "1"}
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "assistant", "chat", "--json"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=REPO,
    )
    assert process.stdin and process.stdout
    process.stdin.write("hello\n")
    process.stdin.flush()
    line = process.stdout.readline()
    elapsed = time.perf_counter() - started
    process.stdin.close()
    process.wait(timeout=30)
    if not line.strip():
        raise SystemExit("the chat printed nothing")
    return elapsed


def fresh_run(home: Path, timeout_s: float = 900) -> tuple[float, float]:
    """(seconds to the first answer, seconds until the trained classifier took over) in an empty home."""
    controller, terminal = pty.openpty()
    env = {**os.environ, "ASSISTANT_HOME": str(home), "ASSISTANT_NLU__ENGINE": "transformer", "HF_HUB_OFFLINE": "1",
           "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1"}  # fmt: skip
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "assistant", "chat"], stdin=terminal, stdout=terminal, stderr=terminal,
        env=env, cwd=REPO, close_fds=True, start_new_session=True,
    )  # fmt: skip
    os.close(terminal)
    seen = b""

    def wait_for(needle: bytes, after: int = 0) -> float:
        """Seconds since launch when `needle` has been printed after byte `after`."""
        nonlocal seen
        deadline = time.monotonic() + timeout_s
        while needle not in seen[after:] and time.monotonic() < deadline:
            if select.select([controller], [], [], 1)[0]:
                try:
                    seen += os.read(controller, 4096)
                except OSError:
                    break
        if needle not in seen[after:]:
            raise SystemExit(f"{needle!r} not seen; got {seen[-300:]!r}")
        return time.perf_counter() - started

    try:
        wait_for(b"you>")
        asked = len(seen)
        os.write(controller, b"what time is it\r")
        answered = wait_for(b"you>", after=asked)  # the next prompt follows the answer (its wording varies)
        trained = wait_for(READY)  # it may come before the answer on a fast machine
        os.write(controller, b"\x04")
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        os.close(controller)
    return answered, trained


def default_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    return env | {"ASSISTANT_HOME": str(home), "ASSISTANT_NLU__ENGINE": "transformer", "HF_HUB_OFFLINE": "1",
                  "PYTHONPATH": str(REPO / "src")}  # fmt: skip


def first_turn(args: list[str], home: Path, stdin: str | None = None) -> tuple[float, str]:
    """(seconds from launch to the first turn on standard output, standard error) of `assistant ARGS`."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "assistant", *args], env=default_env(home), cwd=REPO, text=True,
        stdin=subprocess.PIPE if stdin else subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout and process.stderr
    if stdin and process.stdin:
        process.stdin.write(stdin)
        process.stdin.close()
    elapsed = None
    for line in process.stdout:
        if line.strip() and (not line.startswith("{") or "event" not in json.loads(line)):
            elapsed = time.perf_counter() - started
            break
    process.stdout.close()
    process.wait(timeout=120)
    if elapsed is None:
        raise SystemExit(f"`assistant {' '.join(args)}` gave no answer: {process.stderr.read()[-500:]}")
    return elapsed, process.stderr.read()


def served_turn(home: Path) -> tuple[float, str]:
    """(seconds from launching `serve --wyoming` to its answer to one conversation turn, its standard error)."""
    from wyoming.asr import Transcript
    from wyoming.client import AsyncTcpClient

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "assistant", "serve", "--wyoming", f"tcp://127.0.0.1:{port}"],
        env=default_env(home), cwd=REPO, text=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip

    async def turn() -> str:
        while True:
            try:
                async with AsyncTcpClient("127.0.0.1", port, connect_timeout=1, read_timeout=120) as client:
                    await client.write_event(Transcript(text="what time is it", context={"conversation_id": "b"}).event())
                    while (event := await client.read_event()) is not None:
                        if event.type in {"handled", "not-handled", "not-recognized", "error"}:
                            return event.type
                    raise SystemExit("the server closed the connection")
            except OSError:
                if process.poll() is not None or time.perf_counter() - started > 300:
                    raise SystemExit("serve --wyoming never answered") from None
                await asyncio.sleep(0.05)

    try:
        answer = asyncio.run(turn())
        elapsed = time.perf_counter() - started
    finally:
        process.send_signal(signal.SIGINT)
        try:
            _, err = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            _, err = process.communicate()
    if answer != "handled":
        raise SystemExit(f"serve --wyoming answered {answer}")
    return elapsed, err


def spoken_command(path: Path) -> Path:
    """ "Hey Jarvis, what time is it?" in the default Piper voice."""
    sys.path.insert(0, str(REPO / "src"))
    import soundfile

    from assistant.config import TtsSettings
    from assistant.tts import make_synthesizer

    speech = make_synthesizer(TtsSettings(engine="piper")).synthesize("Hey Jarvis, what time is it?")
    soundfile.write(str(path), speech.samples, speech.sample_rate_hz)
    return path


def wait_for_training(home: Path, timeout_s: float = 1800) -> float:
    """Seconds until no training job holds the home's lock (the job of `assistant.nlu.trainjob`)."""
    import fcntl

    lock = home / "models" / "nlu" / "training.lock"
    started = time.perf_counter()
    if lock.exists():
        with open(lock) as handle:
            deadline = time.monotonic() + timeout_s
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise SystemExit("the training job did not finish") from None
                    time.sleep(0.5)
    if not list(home.glob("models/nlu/transformer-*/meta.json")):
        raise SystemExit(f"no classifier was trained in {home}")
    return time.perf_counter() - started


def ways_in() -> int:
    """A row per way in: the first answer in a fresh home, and in the same home once trained."""
    with tempfile.TemporaryDirectory() as scratch:
        command = spoken_command(Path(scratch) / "command.wav")
        ways = {
            "ask": lambda home: first_turn(["ask", "what time is it"], home),
            "chat --json (piped)": lambda home: first_turn(["chat", "--json"], home, "what time is it\n"),
            "listen --input FILE.wav": lambda home: first_turn(
                ["listen", "--input", str(command), "--once", "--json", "--output", "null"], home
            ),
            "serve --wyoming (a turn)": served_turn,
        }
        print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", file=sys.stderr)
        print("| way in, default configuration | fresh home: first answer s | says it trains | "
              "training done after s | second start: first answer s |")  # fmt: skip
        print("|---|---|---|---|---|")
        for name, run in ways.items():
            home = Path(scratch) / name.split()[0]
            home.mkdir()
            fresh_s, said = run(home)
            trained_s = fresh_s + wait_for_training(home)
            second_s, _ = run(home)
            told = "yes" if "training the intent classifier" in said else "no"
            print(f"| {name} | {fresh_s:.1f} | {told} | {trained_s:.0f} | {second_s:.1f} |", flush=True)
        print(f"load average after: {os.getloadavg()[0]:.1f}", file=sys.stderr)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default="lexical", choices=["lexical", "transformer"])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--fresh", action="store_true", help="an empty home each run (transformer)")
    parser.add_argument("--ways", action="store_true", help="every way in, fresh and second start (transformer)")
    args = parser.parse_args()
    if args.ways:
        return ways_in()
    if args.fresh:
        runs = []
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as folder:
                runs.append(fresh_run(Path(folder)))
        answers, trained = [a for a, _ in runs], [t for _, t in runs]
        print("| fresh home, transformer | runs | first answer, median s | max s | classifier ready, median s |")
        print("|---|---|---|---|---|")
        print(f"| chat on a terminal | {len(runs)} | {statistics.median(answers):.2f} | {max(answers):.2f} "
              f"| {statistics.median(trained):.1f} |")  # fmt: skip
        return 0
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        if args.engine == "transformer":
            print("training the classifier (assistant train)...", file=sys.stderr)
            env = default_env(home)
            subprocess.run([sys.executable, "-m", "assistant", "train"], env=env, cwd=REPO, check=True)
        times = [one_run(home, args.engine) for _ in range(args.runs)]
    print("| engine | runs | median s | max s |")
    print("|---|---|---|---|")
    print(f"| {args.engine} | {len(times)} | {statistics.median(times):.2f} | {max(times):.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
