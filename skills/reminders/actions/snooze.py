"""Snooze: a ringing alarm, or a reminder just said (or named), comes back later."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from reminder_jobs import clean_name, find, now_of, user_jobs

from assistant.skills.sdk import Request, Response, describe_duration, describe_time


def run(request: Request) -> Response:
    now = now_of(request)
    length = request.entities.get("length")
    if not isinstance(length, int | float) or length <= 0:
        length = 60 * int(request.settings.get("snooze_minutes", 10))
    target = _target(request, clean_name(request.entities.get("name")))
    if target is None:
        return request.reply("nothing_to_snooze", data={"job": None})
    job = request.services.scheduler.snooze(target, length)
    when = describe_time(datetime.fromisoformat(job["next_run_time"]), now)
    return request.reply(
        "snoozed", when=f"at {when}", length=describe_duration(length), data={"job": job}
    )


def _target(request: Request, name: str) -> str | None:
    """The ringing alarm, else the job named, else the reminder delivered last."""
    scheduler = request.services.scheduler
    ringing = [job for job in scheduler.list(request.skill) if job["payload"].get("ring_of")]
    if ringing:
        return str(ringing[0]["payload"]["ring_of"])
    delivered = [_from_history(row) for row in scheduler.history(request.skill, 20)]
    if name:
        matches = find(user_jobs(request) + delivered, name)
        return matches[0]["id"] if matches else None
    return delivered[0]["id"] if delivered else None


def _from_history(row: dict[str, Any]) -> dict[str, Any]:
    job = row["job"]
    return {
        "id": row["id"],
        "kind": job.get("kind"),
        "name": job.get("name"),
        "payload": job.get("payload", {}),
    }
