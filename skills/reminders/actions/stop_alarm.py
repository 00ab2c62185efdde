"""Stop what is ringing: an alarm, a timer or a reminder ("stop", "I'm up")."""

from __future__ import annotations

from assistant.skills.sdk import Request, Response


def run(request: Request) -> Response:
    scheduler = request.services.scheduler
    rings = {
        str(job["payload"]["ring_of"]): str(job["payload"].get("ring_kind") or "alarm")
        for job in scheduler.list(request.skill)
        if job["payload"].get("ring_of")
    }
    stopped = scheduler.acknowledge(request.skill)
    if not stopped:
        return request.reply("nothing_ringing", data={"stopped": stopped})
    kinds = {rings.get(job_id, "alarm") for job_id in stopped}
    key = "alarm_stopped" if kinds == {"alarm"} else "ring_stopped"
    return request.reply(key, data={"stopped": stopped, "kinds": sorted(kinds)})
