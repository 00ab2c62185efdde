"""Cancel the pasta timer / the 10 minute timer / the reminder about X / my alarm / that."""

from __future__ import annotations

import re
from typing import Any

from reminder_jobs import (
    cancel_all,
    clean_name,
    find,
    in_room,
    kind_said,
    now_of,
    user_jobs,
    what_of,
)
from timers import addressed, names_apart

from assistant.skills.sdk import Question, Request, Response

_THAT = re.compile(r"^(?:cancel|delete|remove|undo|scrap)\s+(?:that|it|this)\b")


def run(request: Request) -> Response:
    if (
        re.search(r"\b(?:all|every|everything)\b", request.utterance, re.I)
        and not request.context.answer_to
    ):
        return cancel_all(request)
    stopped = _stop_ringing(request)
    if stopped is not None:
        return stopped
    now = now_of(request)
    asked = request.context.answer_to or {}
    kind = kind_said(request.utterance) or asked.get("kind")
    jobs = user_jobs(request, kind)
    if kind == "timer" or asked.get("timers"):
        matches, said = addressed(request, jobs, now)
    elif asked.get("choices"):
        offered = [job for job in jobs if job["id"] in asked["choices"]]
        matches, said = _answer(request, offered, now), request.utterance
    else:
        said = clean_name(request.entities.get("name"))
        matches = find(jobs, said) if said else _implicit(request, jobs)
    if len(matches) == 1:
        request.services.scheduler.cancel(matches[0]["id"])
        what = in_room(request, matches[0], what_of(matches[0]))
        return request.reply("cancelled", what=what, data={"cancelled": [matches[0]["id"]]})
    if not matches:
        what = f"a {kind or 'reminder, timer or alarm'}" + (f" matching '{said}'" if said else "")
        return request.reply("nothing_to_cancel", what=what, data={"cancelled": []})
    choices = _names(request, matches, now)
    spoken = ", ".join(f"the {c}" for c in choices[:-1]) + " or the " + choices[-1]
    question = Question(
        "cancel",
        {"choices": [job["id"] for job in matches], "kind": kind, "timers": kind == "timer"},
    )
    return Response(
        request.answer("cancel_which", choices=spoken),
        question=question,
        data={"cancelled": [], "choices": choices},
    )


def _implicit(request: Request, jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Nothing named: the job just set ("cancel that"), else every candidate."""
    context = request.context
    just_set = context.last_skill == request.skill and (context.last_action or "").startswith(
        "set_"
    )
    if _THAT.search(request.utterance.lower()) and just_set:
        recent = [job for job in jobs if job["id"] == request.memory.get("last_job")]
        if recent:
            return recent
    return jobs


def _names(request: Request, jobs: list[dict[str, Any]], now: Any) -> list[str]:
    timers = [job for job in jobs if job["kind"] == "timer"]
    timer_names = dict(zip([j["id"] for j in timers], names_apart(timers, now), strict=True))
    return [timer_names.get(job["id"]) or in_room(request, job, what_of(job)) for job in jobs]


def _answer(request: Request, jobs: list[dict[str, Any]], now: Any) -> list[dict[str, Any]]:
    """The jobs an answer to "which one?" points at: by ordinal, by the name offered, or by words."""
    from timers import choose

    answer = request.utterance
    timers = [job for job in jobs if job["kind"] == "timer"]
    if timers and len(timers) == len(jobs):
        return choose(jobs, answer, now)
    said = answer.lower()
    for word, index in {"first": 0, "second": 1, "third": 2, "last": -1}.items():
        if re.search(rf"\b{word}\b", said):
            return [jobs[index]] if -len(jobs) <= index < len(jobs) else []
    named = [job for job, name in zip(jobs, _names(request, jobs, now), strict=True) if name in said]
    return named or find(jobs, clean_name(re.sub(r"\bone\b", "", said)))


def _stop_ringing(request: Request) -> Response | None:
    """ "Stop the timer" while one rings: the ring stops (that timer is over), unless the words
    name another that is still to come."""
    if request.context.answer_to:
        return None
    kind = kind_said(request.utterance)
    scheduler = request.services.scheduler
    rings = [
        job
        for job in scheduler.list(request.skill)
        if job["payload"].get("ring_of") and kind in (None, job["payload"].get("ring_kind") or "alarm")
    ]
    name = clean_name(request.entities.get("name"))
    if not rings or (name and find(user_jobs(request, kind), name)):
        return None
    stopped = [ring for job in rings for ring in scheduler.acknowledge(request.skill, job["id"])]
    return request.reply("ring_stopped", data={"stopped": stopped, "cancelled": []})
