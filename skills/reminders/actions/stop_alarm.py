"""Stop a ringing alarm ("stop", "I'm up")."""

from __future__ import annotations

from assistant.skills.sdk import Request, Response


def run(request: Request) -> Response:
    stopped = request.services.scheduler.acknowledge(request.skill)
    key = "alarm_stopped" if stopped else "no_alarm_ringing"
    return request.reply(key, data={"stopped": stopped})
