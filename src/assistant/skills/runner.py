"""Runs skill actions in one persistent worker process per skill, with a timeout.

A worker that hangs is killed when its time is up; one that dies is restarted on
its next request; a skill that fails `max_failures` times in a row is disabled.
Service calls from the worker are answered here, in the assistant process.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.errors import SkillError
from assistant.home import Home
from assistant.skills import permissions
from assistant.skills.package import SkillPackage
from assistant.skills.sandbox import Confinement
from assistant.skills.sdk import Response
from assistant.skills.worker import serve

log = logging.getLogger(__name__)


class ActionFailed(SkillError):
    """The action raised; `detail` holds the traceback for the log."""

    def __init__(self, skill: str, message: str, detail: str = ""):
        super().__init__(f"skill {skill}: {message}")
        self.skill = skill
        self.detail = detail


class ActionTimeout(SkillError):
    def __init__(self, skill: str, timeout_s: float):
        super().__init__(f"skill {skill}: no answer within {timeout_s:g} s; its worker was stopped")
        self.skill = skill


class WorkerCrashed(SkillError):
    def __init__(self, skill: str, exitcode: int | None):
        super().__init__(f"skill {skill}: its process ended unexpectedly (exit code {exitcode})")
        self.skill = skill


class SkillDisabled(SkillError):
    def __init__(self, skill: str):
        super().__init__(
            f"skill {skill} is disabled after repeated failures; "
            f"re-enable it with: assistant skill enable {skill}"
        )
        self.skill = skill


@dataclass
class _Worker:
    process: Any
    connection: Any


class DisabledSkills:
    """Skills switched off after repeated crashes, kept in a JSON file under the home."""

    def __init__(self, path: Path):
        self.path = path

    def load(self) -> set[str]:
        try:
            return set(json.loads(self.path.read_text()))
        except (OSError, ValueError):
            return set()

    def set(self, skill_id: str, disabled: bool) -> None:
        current = self.load()
        (current.add if disabled else current.discard)(skill_id)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(sorted(current)))
        tmp.replace(self.path)


class SkillRunner:
    """Owns the worker processes; `run` is thread-safe (one action per skill at a time)."""

    def __init__(
        self,
        home: Home,
        services: Mapping[str, Any] | None = None,
        timeout_s: float = 10.0,
        max_failures: int = 3,
    ):
        self.home = home
        # Kept as given: a LazyServices mapping builds each service on first use only.
        self.services: Mapping[str, Any] = services if services is not None else {}
        self.timeout_s = timeout_s
        self.max_failures = max_failures
        self.disabled = DisabledSkills(home.data / "disabled_skills.json")
        self._workers: dict[str, _Worker] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._failures: dict[str, int] = {}
        self._guard = threading.Lock()
        self._context = multiprocessing.get_context("spawn")
        self._closed = False
        self._warming: threading.Thread | None = None

    def data_dir(self, skill_id: str) -> Path:
        path = self.home.data / "skills" / skill_id
        path.mkdir(parents=True, exist_ok=True)
        return path

    def start(self, skill: SkillPackage) -> None:
        """Start the skill's worker ahead of its first request (optional)."""
        with self._lock_for(skill.id):
            if not self._closed:
                self._ensure(skill)

    def warm(self, skills: Iterable[SkillPackage]) -> threading.Thread:
        """Start the workers of `skills` in a background thread, so no first request waits for one.

        A worker takes about half a second to start (a fresh interpreter); this way that
        happens while the user has not yet asked anything. Disabled skills are left alone; a
        worker that dies is started again on its skill's next request, as always.
        """
        pending = [skill for skill in skills if skill.id not in self.disabled.load()]
        self._warming = threading.Thread(
            target=self._start_all, args=(pending,), name="skill-warm-up", daemon=True
        )
        self._warming.start()
        return self._warming

    def _start_all(self, skills: list[SkillPackage]) -> None:
        for skill in skills:
            try:
                self.start(skill)
            except OSError as error:  # it will be tried again on the skill's first request
                log.warning("could not start the worker of %s ahead of time: %s", skill.id, error)

    def run(
        self,
        skill: SkillPackage,
        payload: dict[str, Any],
        on_say: Callable[[str], None] | None = None,
    ) -> Response:
        """Run `payload["action"]` of `skill`; raise a `SkillError` subclass on failure."""
        if skill.id in self.disabled.load():
            raise SkillDisabled(skill.id)
        timeout_s = skill.timeout_s or self.timeout_s
        payload = {**payload, "data_dir": str(self.data_dir(skill.id))}
        with self._lock_for(skill.id):
            worker = self._ensure(skill)
            try:
                response = self._exchange(skill, worker, payload, timeout_s, on_say)
            except (ActionTimeout, WorkerCrashed, ActionFailed):
                self._count_failure(skill.id)
                raise
        self._failures[skill.id] = 0
        return response

    def _lock_for(self, skill_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(skill_id, threading.Lock())

    def _ensure(self, skill: SkillPackage) -> _Worker:
        worker = self._workers.get(skill.id)
        if worker is not None and worker.process.is_alive():
            return worker
        parent, child = self._context.Pipe(duplex=True)
        data_dir = self.data_dir(skill.id)
        confinement = Confinement.for_skill(skill.id, skill.path, data_dir, skill.permissions)
        process = self._context.Process(
            target=serve,
            args=(child, skill.id, str(skill.path), str(data_dir / "memory.sqlite3"), confinement),
            name=f"skill-{skill.id}",
            daemon=True,
        )
        process.start()
        child.close()
        worker = _Worker(process, parent)
        self._workers[skill.id] = worker
        log.debug("started worker for %s (pid %s)", skill.id, process.pid)
        return worker

    def _exchange(
        self,
        skill: SkillPackage,
        worker: _Worker,
        payload: dict[str, Any],
        timeout_s: float,
        on_say: Callable[[str], None] | None,
    ) -> Response:
        skill_id = skill.id
        deadline = time.monotonic() + timeout_s
        try:
            worker.connection.send(("run", payload))
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not worker.connection.poll(remaining):
                    self._kill(skill_id)
                    raise ActionTimeout(skill_id, timeout_s)
                message = worker.connection.recv()
                kind = message[0]
                if kind == "done":
                    return Response.from_dict(message[1])
                if kind == "error":
                    log.error(
                        "skill %s action %s failed:\n%s", skill_id, payload["action"], message[2]
                    )
                    raise ActionFailed(skill_id, message[1], message[2])
                if kind == "say" and on_say is not None:
                    on_say(message[1])
                elif kind == "call":
                    worker.connection.send(self._serve_call(skill, *message[1:]))
                elif kind == "refused":
                    log.warning("skill %s refused: %s", skill_id, message[1])
                elif kind == "warning":
                    log.warning("skill %s: %s", skill_id, message[1])
        except (EOFError, BrokenPipeError, ConnectionResetError, OSError):
            worker.process.join(timeout=1)
            exitcode = worker.process.exitcode
            self._workers.pop(skill_id, None)
            raise WorkerCrashed(skill_id, exitcode) from None

    def _serve_call(
        self, skill: SkillPackage, service: str, method: str, args: Any, kwargs: Any
    ) -> tuple[str, Any]:
        skill_id = skill.id
        try:
            permissions.check_call(skill_id, skill.permissions, service, method)
        except permissions.PermissionRefused as error:
            return ("raise", str(error))
        target = self.services.get(service)
        if target is None or not callable(getattr(target, method, None)):
            return ("raise", f"no service method {service}.{method}")
        try:
            return ("return", getattr(permissions.scoped(service, target, skill_id), method)(*args, **kwargs))
        except permissions.PermissionRefused as error:
            return ("raise", str(error))
        except Exception as error:  # service boundary: the action decides what to say
            log.warning("service call %s.%s from %s failed: %s", service, method, skill_id, error)
            return ("raise", f"{type(error).__name__}: {error}")

    def _count_failure(self, skill_id: str) -> None:
        count = self._failures.get(skill_id, 0) + 1
        self._failures[skill_id] = count
        if count >= self.max_failures:
            log.error("skill %s failed %d times in a row; disabling it", skill_id, count)
            self.disabled.set(skill_id, True)
            self._failures[skill_id] = 0

    def _kill(self, skill_id: str) -> None:
        worker = self._workers.pop(skill_id, None)
        if worker is None:
            return
        worker.process.kill()
        worker.process.join(timeout=2)
        worker.connection.close()

    def close(self) -> None:
        """Stop every worker."""
        self._closed = True
        if self._warming is not None:
            self._warming.join()
        for skill_id in list(self._workers):
            worker = self._workers.pop(skill_id)
            try:
                worker.connection.close()
            except OSError:
                pass
            worker.process.join(timeout=0.5)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(timeout=1)
