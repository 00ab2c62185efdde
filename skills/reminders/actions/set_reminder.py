"""Remind me to X in 10 minutes / at 5 pm / tomorrow at 9 / on Friday morning / every weekday at 8."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from reminder_jobs import now_of, short

from assistant.skills.sdk import (
    Question,
    Request,
    Response,
    Schedule,
    TimeExpressionError,
    describe_time,
    parse_schedule,
    strip_times,
)

LEAD_IN = re.compile(
    r"^.*?\b(?:remind me|reminder|don't let me forget)\b\s*(?:(?:to|that|about|of|for)\b\s*)?", re.I
)


def run(request: Request) -> Response:
    now = now_of(request)
    asked = request.context.answer_to or {}
    try:
        schedule = _schedule(request, now, asked)
    except TimeExpressionError as error:
        return request.reply("bad_time", problem=str(error), data={"error": str(error)})
    task = asked.get("task") or _task(request, now)
    if not task and asked.get("ask") == "task":  # the answer to "What's the reminder for?"
        task = request.utterance.strip(" .!?")
    if schedule is None:
        question = Question("set_reminder", {"ask": "when", "task": task})
        return Response(request.answer("ask_when"), question=question)
    if not task:
        question = Question("set_reminder", {"ask": "task", **_as_data(schedule)})
        return Response(request.answer("ask_task"), question=question)
    payload = {
        "text": request.answer("reminder_text", task=task),
        "late_text": request.answer("reminder_late", task=task, time="{time}"),
        "missed_text": request.answer("reminder_missed", task=task, time="{time}"),
        "task": task,
        "description": schedule.description,
        "rings": True,  # said again until "stop" or "snooze"
        "ring_text": request.answer("reminder_ring", task=short(task)),
    }
    job = request.services.scheduler.add(request.skill, "reminder", schedule.when, payload)
    request.memory.set("last_job", job["id"])
    if schedule.recurring:
        first = describe_time(schedule.first, now)
        return request.reply(
            "reminder_set_recurring",
            task=short(task),
            when=schedule.description,
            first=first,
            data={"job": job},
        )
    return request.reply("reminder_set", task=short(task), when=schedule.description, data={"job": job})


def _schedule(request: Request, now: datetime, asked: dict[str, Any]) -> Schedule | None:
    """The time said now, the one said before the question, or the NLU's value."""
    if asked.get("ask") == "task":
        first = datetime.fromisoformat(asked["first"])
        return Schedule(asked["when"], first, asked["description"], asked["recurring"])
    schedule = parse_schedule(request.utterance, now)
    said = request.entities.get("when")
    if schedule is None and isinstance(said, str):
        moment = datetime.fromisoformat(said).astimezone(now.tzinfo)
        if moment > now:
            schedule = Schedule(said, moment, "at " + describe_time(moment, now), False)
    return schedule


def _task(request: Request, now: datetime) -> str:
    """What to be reminded of, without the time words around it."""
    said = request.entities.get("task")
    text = said if isinstance(said, str) and said.strip() else LEAD_IN.sub("", request.utterance)
    if not LEAD_IN.search(request.utterance) and not said:
        return ""
    text = strip_times(LEAD_IN.sub("", text), now)
    text = re.sub(r"^(?:to|that|about)\s+", "", text, flags=re.I)
    return text.strip(" .,!?")


def _as_data(schedule: Schedule) -> dict[str, Any]:
    return {
        "when": schedule.when,
        "first": schedule.first.isoformat(),
        "description": schedule.description,
        "recurring": schedule.recurring,
    }
