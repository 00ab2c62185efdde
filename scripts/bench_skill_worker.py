"""What confinement costs and what its limits look like: figures for docs/skills.md section 9.

    .venv/bin/python scripts/bench_skill_worker.py [--runs 10] [--json]

1. Worker start, confined (capabilities, Landlock, seccomp, limits) against unconfined (limits
   only): from spawning the process to its `ready` message, and to the first answer.
2. The memory cap: what a skill that keeps allocating gets, and where.
3. Killing a hung worker that started 40 children (without the seccomp filter, which would
   refuse the first fork): from the kill to the last process of its group gone.
4. The bundled skills under the default limits: each worker's peak memory after a turn.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from assistant.skills import protocol
from assistant.skills.process import WorkerProcess, process_group
from assistant.skills.sandbox import Confinement, Limits

ACTION = '''
import ctypes, os, time
from assistant.skills.sdk import Response

def run(request):
    what = request.utterance
    if what == "allocate":
        held, step = [], 64 * 2**20
        try:
            while True:
                held.append(bytearray(step))
        except MemoryError as error:
            return Response(text=f"{len(held) * 64} MiB, then {type(error).__name__}")
    if what == "fork":
        fork = ctypes.CDLL(None).fork
        for _ in range(40):
            if fork() == 0:
                time.sleep(600)
                os._exit(0)
        time.sleep(600)
    return Response(text="pong")
'''


def tiny_skill(root: Path) -> Path:
    folder = root / "bench"
    (folder / "actions").mkdir(parents=True)
    (folder / "actions" / "act.py").write_text(ACTION)
    return folder


def payload(utterance: str, data: Path) -> dict[str, Any]:
    return {"utterance": utterance, "action": "act", "entities": {}, "settings": {}, "locale": "en",
            "answers": {}, "context": {}, "data_dir": str(data)}


def start(skill: Path, data: Path, confined: bool, seccomp: bool = True) -> WorkerProcess:
    confinement = Confinement.for_skill("bench", skill, data, [])
    confinement = Confinement(**{**confinement.to_dict(), "filter_system_calls": seccomp})
    return WorkerProcess("bench", skill, data, Limits(), confinement if confined else None)


def answer(worker: WorkerProcess, utterance: str, data: Path, timeout_s: float = 60) -> str:
    worker.channel.send({"kind": "run", "payload": payload(utterance, data)})
    while True:
        message = protocol.parse_worker_message("bench", worker.channel.receive(timeout_s))
        if isinstance(message, protocol.Done):
            return message.response.text


def start_times(skill: Path, data: Path, runs: int) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for confined in (False, True, False, True):  # interleaved, twice, against drift
        ready, first = figures.setdefault("confined" if confined else "unconfined", ([], []))
        for _ in range(runs // 2):
            worker = start(skill, data, confined)
            message = protocol.parse_worker_message("bench", worker.channel.receive(30))
            ready.append(time.monotonic() - worker.started)
            assert isinstance(message, protocol.Ready), message
            answer(worker, "ping", data)
            first.append(time.monotonic() - worker.started)
            worker.guards = list(message.guards)
            worker.stop()
    return {
        name: {"ready_ms_p50": 1000 * statistics.median(ready), "ready_ms_max": 1000 * max(ready),
               "first_answer_ms_p50": 1000 * statistics.median(first)}
        for name, (ready, first) in figures.items()
    }


def memory_cap(skill: Path, data: Path) -> str:
    worker = start(skill, data, confined=True)
    try:
        return answer(worker, "allocate", data)
    finally:
        worker.stop()


def kill_with_children(skill: Path, data: Path) -> dict[str, Any]:
    worker = start(skill, data, confined=True, seccomp=False)
    worker.channel.send({"kind": "run", "payload": payload("fork", data)})
    deadline = time.monotonic() + 30
    while len(process_group(worker.pid)) < 41 and time.monotonic() < deadline:
        time.sleep(0.05)
    members = len(process_group(worker.pid))
    began = time.monotonic()
    worker.kill()
    while process_group(worker.pid):
        time.sleep(0.001)
    return {"processes": members, "kill_to_all_gone_ms": 1000 * (time.monotonic() - began)}


BUNDLED_TURNS = [
    "remind me in 10 minutes to call mum", "set a timer for 5 minutes", "what can you do",
    "here is some text the museum opened in 1901", "when did the museum open",
    "summarize the text", "play some music",
]


def bundled_peaks(home: Path) -> dict[str, Any]:
    from assistant.config import load_config
    from assistant.home import Home
    from assistant.runtime import Assistant

    os.environ["ASSISTANT_HOME"] = str(home)
    app = Assistant(Home(home).ensure(), load_config(home / "config.toml", environ={"ASSISTANT_NLU__ENGINE": "lexical"}))
    session = app.open_session()
    try:
        for utterance in BUNDLED_TURNS:
            session.handle(utterance)
        peaks = {}
        for skill_id, worker in app.runner()._workers.items():
            status = Path(f"/proc/{worker.pid}/status").read_text()
            fields = dict(line.split(":", 1) for line in status.splitlines())
            peaks[skill_id] = {"peak_rss_mb": int(fields["VmHWM"].split()[0]) / 1024,
                               "data_mb": int(fields["VmData"].split()[0]) / 1024, "guards": worker.guards}
        return peaks
    finally:
        session.close()
        app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10, help="worker starts per kind (default 10)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        skill, data = tiny_skill(root), root / "data"
        data.mkdir()
        figures = {
            "start": start_times(skill, data, args.runs),
            "memory_cap": memory_cap(skill, data),
            "kill_40_children": kill_with_children(skill, data),
            "bundled": bundled_peaks(root / "home"),
        }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    for kind, values in figures["start"].items():
        print(f"start {kind:11s} ready p50 {values['ready_ms_p50']:.0f} ms (max {values['ready_ms_max']:.0f}),"
              f" first answer p50 {values['first_answer_ms_p50']:.0f} ms")
    print(f"memory cap (1024 MiB): allocated {figures['memory_cap']}")
    kill = figures["kill_40_children"]
    print(f"kill a worker of {kill['processes']} processes: all gone in {kill['kill_to_all_gone_ms']:.0f} ms")
    for skill_id, peak in figures["bundled"].items():
        print(f"bundled {skill_id:18s} peak RSS {peak['peak_rss_mb']:.0f} MiB, writable {peak['data_mb']:.0f} MiB;"
              f" {', '.join(peak['guards'] or [])}")


if __name__ == "__main__":
    sys.exit(main())
