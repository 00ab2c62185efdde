"""Cancel the pasta timer / the reminder about X / my alarm / all my timers."""

from __future__ import annotations

import re

from reminder_jobs import clean_name, find, kind_said, user_jobs, what_of

from assistant.skills.sdk import Question, Request, Response


def run(request: Request) -> Response:
    asked = request.context.answer_to or {}
    kind = kind_said(request.utterance) or asked.get("kind")
    jobs = user_jobs(request, kind)
    if asked.get("choices"):
        jobs = [job for job in jobs if job["id"] in asked["choices"]]
        name = clean_name(request.utterance)
    else:
        name = clean_name(request.entities.get("name"))
    if re.search(r"\b(?:all|every|everything)\b", request.utterance, re.I) and not asked:
        for job in jobs:
            request.services.scheduler.cancel(job["id"])
        count = f"{len(jobs)} {kind or 'item'}{'s' if len(jobs) != 1 else ''}"
        return request.reply(
            "cancelled_all", count=count, data={"cancelled": [j["id"] for j in jobs]}
        )
    matches = find(jobs, name) if name else jobs
    if len(matches) == 1:
        request.services.scheduler.cancel(matches[0]["id"])
        return request.reply(
            "cancelled", what=what_of(matches[0]), data={"cancelled": [matches[0]["id"]]}
        )
    if not matches:
        what = f"a {kind or 'reminder, timer or alarm'}" + (f" matching '{name}'" if name else "")
        return request.reply("nothing_to_cancel", what=what, data={"cancelled": []})
    choices = "; ".join(what_of(job) for job in matches)
    question = Question("cancel", {"choices": [job["id"] for job in matches], "kind": kind})
    return Response(
        request.answer("cancel_which", choices=choices), question=question, data={"cancelled": []}
    )
