"""Wake me up at 7 (an alarm that rings until acknowledged); every weekday at 6:30."""

from __future__ import annotations

from reminder_jobs import now_of

from assistant.skills.sdk import (
    Question,
    Request,
    Response,
    TimeExpressionError,
    clock,
    describe_time,
    parse_schedule,
)


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
    said_clock = clock(schedule.first)
    payload = {
        "text": request.answer("alarm_text", clock=said_clock),
        "ring_text": request.answer("alarm_ring", clock=said_clock),
        "late_text": request.answer("alarm_late", clock=said_clock, time="{time}"),
        "missed_text": request.answer("alarm_missed", clock=said_clock, time="{time}"),
        "clock": said_clock,
        "description": schedule.description,
    }
    job = request.services.scheduler.add(request.skill, "alarm", schedule.when, payload)
    request.memory.set("last_job", job["id"])
    if schedule.recurring:
        first = describe_time(schedule.first, now)
        return request.reply(
            "alarm_set_recurring", when=schedule.description, first=first, data={"job": job}
        )
    return request.reply(
        "alarm_set", when=schedule.description.removeprefix("at "), data={"job": job}
    )
