"""How much time is left (on the pizza timer, on the 10 minute timer, or on every timer)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from reminder_jobs import label_of, now_of, user_jobs
from timers import addressed, left_s, names_apart

from assistant.skills.sdk import Request, Response, describe_duration


def run(request: Request) -> Response:
    now = now_of(request)
    timers = user_jobs(request, "timer")
    if not timers:
        return request.reply("no_timers", data={"timers": []})
    chosen, said = addressed(request, timers, now)
    if not chosen:
        return request.reply("no_such_timer", name=said or "that", data={"timers": []})
    names = names_apart(chosen, now)
    items = [
        request.answer(
            "time_left_paused" if job.get("paused") else "time_left_item",
            what=name,
            left=describe_duration(left_s(job, now)),
        )
        for job, name in zip(chosen, names, strict=True)
    ]
    text = request.answer("time_left", items="; ".join(items))
    return Response(
        text[:1].upper() + text[1:], data={"timers": [_plain(job, now) for job in chosen]}
    )


def _plain(job: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "id": job["id"],
        "label": label_of(job),
        "ends": job["next_run_time"],
        "paused": bool(job.get("paused")),
        "left_s": round(left_s(job, now)),
    }
