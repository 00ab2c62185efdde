"""Runs skill actions in one persistent worker process per skill, with a timeout.

A worker that hangs is killed when its time is up; one that dies is restarted on
its next request; a skill that fails `max_failures` times in a row is disabled.
Service calls from the worker are answered here, in the assistant process.

A worker is a plain subprocess (`skills/worker.py`): a fresh interpreter with an
environment built from scratch, in a process group of its own, talking JSON over a socket
pair (`skills/protocol.py`). Everything it sends is validated here before it is used.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from assistant.errors import SkillError
from assistant.home import Home
from assistant.session import current_room
from assistant.skills import permissions, protocol
from assistant.skills.package import SkillPackage
from assistant.skills.process import WorkerProcess
from assistant.skills.sandbox import Confinement, Limits
from assistant.skills.sdk import Response

log = logging.getLogger(__name__)

STOP_GRACE_S = 0.5
"""How long the workers get, together, to end by themselves when the assistant closes."""
MAX_INTERIM_MESSAGES = 16
"""Interim messages ("Reading example.com...") shown of one turn: a flood is not read out."""


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
    def __init__(self, skill: str, how: str):
        super().__init__(f"skill {skill}: its process ended unexpectedly ({how})")
        self.skill = skill


class SkillDisabled(SkillError):
    def __init__(self, skill: str):
        super().__init__(
            f"skill {skill} is disabled after repeated failures; "
            f"re-enable it with: assistant skill enable {skill}"
        )
        self.skill = skill


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
        limits: Limits | None = None,
        confined: bool = True,
    ):
        """`limits`: each worker's, unless its manifest asks for other memory; `confined` False
        runs skills without Landlock, seccomp or dropped privileges (benchmarks only)."""
        self.home = home
        # Kept as given: a LazyServices mapping builds each service on first use only.
        self.services: Mapping[str, Any] = services if services is not None else {}
        self.timeout_s = timeout_s
        self.max_failures = max_failures
        self.disabled = DisabledSkills(home.data / "disabled_skills.json")
        self.limits = limits or Limits()
        self.confined = confined
        self._workers: dict[str, WorkerProcess] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._failures: dict[str, int] = {}
        self._guard = threading.Lock()
        self._closed = False
        self._warming: threading.Thread | None = None
        # Workers die with the thread that started them (PR_SET_PDEATHSIG follows the
        # thread, not the process), so one thread that lives as long as the runner starts them all.
        self._spawner = ThreadPoolExecutor(1, thread_name_prefix="skill-spawner")

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
            except (ActionTimeout, WorkerCrashed, ActionFailed, protocol.ProtocolViolation):
                self._count_failure(skill.id)
                raise
        self._failures[skill.id] = 0
        return response

    def _lock_for(self, skill_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(skill_id, threading.Lock())

    def _ensure(self, skill: SkillPackage) -> WorkerProcess:
        worker = self._workers.get(skill.id)
        if worker is not None and worker.alive():
            return worker
        if worker is not None:
            worker.kill()  # its process group: anything it left behind
        data_dir = self.data_dir(skill.id)
        confinement = Confinement.for_skill(skill.id, skill.path, data_dir, skill.permissions)
        limits = self.limits
        if skill.memory_mb is not None:
            limits = dataclasses.replace(limits, memory_mb=skill.memory_mb)
        if self._closed:
            raise SkillError(f"skill {skill.id}: the assistant is closing; no worker is started")
        worker = self._spawner.submit(
            WorkerProcess, skill.id, skill.path, data_dir, limits, confinement if self.confined else None
        ).result()
        self._workers[skill.id] = worker
        log.debug("started worker for %s (pid %s)", skill.id, worker.pid)
        return worker

    def _exchange(
        self,
        skill: SkillPackage,
        worker: WorkerProcess,
        payload: dict[str, Any],
        timeout_s: float,
        on_say: Callable[[str], None] | None,
    ) -> Response:
        skill_id = skill.id
        deadline = time.monotonic() + timeout_s
        said = 0
        try:
            worker.channel.send({"kind": "run", "payload": payload})
            while True:
                try:
                    frame = worker.channel.receive(deadline - time.monotonic())
                except TimeoutError:
                    self._kill(skill_id)
                    raise ActionTimeout(skill_id, timeout_s) from None
                except OverflowError as error:
                    raise protocol.ProtocolViolation(skill_id, str(error)) from None
                message = protocol.parse_worker_message(skill_id, frame)
                if isinstance(message, protocol.Done):
                    return Response.from_dict(message.response.model_dump())
                if isinstance(message, protocol.Say):
                    said += 1
                    if said == MAX_INTERIM_MESSAGES + 1:
                        log.warning("skill %s: more than %d interim messages in one turn; the rest are not shown",
                                    skill_id, MAX_INTERIM_MESSAGES)
                    if said > MAX_INTERIM_MESSAGES:
                        continue
                self._handle(skill, worker, message, payload["action"], on_say)
        except protocol.ProtocolViolation as violation:
            log.error("skill %s sent a malformed message (%s); its worker was stopped", skill_id, violation.what)
            self._kill(skill_id)
            raise
        except protocol.ChannelClosed:
            self._workers.pop(skill_id, None)
            how = worker.ending()
            worker.kill()
            raise WorkerCrashed(skill_id, how) from None

    def _handle(
        self,
        skill: SkillPackage,
        worker: WorkerProcess,
        message: protocol.WorkerMessage,
        action: str,
        on_say: Callable[[str], None] | None,
    ) -> None:
        """Answer or log one message that is not the action's end."""
        skill_id = skill.id
        if isinstance(message, protocol.Error):
            log.error("skill %s action %s failed:\n%s", skill_id, action, message.traceback)
            if message.message.startswith("MemoryError"):
                log.error("skill %s reached its memory limit of %d MiB", skill_id, worker.limits.memory_mb)
            raise ActionFailed(skill_id, message.message, message.traceback)
        if isinstance(message, protocol.Say):
            if on_say is not None:
                on_say(message.text)
        elif isinstance(message, protocol.Call):
            reply = self._serve_call(skill, message.service, message.method, message.args, message.kwargs)
            worker.channel.send_encoded(reply)
        elif isinstance(message, protocol.Refused):
            log.warning("skill %s refused: %s", skill_id, message.what)
        elif isinstance(message, protocol.Warning_):
            log.warning("skill %s: %s", skill_id, message.text)
        elif isinstance(message, protocol.Ready):
            worker.guards = list(message.guards)
            started_ms = (time.monotonic() - worker.started) * 1000
            log.debug("skill %s worker ready in %.0f ms: %s", skill_id, started_ms, ", ".join(message.guards))

    def _serve_call(
        self, skill: SkillPackage, service: str, method: str, args: list[Any], kwargs: dict[str, Any]
    ) -> bytes:
        """The answer to one service call, as the frame to send back."""
        reply = self._call(skill, service, method, args, kwargs)
        try:
            return protocol.Channel.encode(reply)
        except (TypeError, ValueError) as error:
            log.error("service %s.%s returned data that cannot be sent to a skill: %s", service, method, error)
            return protocol.Channel.encode(
                {"kind": "raise", "message": f"{service}.{method} returned data that is not plain JSON"}
            )

    def _call(
        self, skill: SkillPackage, service: str, method: str, args: list[Any], kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        skill_id = skill.id
        try:
            permissions.check_call(skill_id, skill.permissions, service, method)
        except permissions.PermissionRefused as error:
            return {"kind": "raise", "message": str(error)}
        target = self.services.get(service)
        if target is None or not callable(getattr(target, method, None)):
            return {"kind": "raise", "message": f"no service method {service}.{method}"}
        try:
            # The room of the session whose turn this is: the skill cannot name another.
            view = permissions.scoped(service, target, skill_id, current_room())
            value = getattr(view, method)(*args, **kwargs)
        except permissions.PermissionRefused as error:
            return {"kind": "raise", "message": str(error)}
        except Exception as error:  # service boundary: the action decides what to say
            log.warning("service call %s.%s from %s failed: %s", service, method, skill_id, error)
            return {"kind": "raise", "message": f"{type(error).__name__}: {error}"}
        return {"kind": "return", "value": value}

    def _count_failure(self, skill_id: str) -> None:
        count = self._failures.get(skill_id, 0) + 1
        self._failures[skill_id] = count
        if count >= self.max_failures:
            log.error("skill %s failed %d times in a row; disabling it", skill_id, count)
            self.disabled.set(skill_id, True)
            self._failures[skill_id] = 0

    def _kill(self, skill_id: str) -> None:
        worker = self._workers.pop(skill_id, None)
        if worker is not None:
            worker.kill()

    def close(self) -> None:
        """Stop every worker, and anything each started."""
        self._closed = True
        if self._warming is not None:
            self._warming.join()
        workers = [self._workers.pop(skill_id) for skill_id in list(self._workers)]
        # Every channel closed first, then one grace period for all: each worker ends by itself
        # meanwhile (one after another, a busy machine took 30 s to quit the chat).
        for worker in workers:
            worker.channel.close()
        deadline = time.monotonic() + STOP_GRACE_S
        for worker in workers:
            worker.stop(grace_s=max(0.0, deadline - time.monotonic()))
        self._spawner.shutdown(wait=False)

