"""How much time is left (on the pasta timer, or on every timer)."""

from __future__ import annotations

from datetime import datetime

from reminder_jobs import clean_name, find, label_of, left_of, now_of, user_jobs

from assistant.skills.sdk import Request, Response


def run(request: Request) -> Response:
    now = now_of(request)
    timers = user_jobs(request, "timer")
    name = clean_name(request.entities.get("name"))
    if not timers:
        return request.reply("no_timers", data={"timers": []})
    chosen = find(timers, name) if name else timers
    if not chosen:
        return request.reply("no_such_timer", name=name, data={"timers": []})
    items = [
        request.answer("time_left_item", label=label_of(job), left=left_of(job, now))
        for job in chosen
    ]
    text = request.answer("time_left", items="; ".join(items))
    return Response(
        text[:1].upper() + text[1:], data={"timers": [_plain(job, now) for job in chosen]}
    )


def _plain(job: dict, now: datetime) -> dict:
    ends = datetime.fromisoformat(job["next_run_time"])
    return {
        "id": job["id"],
        "label": label_of(job),
        "ends": job["next_run_time"],
        "left_s": round((ends - now).total_seconds()),
    }
