"""One skill worker as an operating-system process: started clean, stopped with everything it started.

The worker is a fresh interpreter (`python -I`), so nothing of the assistant's memory,
environment or open files reaches it but what is passed on purpose: an environment built
from scratch, its end of a socket pair, and the `start` frame (`skills/protocol.py`). It
leads a process group of its own, and the group is what gets killed; with the seccomp filter
it cannot start processes anyway, and without it (no libseccomp) its children still go with it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from assistant.skills import protocol
from assistant.skills.sandbox import Confinement, Limits
from assistant.skills.worker import BOOT

KEPT_ENVIRON = (
    "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "LC_NUMERIC", "LC_TIME", "TZ",
    "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
)
"""The only variables of the assistant's environment a worker sees: language, time zone, and
the processor settings without which some OpenBLAS builds compute wrong results."""
WORKER_PATH = "/usr/local/bin:/usr/bin:/bin"


def worker_environ(data_dir: Path) -> dict[str, str]:
    """A worker's whole environment: never the assistant's secrets, its own home and temporary folder."""
    environ = {name: os.environ[name] for name in KEPT_ENVIRON if name in os.environ}
    environ.update(PATH=WORKER_PATH, HOME=str(data_dir), TMPDIR=str(data_dir / "tmp"))
    return environ


def process_group(pgid: int) -> list[int]:
    """The live (not zombie) processes of process group `pgid`, from /proc (Linux)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue  # ended meanwhile
            if int(fields[2]) == pgid and fields[0] != "Z":
                found.append(int(entry))
    return found


def search_path() -> str:
    """Where the worker finds its modules: as the assistant does, the `assistant` package's folder first.

    Only absolute folders: an empty entry would be the worker's own working directory.
    """
    import assistant

    paths = [str(Path(assistant.__file__).resolve().parent.parent)]
    paths += [p for p in sys.path if os.path.isabs(p) and os.pathsep not in p and p not in paths]
    return os.pathsep.join(paths)


class WorkerProcess:
    """A started worker: its process, its channel, and how it ended."""

    def __init__(
        self,
        skill_id: str,
        skill_dir: Path,
        data_dir: Path,
        limits: Limits,
        confinement: Confinement | None,
    ):
        self.skill_id = skill_id
        self.limits = limits
        (data_dir / "tmp").mkdir(parents=True, exist_ok=True)
        ours, theirs = socket.socketpair()
        self.started = time.monotonic()
        # What the interpreter itself prints (a crash of a C extension) goes to a file the
        # user can read, never to the terminal the assistant talks on.
        with open(data_dir / "worker.log", "wb") as errors:
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-c", BOOT, search_path(), str(theirs.fileno())],
                env=worker_environ(data_dir),
                cwd=data_dir,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=errors,
                pass_fds=(theirs.fileno(),),
                start_new_session=True,
            )
        theirs.close()
        self.pid = self.process.pid
        self.channel = protocol.Channel(ours, protocol.WORKER_FRAME_BYTES)
        self.channel.send({
            "kind": "start",
            "skill": skill_id,
            "skill_dir": str(skill_dir),
            "memory_path": str(data_dir / "memory.sqlite3"),
            "confinement": None if confinement is None else confinement.to_dict(),
            "limits": {**limits.__dict__, "parent_pid": os.getpid()},
        })
        self.guards: list[str] | None = None
        """What confines it, once it said so (its `ready` message)."""

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """Kill the worker and everything in its process group, and reap it."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.channel.close()

    def stop(self, grace_s: float = 0.5) -> None:
        """Close its channel (it then ends by itself), then kill what is left."""
        self.channel.close()
        try:
            self.process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            pass
        self.kill()

    def ending(self) -> str:
        """How the worker ended, in words, once it has (waiting a second at most)."""
        try:
            code = self.process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            return "it stopped answering"
        if code == -signal.SIGXCPU:
            return f"it used up its processor time of {self.limits.cpu_s} s"
        if code < 0:
            return f"it was killed by {signal.Signals(-code).name}"
        return f"exit code {code}"

