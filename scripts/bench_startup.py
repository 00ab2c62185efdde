#!/usr/bin/env python3
"""Start-up benchmark: seconds from launching `assistant chat --json` to its first answer.

Usage: .venv/bin/python scripts/bench_startup.py [--engine lexical|transformer] [--runs N]
The first answer needs the chat to be ready, so this is start-up to the prompt plus one
dialog turn (no skill worker is started for it). Prints a markdown row.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default="lexical", choices=["lexical", "transformer"])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
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
