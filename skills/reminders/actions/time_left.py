"""How much time is left (on the pizza timer, on the 10 minute timer, or on every timer).

Timers that go by the same name are said together, each time once: "two 10 minute timers:
the first has 4 minutes left, the second 9 minutes and 59 seconds".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from reminder_jobs import in_room, label_of, now_of, user_jobs
from timers import addressed, left_s, what

from assistant.skills.sdk import Request, Response, describe_duration

COUNTS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
ORDINALS = (
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
)  # fmt: skip


def run(request: Request) -> Response:
    now = now_of(request)
    timers = user_jobs(request, "timer")
    if not timers:
        return request.reply("no_timers", data={"timers": []})
    chosen, said = addressed(request, timers, now)
    if not chosen:
        return request.reply("no_such_timer", name=said or "that", data={"timers": []})
    groups: dict[tuple[str, Any], list[dict[str, Any]]] = {}
    for job in chosen:  # soonest first, and so is each group
        groups.setdefault((what(job), job.get("room")), []).append(job)
    items = [_group(request, jobs, now) for jobs in groups.values()]
    text = request.answer("time_left", items="; ".join(items))
    return Response(
        text[:1].upper() + text[1:], data={"timers": [_plain(job, now) for job in chosen]}
    )


def _group(request: Request, jobs: list[dict[str, Any]], now: datetime) -> str:
    """Timers of one name and room: "the pasta timer has 3 minutes left", or each of several once."""
    first = jobs[0]
    if len(jobs) == 1:
        key = "time_left_paused" if first.get("paused") else "time_left_item"
        name = in_room(request, first, what(first))
        return request.answer(key, what=name, left=describe_duration(left_s(first, now)))
    parts, running = [], 0
    for index, job in enumerate(jobs):
        nth = ORDINALS[index] if index < len(ORDINALS) else f"number {index + 1}"
        if job.get("paused"):
            key = "time_left_nth_paused"
        else:  # "has ... left" once; the next running ones say only their time
            key = "time_left_next" if running else "time_left_first"
            running += 1
        parts.append(request.answer(key, nth=nth, left=describe_duration(left_s(job, now))))
    count = COUNTS[len(jobs)] if len(jobs) < len(COUNTS) else str(len(jobs))
    plural = in_room(request, first, f"{what(first)}s")
    return request.answer("time_left_several", count=count, what=plural, each=", ".join(parts))


def _plain(job: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "id": job["id"],
        "label": label_of(job),
        "room": job.get("room"),
        "ends": job["next_run_time"],
        "paused": bool(job.get("paused")),
        "left_s": round(left_s(job, now)),
    }
