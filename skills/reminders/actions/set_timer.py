"""Set a timer for 3 minutes; named timers ("a ten minute timer for the pasta")."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from reminder_jobs import now_of
from timers import name_said, spoken_text

from assistant.skills.sdk import (
    Question,
    Request,
    Response,
    TimeExpressionError,
    check_time,
    describe_duration,
    describe_time,
    find_durations,
    parse_duration,
)

MAX_S = 7 * 24 * 3600  # a week, as the "bad_length" answer says


def run(request: Request) -> Response:
    now = now_of(request)
    asked = request.context.answer_to or {}
    try:
        check_time(request.utterance)
    except TimeExpressionError as error:
        return request.reply("bad_time", problem=str(error), data={"error": str(error)})
    name = asked.get("name") or _name(request, now)
    length = request.entities.get("length")
    if not isinstance(length, int | float):
        spans = find_durations(spoken_text(request), now)
        length = spans[0][2] if spans else None
    if length is None:
        if asked.get("ask") == "length":
            return request.reply("bad_length", said=request.utterance)
        return Response(
            request.answer("ask_length"),
            question=Question("set_timer", {"ask": "length", "name": name}),
        )
    if not 0 < length <= MAX_S:
        return request.reply("bad_length", said=request.utterance)
    spoken = describe_duration(length)
    size = re.sub(r"\b(hour|minute|second)s\b", r"\1", spoken)  # "a 5 minute timer"
    label = name or size
    fields = (
        {"name": name, "length": spoken, "size": size} if name else {"length": spoken, "size": size}
    )
    done = "timer_text_named" if name else "timer_text"
    payload = {
        "text": request.answer(done, **fields),
        "late_text": request.answer("timer_late", label=label, time="{time}"),
        "missed_text": request.answer("timer_missed", label=label, time="{time}"),
        "label": label,
        "length_s": length,
        "rings": True,  # until "stop" or "snooze", like a kitchen timer
        "ring_text": request.answer("timer_ring", label=label),
    }
    job = request.services.scheduler.add(
        request.skill, "timer", {"delay_s": length}, payload, name or None
    )
    request.memory.set("last_job", job["id"])
    end = describe_time(now + timedelta(seconds=length), now)
    key = "timer_set_named" if name else "timer_set"
    return request.reply(key, end=end, data={"job": job}, **fields)


def _name(request: Request, now: datetime) -> str:
    """The timer's name, unless what was said is just its length."""
    name = name_said(request, now)
    return "" if not name or parse_duration(name) is not None else name
