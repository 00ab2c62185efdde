"""Pause a timer: it keeps the time it had left, across restarts too."""

from __future__ import annotations

from typing import Any

from reminder_jobs import now_of
from timers import act_on_timer, left_s, what

from assistant.skills.sdk import Request, Response, describe_duration


def run(request: Request) -> Response:
    now = now_of(request)

    def pause(job: dict[str, Any]) -> Response:
        changed = request.services.scheduler.pause(job["id"])
        left = describe_duration(left_s(changed, now))
        return request.reply("timer_paused", what=what(job), left=left, data={"job": changed})

    return act_on_timer(request, "pause_timer", pause, keep=lambda job: not job.get("paused"))
