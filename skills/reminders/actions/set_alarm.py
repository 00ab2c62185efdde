"""Wake me up at 7 (an alarm that rings until acknowledged); every weekday at 6:30."""

from __future__ import annotations

from datetime import datetime

from reminder_jobs import now_of

from assistant.services.timeexpr import TimeExpressionError, describe_time, parse_schedule
from assistant.skills.sdk import Question, Request, Response


def run(request: Request) -> Response:
    now = now_of(request)
    try:
        schedule = parse_schedule(request.utterance, now, alarm=True)
    except TimeExpressionError as error:
        return request.reply("bad_time", problem=str(error), data={"error": str(error)})
    if schedule is None:
        if request.context.answer_to:
            return request.reply(
                "bad_time", problem=f"'{request.utterance}' is not a time I understand"
            )
        return Response(
            request.answer("ask_alarm_time"), question=Question("set_alarm", {"ask": "when"})
        )
    clock = _clock(schedule.first)
    payload = {
        "text": request.answer("alarm_text", clock=clock),
        "ring_text": request.answer("alarm_ring", clock=clock),
        "late_text": request.answer("alarm_late", clock=clock, time="{time}"),
        "missed_text": request.answer("alarm_missed", clock=clock, time="{time}"),
        "clock": clock,
        "description": schedule.description,
    }
    job = request.services.scheduler.add(request.skill, "alarm", schedule.when, payload)
    if schedule.recurring:
        first = describe_time(schedule.first, now)
        return request.reply(
            "alarm_set_recurring", when=schedule.description, first=first, data={"job": job}
        )
    return request.reply(
        "alarm_set", when=schedule.description.removeprefix("at "), data={"job": job}
    )


def _clock(moment: datetime) -> str:
    return f"{moment.hour % 12 or 12}:{moment.minute:02d} {'am' if moment.hour < 12 else 'pm'}"
