"""Resume a paused timer from the time it had left."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from reminder_jobs import now_of
from timers import act_on_timer, left_s, what

from assistant.skills.sdk import Request, Response, describe_duration, describe_time


def run(request: Request) -> Response:
    now = now_of(request)

    def resume(job: dict[str, Any]) -> Response:
        changed = request.services.scheduler.resume(job["id"])
        end = describe_time(datetime.fromisoformat(changed["next_run_time"]), now)
        left = describe_duration(left_s(changed, now))
        return request.reply(
            "timer_resumed", what=what(job), left=left, end=end, data={"job": changed}
        )

    return act_on_timer(request, "resume_timer", resume, keep=lambda job: bool(job.get("paused")))
