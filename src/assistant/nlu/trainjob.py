"""The intent classifier's training as a process of its own, one per home at a time.

A way in that must answer at once (`ask`, a piped chat, `listen`, `serve`) starts this job and
answers with the lexical matcher meanwhile. The job is detached (a session of its own), so it
outlives a one-shot command, and the next start loads the classifier it left in the cache. It
holds a lock file in the cache folder for its whole life: another start finds the lock held
and waits for that job instead of training a second time; `assistant train` waits for it too.
The job is handed its examples as a JSON file, not the settings, so it trains exactly what
its starter would have (the same cache key).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import logging
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

__all__ = ["Started", "TrainingJob", "estimate_s", "held", "running", "start", "wait"]

LOCK_NAME = "training.lock"
EXAMPLES_NAME = "training-examples.json"
TIMES_NAME = "training-time.json"
"""How long the last job took, for the next estimate."""
LOG_NAME = "training.log"
JOB_NICENESS = 10
"""The job yields the processor to whoever answers the user meanwhile (an idle machine gives it all)."""
ONE_CORE = {name: "1" for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
"""The job's thread pools (torch, BLAS): one core, the others stay free for the answers meanwhile
(thread pools that spin-wait slow everything down on a shared machine, niced or not)."""
GATE_S = 15.0
"""The longest a job waits for its starter's first answer before it begins."""
FIRST_TRAINING_S = 40.0
"""A fresh home's job on an idle two-core machine: ONNX export and training (34 s measured)."""


@dataclass(frozen=True)
class TrainingJob:
    """What to train: the examples ((text, "skill.action") pairs), the encoder and where to keep it."""

    examples: Sequence[tuple[str, str]]
    model: str
    cache_dir: Path
    onnx_dir: Path | None = None
    """Where the encoder's ONNX export belongs; exported first when it is not there."""
    calibrate: bool = True


def lock_file(cache_dir: Path) -> Path:
    return cache_dir / LOCK_NAME


def _open_lock(cache_dir: Path) -> int:
    cache_dir.mkdir(parents=True, exist_ok=True)
    return os.open(lock_file(cache_dir), os.O_RDWR | os.O_CREAT, 0o644)


class Started:
    """A job started by this process, and the write end of its gate (see `start`)."""

    def __init__(self, process: subprocess.Popen[bytes], gate: int):
        self.process = process
        self._gate: int | None = gate
        self._lock = threading.Lock()

    def go_ahead(self) -> None:
        """Let the job begin its work now (closing the gate's write end; once)."""
        with self._lock:
            gate, self._gate = self._gate, None
        if gate is not None:
            os.close(gate)


def start(job: TrainingJob, log_path: Path) -> Started | None:
    """Start `job` in a detached process; None when a job already holds the home's lock.

    The lock is taken here and handed to the child, which holds it until it exits: no start
    can slip in between. The job waits behind a gate, at most `GATE_S`, until its starter has
    given its first answer (`Started.go_ahead`) or exited: loading torch and exporting the
    encoder would otherwise slow that answer down on a small machine, niced or not.
    Raises OSError when the process cannot be started.
    """
    descriptor = _open_lock(job.cache_dir)
    gate_out, gate_in = os.pipe()
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None
        examples = job.cache_dir / EXAMPLES_NAME
        partial = examples.with_name(f".{examples.name}.{os.getpid()}")
        partial.write_text(json.dumps([list(pair) for pair in job.examples], ensure_ascii=False), encoding="utf-8")
        os.replace(partial, examples)
        command = [
            sys.executable, "-m", "assistant.nlu.trainjob", "--lock-fd", str(descriptor),
            "--gate-fd", str(gate_out), "--examples", str(examples), "--model", job.model,
            "--cache-dir", str(job.cache_dir),
        ]  # fmt: skip
        if job.onnx_dir is not None:
            command += ["--onnx-dir", str(job.onnx_dir)]
        if not job.calibrate:
            command.append("--no-calibrate")
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as output:
            process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                pass_fds=(descriptor, gate_out), start_new_session=True, env=os.environ | ONE_CORE,
            )  # fmt: skip
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{process.pid}\n".encode())  # which process trains, for a person or a test to see
        log.info("training job %d started (log: %s)", process.pid, log_path)
        gate, gate_in = gate_in, -1
        return Started(process, gate)
    finally:
        os.close(descriptor)  # the child keeps its copy, and with it the lock
        os.close(gate_out)
        if gate_in >= 0:
            os.close(gate_in)


