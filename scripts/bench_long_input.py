#!/usr/bin/env python3
"""Long utterances: seconds and extra peak memory for one turn of 30 KB, 100 KB and 1 MB of text.

Usage: .venv/bin/python scripts/bench_long_input.py [--engine lexical|transformer]
           [--sizes 30000,100000,1000000] [--kinds prose,qa,reminder] [--limit CHARS] [--home DIR]
Each turn runs in a fresh process with its own home: the assistant is built and warmed
with one short turn per kind, the peak resident memory is reset (/proc/self/clear_refs),
then the long utterance is handled once. "extra MB" is the peak during that turn minus
the resident memory before it. A turn that passes --kill-s seconds or --kill-mb MB of
resident memory is stopped. `--limit` sets [general] max_utterance_chars (default: large
enough to read every size, so that understanding itself is measured, not the refusal).
Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SENTENCES = [
    "The museum opened in 1901 at 9 am on Monday, 3 December, and it holds 42 old maps.",
    "About 10 percent of them can be seen at example.com for twenty minutes a day.",
    "Its architect, Anna Berg, designed the bridge two and a half hours from the city.",
    "Tomorrow at noon the cooperative will vote on moving the cafe to Friday at ten.",
    "Nobody knows why the lighthouse keeper left after 3 weeks, at half past seven.",
]
PREFIXES = {"prose": "", "qa": "here is some text ", "reminder": "remind me to "}
SUFFIXES = {"prose": "", "qa": "", "reminder": " in 10 minutes"}


def utterance(kind: str, chars: int) -> str:
    body: list[str] = []
    size, index = 0, 0
    while size < chars:
        sentence = SENTENCES[index % len(SENTENCES)].replace("42", str(index))
        body.append(sentence)
        size += len(sentence) + 1
        index += 1
    text = " ".join(body)
    return (PREFIXES[kind] + text)[: chars - len(SUFFIXES[kind])] + SUFFIXES[kind]


def _status(field: str) -> int:
    """A /proc/self/status field in kB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def child(kind: str, chars: int) -> None:
    from assistant.runtime import Assistant

    assistant = Assistant.from_home()
    try:
        session = assistant.open_session()
        session.handle(utterance(kind, 300))  # warm: models loaded, the skill's worker started
        session.handle("never mind")
        text = utterance(kind, chars)
        Path("/proc/self/clear_refs").write_text("5")  # peak resident memory := current
        before_kb = _status("VmRSS")
        started = time.perf_counter()
        turn = session.handle(text)
        elapsed = time.perf_counter() - started
        peak_kb = _status("VmHWM")
        print(
            json.dumps(
                {
                    "seconds": elapsed,
                    "extra_mb": (peak_kb - before_kb) / 1024,
                    "label": f"{turn.skill}.{turn.action}",
                    "reply": turn.reply.text[:70],
                }
            ),
            flush=True,
        )
    finally:
        assistant.close()


def run_one(engine: str, kind: str, chars: int, limit: int, kill_s: float, kill_mb: float, home: Path) -> dict:
    env = {
        **os.environ,
        "ASSISTANT_HOME": str(home),
        "ASSISTANT_NLU__ENGINE": engine,
        "ASSISTANT_GENERAL__MAX_UTTERANCE_CHARS": str(limit),
        "ASSISTANT_RUNTIME__TIMEOUT_S": "120",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    process = subprocess.Popen(
        [sys.executable, __file__, "--child", kind, str(chars)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=REPO,
    )
    started = time.monotonic()
    peak_mb = 0.0
    while process.poll() is None:
        try:
            rss_kb = int(Path(f"/proc/{process.pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024
        except (OSError, IndexError):
            rss_kb = 0
        peak_mb = max(peak_mb, rss_kb / 1024)
        if peak_mb > kill_mb or time.monotonic() - started > kill_s:
            process.kill()
            process.wait()
            return {"stopped": f"stopped at {time.monotonic() - started:.0f} s, {peak_mb:.0f} MB resident"}
        time.sleep(0.05)
    out = (process.stdout.read() if process.stdout else "").strip().splitlines()
    if not out:
        return {"stopped": f"exit {process.returncode}"}
    result = json.loads(out[-1])
    if process.returncode != 0:
        result["reply"] = f"(then exit {process.returncode}) " + result["reply"]
    return result


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default="lexical", choices=["lexical", "transformer"])
    parser.add_argument("--sizes", default="30000,100000,1000000")
    parser.add_argument("--kinds", default="prose,qa,reminder")
    parser.add_argument("--limit", type=int, default=2_000_000, help="[general] max_utterance_chars")
    parser.add_argument("--kill-s", type=float, default=120)
    parser.add_argument("--kill-mb", type=float, default=4000)
    parser.add_argument("--home", type=Path, help="an assistant home to reuse (a trained classifier, an exported encoder)")
    args = parser.parse_args()
    print(f"engine: {args.engine}, max_utterance_chars: {args.limit}\n")
    print("| utterance | characters | seconds | extra peak MB | understood as | reply |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        home = args.home or Path(folder)  # shared, so that the transformer classifier is trained once
        for kind in args.kinds.split(","):
            for chars in (int(size) for size in args.sizes.split(",")):
                result = run_one(args.engine, kind, chars, args.limit, args.kill_s, args.kill_mb, home)
                if "stopped" in result:
                    print(f"| {kind} | {chars:,} | {result['stopped']} | | | |", flush=True)
                    continue
                print(
                    f"| {kind} | {chars:,} | {result['seconds']:.2f} | {result['extra_mb']:.0f} "
                    f"| {result['label']} | {result['reply']!r} |",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
