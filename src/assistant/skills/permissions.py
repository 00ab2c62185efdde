"""What each manifest permission grants, and the guard every service call from a skill passes.

The table below is the one place that says which services (or single service methods) a
permission opens; the manifest schema's `permissions` enum lists the same names (a test
keeps them equal). A service that no permission names is open to every skill: it only
computes on what the skill hands it (the encoder, question answering, summaries, the
skill catalog). Life-cycle methods are never callable from a skill.

The scheduler is shared by all skills and all rooms, so a skill sees it through `OwnJobs`:
its own jobs only, of the room whose session is asking, whatever skill id, job id or room it passes.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from assistant.errors import SkillError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Permission:
    """One name a manifest may list under `permissions`."""

    description: str
    """Shown before installing and in docs/skills.md."""
    services: tuple[str, ...] = ()
    """Services ("web") or single methods ("music.import_m3u") it opens."""
    confinement: str = ""
    """What it changes in the worker's confinement (see `skills/sandbox.py`)."""


PERMISSIONS: dict[str, Permission] = {
    "network": Permission(
        "fetch web pages (the web service) and open network connections",
        services=("web",),
        confinement="TCP connections and UDP sockets allowed",
    ),
    "documents": Permission(
        "read and change the current document (the last page read or text given) and read the notes folder",
        services=("documents",),
    ),
    "files": Permission(
        "read and write files the user names (playlist import and export)",
        services=("music.import_m3u", "music.export_m3u"),
    ),
    "audio_output": Permission("play music and control the player", services=("music",)),
    "scheduler": Permission("schedule, list and cancel its own reminders and jobs", services=("scheduler",)),
    "notifications": Permission("speak when one of its jobs comes due (with scheduler)"),
    "microphone": Permission("listen to the microphone (no service offers it yet)"),
}

LIFE_CYCLE = frozenset({"start", "shutdown", "close", "catch_up"})
"""Methods the assistant calls on its services and a skill never may."""


class PermissionRefused(SkillError):
    """A skill called a service or job its manifest does not grant."""


def required(service: str, method: str) -> set[str]:
    """The permissions a call of `service.method` needs (empty: open to every skill)."""
    return {
        name
        for name, permission in PERMISSIONS.items()
        if service in permission.services or f"{service}.{method}" in permission.services
    }


def check_call(skill_id: str, granted: Collection[str], service: str, method: str) -> None:
    """Raise `PermissionRefused` (and log it) unless `skill_id` may call `service.method`."""
    if method.startswith("_") or method in LIFE_CYCLE:
        refuse(skill_id, f"{service}.{method} is not offered to skills")
    missing = sorted(required(service, method) - set(granted))
    if missing:
        refuse(
            skill_id,
            f"{service}.{method} needs the permission {' and '.join(missing)}, "
            f"which its skill.json does not declare",
        )


def refuse(skill_id: str, what: str) -> None:
    log.warning("skill %s refused: %s", skill_id, what)
    raise PermissionRefused(f"skill {skill_id}: refused: {what}")


def scoped(service: str, target: Any, skill_id: str, room: str | None = None) -> Any:
    """The view of `target` that `skill_id` gets, asked from `room` (None: the machine's own).

    The scheduler shows only the skill's own jobs, and of those the room's own (the machine's
    own room reaches every room's, as the scheduler's `room` parameter says).
    """
    return OwnJobs(target, skill_id, room) if service == "scheduler" else target


class OwnJobs:
    """The scheduler as one skill sees it: job ids are "<skill>:<id>"; only its own are reachable.

    Works on the scheduler's method signatures, so methods added later are covered:
    a `skill` parameter is forced to the caller (another skill's id is refused);
    without one, a `job_id` parameter must name one of the caller's jobs; a method with
    neither cannot be scoped and is refused. A `room` parameter is forced to the room of the
    session asking (the runtime's, never the skill's word: another room is refused); a method
    without one is refused in a named room, which it could not be limited to.
    """

    def __init__(self, scheduler: Any, skill_id: str, room: str | None = None):
        self._scheduler = scheduler
        self._skill = skill_id
        self._room = room

    def __getattr__(self, method: str) -> Any:
        if method.startswith("_"):
            raise AttributeError(method)
        target = getattr(self._scheduler, method)
        if not callable(target):
            raise AttributeError(method)

        def call(*args: Any, **kwargs: Any) -> Any:
            bound = self._scoped(method, target, args, kwargs)
            return target(*bound.args, **bound.kwargs)

        return call

    def _scoped(self, method: str, target: Any, args: Any, kwargs: Any) -> inspect.BoundArguments:
        signature = inspect.signature(target)
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as error:
            raise SkillError(f"scheduler.{method}: {error}") from None
        bound.apply_defaults()
        parameters = signature.parameters
        if "skill" in parameters:
            asked = bound.arguments.get("skill")
            if asked not in (None, self._skill):
                refuse(self._skill, f"scheduler.{method} for the skill {asked!r}; a skill reaches only its own jobs")
            bound.arguments["skill"] = self._skill
        elif "job_id" in parameters:
            job_id = str(bound.arguments.get("job_id"))
            if not job_id.startswith(f"{self._skill}:"):
                refuse(self._skill, f"scheduler.{method} of the job {job_id!r}, which belongs to another skill")
        else:
            refuse(self._skill, f"scheduler.{method} cannot be limited to the skill's own jobs")
        if "room" in parameters:
            asked = bound.arguments.get("room")
            if asked not in (None, self._room):
                refuse(self._skill, f"scheduler.{method} for the room {asked!r}; a skill reaches only the room it is asked from")
            bound.arguments["room"] = self._room
        elif self._room is not None:
            refuse(self._skill, f"scheduler.{method} cannot be limited to the room {self._room!r}")
        return bound