def running(cache_dir: Path) -> bool:
    """Whether a job holds the lock of this cache folder now."""
    descriptor = _open_lock(cache_dir)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)  # closing releases a lock we took
    return False


def wait(cache_dir: Path) -> None:
    """Return once no job holds the lock of this cache folder (at once when none does)."""
    descriptor = _open_lock(cache_dir)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH)
    finally:
        os.close(descriptor)


@contextmanager
def held(cache_dir: Path) -> Iterator[None]:
    """Hold the lock while training in this process (`assistant train`); waits for a running job."""
    descriptor = _open_lock(cache_dir)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def estimate_s(cache_dir: Path) -> float:
    """About how long a job takes here: the last one's time, else a fresh home's; more under load."""
    try:
        seconds = float(json.loads((cache_dir / TIMES_NAME).read_text())["seconds"])
    except (OSError, ValueError, KeyError, TypeError):
        seconds = FIRST_TRAINING_S
    busy = os.getloadavg()[0] / (os.cpu_count() or 1)
    return seconds * max(1.0, busy)


def run(job: TrainingJob) -> None:
    """Export the encoder to ONNX when it is not there (faster, for this job and every later
    start), then train, or load, the classifier into the cache."""
    from assistant.nlu.encoder import ONNX_FILE, Encoder, export_onnx
    from assistant.nlu.training import load_or_train

    started = time.monotonic()
    encoder = Encoder(job.model, onnx_dir=job.onnx_dir)
    if job.onnx_dir is not None and not encoder.has_onnx():
        # This process exists for the job: the torch model the export alters is not used again.
        try:
            export_onnx(job.model, job.onnx_dir)
            log.info("ONNX export of %s written to %s", job.model, job.onnx_dir / ONNX_FILE)
        except Exception as error:  # engine boundary: train with torch instead
            log.warning("ONNX export of %s failed (%s); training with torch", job.model, error)
        encoder = Encoder(job.model, onnx_dir=job.onnx_dir)
    load_or_train(job.examples, job.model, job.cache_dir, None, encoder, job.calibrate)
    seconds = time.monotonic() - started
    (job.cache_dir / TIMES_NAME).write_text(json.dumps({"seconds": round(seconds, 1)}))
    log.info("intent classifier ready in %.1f s", seconds)


def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m assistant.nlu.trainjob", description=__doc__.splitlines()[0])
    parser.add_argument("--lock-fd", type=int, help="the lock's descriptor, held until the job ends")
    parser.add_argument("--gate-fd", type=int, help="a pipe to wait on (EOF) before working, at most GATE_S")
    parser.add_argument("--examples", type=Path, required=True, help="a JSON list of [text, label] pairs")
    parser.add_argument("--model", required=True)
    parser.add_argument("--cache-dir", type=Path, required=True)
    parser.add_argument("--onnx-dir", type=Path)
    parser.add_argument("--no-calibrate", action="store_true")
    args = parser.parse_args(argv)
    # Background work: the command that started the job answers the user on the same cores.
    os.nice(JOB_NICENESS)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.gate_fd is not None:
        select.select([args.gate_fd], [], [], GATE_S)
        os.close(args.gate_fd)
    examples = [(str(text), str(label)) for text, label in json.loads(args.examples.read_text(encoding="utf-8"))]
    try:
        run(TrainingJob(examples, args.model, args.cache_dir, args.onnx_dir, not args.no_calibrate))
    except Exception:
        log.exception("the intent classifier could not be trained")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
