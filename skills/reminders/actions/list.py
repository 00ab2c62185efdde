"""What are my reminders (timers, alarms): each with when it runs next."""

from __future__ import annotations

from reminder_jobs import describe, kind_said, now_of, user_jobs

from assistant.skills.sdk import Request, Response


def run(request: Request) -> Response:
    now = now_of(request)
    kind = kind_said(request.utterance)
    jobs = user_jobs(
        request, None if kind == "reminder" else kind
    )  # "my reminders" means all of them
    if not jobs:
        return request.reply("list_empty", data={"jobs": []})
    lines = [request.answer("list_intro", count=len(jobs))]
    lines += [f"- {describe(request, job, now)}" for job in jobs]
    return Response("\n".join(lines), data={"jobs": jobs})
