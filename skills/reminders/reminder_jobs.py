"""What the reminders actions share: the request's time, finding a job by what the user calls it, wording.

Jobs belong to the room that set them (a satellite, a Home Assistant device, or the machine
itself). The scheduler shows a room only its own; the machine's own room (the terminal, `ask`,
`listen`) sees every room's, and names the room of those set elsewhere.
"""

from __future__ import annotations

import re
import textwrap
from datetime import datetime
from typing import Any

from rapidfuzz import fuzz, process, utils

from assistant.skills.sdk import Request, Response, describe_duration, describe_time, local_zone

KINDS = ("reminder", "timer", "alarm")
EVERYWHERE = re.compile(r"\b(?:everywhere|in (?:all|every) rooms?|all rooms?)\b")
FILLER = re.compile(r"^(?:(?:the|my|a|an|about|to|for|that)\s+)+|\s+(?:timer|reminder|alarm)$")


def now_of(request: Request) -> datetime:
    """The time of the request in the local zone (a zone with daylight-saving rules, not an offset)."""
    zone = local_zone()
    if request.context.now:
        return datetime.fromisoformat(request.context.now).astimezone(zone)
    return datetime.now(zone)


def kind_said(utterance: str) -> str | None:
    """The kind ("timer", "alarm", "reminder") when the utterance names one kind of job."""
    said = {kind for kind in KINDS if re.search(rf"\b{kind}s?\b", utterance.lower())}
    return said.pop() if len(said) == 1 else None


def clean_name(text: str | None) -> str:
    """What a job is called, without articles and kind: "the pasta timer" -> "pasta"."""
    name = (text or "").strip(" .,!?").lower()
    previous = None
    while previous != name:
        previous, name = name, FILLER.sub("", name).strip()
    return name


def here(request: Request, job: dict[str, Any]) -> bool:
    """Whether the job was set in the room asking (only the machine's own room sees others)."""
    return job.get("room") == request.context.room


def in_room(request: Request, job: dict[str, Any], what: str) -> str:
    """`what` ("pasta timer"), with the room it was set in when that is another: "pasta timer set in kitchen"."""
    if here(request, job):
        return what
    return request.answer("set_in_room", what=what, room=room_name(job))


def room_name(job: dict[str, Any]) -> str:
    return str(job.get("room") or "this machine")


def user_jobs(request: Request, kind: str | None = None) -> list[dict[str, Any]]:
    """This skill's reminders, timers and alarms (not alarm repeats), soonest first."""
    jobs = request.services.scheduler.list(request.skill)
    return [job for job in jobs if job["kind"] in KINDS and (kind is None or job["kind"] == kind)]


def find(jobs: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """Jobs whose name, task or label matches `name`: exact first, then fuzzy."""
    if not name:
        return list(jobs)
    choices = {
        job["id"]: [label_of(job), job["payload"].get("task") or "", job.get("name") or ""]
        for job in jobs
    }
    exact = [job for job in jobs if name in [c.lower() for c in choices[job["id"]] if c]]
    if exact:
        return exact
    phrases = [(job, phrase) for job in jobs for phrase in choices[job["id"]] if phrase]
    best = process.extractOne(
        name,
        [phrase for _, phrase in phrases],
        scorer=fuzz.WRatio,
        processor=utils.default_process,
        score_cutoff=75,
    )
    return [] if best is None else [phrases[best[2]][0]]


def short(text: str) -> str:
    """A task as said in a reply or a list: its first words when long (the job keeps all of it)."""
    return textwrap.shorten(text, width=80, placeholder=" …")


def label_of(job: dict[str, Any]) -> str:
    """How to call a job in a sentence: "pasta", "5 minutes", "water the plants"."""
    payload = job["payload"]
    return str(
        job.get("name")
        or short(str(payload.get("task") or ""))
        or payload.get("label")
        or payload.get("clock")
        or job["kind"]
    )


def when_of(job: dict[str, Any], now: datetime) -> str:
    """When a job runs next: "at 5:00 pm today", or the recurrence with the next time."""
    if job.get("paused"):
        return f"paused with {describe_duration(float(job.get('paused_left_s') or 0))} left"
    moment = datetime.fromisoformat(job["next_run_time"]) if job.get("next_run_time") else None
    at = f"at {describe_time(moment, now)}" if moment else "never again"
    description = job["payload"].get("description")
    return f"{description} (next {at})" if job["recurring"] and description else at


def left_of(job: dict[str, Any], now: datetime) -> str:
    if job.get("paused"):
        return describe_duration(float(job.get("paused_left_s") or 0))
    moment = datetime.fromisoformat(job["next_run_time"])
    return describe_duration(max(0.0, (moment - now).total_seconds()))


def what_of(job: dict[str, Any]) -> str:
    """A job in a sentence: "pasta timer", "reminder to water the plants", "7:00 am alarm"."""
    kind, payload = job["kind"], job["payload"]
    if kind == "reminder":
        return f"reminder to {short(str(payload.get('task') or payload.get('text')))}"
    if kind == "timer":
        return f"{label_of(job)} timer"
    return f"{payload.get('clock', '')} alarm".strip()


def describe(request: Request, job: dict[str, Any], now: datetime) -> str:
    """One line of a list: what, when, and the room it was set in when that is another."""
    kind = job["kind"]
    if job.get("paused"):
        line = request.answer("list_timer_paused", label=label_of(job), left=left_of(job, now))
    else:
        fields = {
            "task": short(str(job["payload"].get("task") or "")),
            "label": label_of(job),
            "when": when_of(job, now),
        }
        line = request.answer(f"list_{kind}", **fields)
    if here(request, job):
        return line
    return request.answer("list_in_room", item=line, room=room_name(job))


def cancel_all(request: Request) -> Response:
    """Cancel every job of the kind said (timers when none is said, all kinds for "everything").

    Only the room's own: in the machine's own room, which sees every room's, the others are
    kept and named, unless "everywhere" was said.
    """
    said = request.utterance.lower()
    kind = kind_said(said) or (None if "everything" in said else "timer")
    jobs = user_jobs(request, kind)
    mine = jobs if EVERYWHERE.search(said) else [job for job in jobs if here(request, job)]
    kept = [job for job in jobs if job not in mine]
    for job in mine:
        request.services.scheduler.cancel(job["id"])
    data = {"cancelled": [j["id"] for j in mine], "kept": [j["id"] for j in kept]}
    if not mine:
        what = f"{kind}s" if kind else "reminders, timers or alarms"
        text = request.answer("nothing_to_cancel_all", what=what)
    else:
        text = request.answer("cancelled_all", count=count_of(mine, kind))
    if kept:
        rooms = and_list(sorted({room_name(job) for job in kept}))
        again = f"all {kind}s" if kind else "everything"
        text += " " + request.answer(
            "kept_elsewhere", count=count_of(kept, kind), rooms=rooms, again=again
        )
    return Response(text, data=data)


def count_of(jobs: list[dict[str, Any]], kind: str | None) -> str:
    """ "1 timer", "3 items"."""
    return f"{len(jobs)} {kind or 'item'}{'s' if len(jobs) != 1 else ''}"


def and_list(words: list[str]) -> str:
    """ "kitchen", "kitchen and hall", "attic, kitchen and hall"."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
