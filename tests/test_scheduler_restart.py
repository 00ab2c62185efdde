"""The scheduler in a real process killed with SIGKILL and started again: every job exactly once."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

DRIVER = """
import json, sys
from assistant.config import SchedulerSettings
from assistant.home import Home
from assistant.services.scheduler import SchedulerService

def show(note):
    print(json.dumps(note.to_dict()), flush=True)

service = SchedulerService(Home.from_env().ensure(), SchedulerSettings(grace_time_s=int(sys.argv[1])), show)
service.start()
print(json.dumps({"event": "ready"}), flush=True)
for line in sys.stdin:
    job = service.add(**json.loads(line))
    print(json.dumps({"event": "added", **job}), flush=True)
"""


class Assistant:
    """The driver process; its stdout lines arrive in a queue."""

    def __init__(self, home: Path, grace_time_s: int) -> None:
        env = {**os.environ, "ASSISTANT_HOME": str(home), "HF_HUB_OFFLINE": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-c", DRIVER, str(grace_time_s)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.announced: list[dict[str, Any]] = []
        while (line := self.next(timeout_s=20))["event"] != "ready":
            self.announced.append(line)  # catch-up notifications come first

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(json.loads(line))

    def next(self, timeout_s: float) -> dict[str, Any]:
        return self.lines.get(timeout=timeout_s)

    def drain(self, for_s: float) -> list[dict[str, Any]]:
        end, got = time.monotonic() + for_s, []
        while (left := end - time.monotonic()) > 0:
            try:
                got.append(self.lines.get(timeout=left))
            except queue.Empty:
                break
        return got

    def add(self, delay_s: float, text: str) -> dict[str, Any]:
        assert self.process.stdin is not None
        job = {"skill": "reminders", "kind": "reminder", "when": {"delay_s": delay_s},
               "payload": {"text": text}}  # fmt: skip
        self.process.stdin.write(json.dumps(job) + "\n")
        self.process.stdin.flush()
        added = self.next(timeout_s=10)
        assert added["event"] == "added"
        return added

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


def test_jobs_survive_sigkill_and_each_is_delivered_or_announced_exactly_once(tmp_path):
    first = Assistant(tmp_path, grace_time_s=5)
    try:
        first.add(1.0, "on time")
        first.add(2.0, "due while down, long ago")
        first.add(7.0, "due while down, lately")
        pending = first.add(600.0, "still pending")
        assert first.announced == []
        delivered = first.next(timeout_s=5)
        assert delivered["text"] == "on time" and delivered["data"]["status"] == "on_time"
    finally:
        first.kill()
    time.sleep(max(0.0, 9.0 - 1.5))

    second = Assistant(tmp_path, grace_time_s=5)
    try:
        announced = second.announced + second.drain(for_s=1.5)
    finally:
        second.kill()
    by_status = {line["data"]["status"]: line["text"] for line in announced}
    assert len(announced) == 2, announced
    assert by_status["missed"].startswith("You missed a reminder at ")
    assert by_status["missed"].endswith(": due while down, long ago")
    assert by_status["late"].startswith("While I was off, you had a reminder at ")
    assert by_status["late"].endswith(": due while down, lately")

    third = Assistant(tmp_path, grace_time_s=5)
    try:
        assert third.announced + third.drain(for_s=1.5) == []
    finally:
        third.kill()

    listing = subprocess.run(
        [sys.executable, "-c", "import json; from assistant.config import SchedulerSettings; "
         "from assistant.home import Home; from assistant.services.scheduler import SchedulerService; "
         "print(json.dumps(SchedulerService(Home.from_env(), SchedulerSettings(), print).list()))"],
        env={**os.environ, "ASSISTANT_HOME": str(tmp_path)}, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert [job["id"] for job in json.loads(listing.stdout)] == [pending["id"]]
