#!/usr/bin/env python3
"""Start-up benchmark: seconds from launching the chat to its first answer.

Usage: .venv/bin/python scripts/bench_startup.py [--engine lexical|transformer] [--runs N] [--fresh]

Warm (default): `assistant chat --json` with a trained home, start-up to the prompt plus one
dialog turn (no skill worker is started for it). `--fresh`: the interactive chat on a
pseudo-terminal in a new, empty home each run: the first answer comes while the classifier
trains in the background; the time until the trained classifier takes over is printed too.
Prints a markdown table.
"""

from __future__ import annotations

import argparse
import os
import pty
import select
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default="lexical", choices=["lexical", "transformer"])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--fresh", action="store_true", help="an empty home each run (transformer)")
    args = parser.parse_args()
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
            print("warming the classifier cache (first run trains)...", file=sys.stderr)
            print(f"first run (training included): {one_run(home, args.engine):.2f} s", file=sys.stderr)
            # The first run exports the encoder to ONNX in the background; wait for it.
            deadline = time.monotonic() + 300
            while not list(home.glob("models/onnx/*/model.onnx")) and time.monotonic() < deadline:
                time.sleep(1)
        times = [one_run(home, args.engine) for _ in range(args.runs)]
    print("| engine | runs | median s | max s |")
    print("|---|---|---|---|")
    print(f"| {args.engine} | {len(times)} | {statistics.median(times):.2f} | {max(times):.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
