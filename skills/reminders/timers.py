"""Which timer a request means: by name ("the pizza timer"), by length ("the 10 minute timer"),
implicitly (the only one), or by asking which one, with the choices named apart."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from reminder_jobs import clean_name, find, label_of, now_of, user_jobs

from assistant.skills.sdk import (
    Question,
    Request,
    Response,
    clock,
    describe_duration,
    find_durations,
)

Apply = Callable[[dict[str, Any]], Response]

_HYPHEN = re.compile(r"(\d)\s*-\s*(hours?|minutes?|mins?|seconds?|secs?)\b", re.I)
_MORE = re.compile(
    r"\s+(?:more|extra|additional)\s+(?=(?:hours?|minutes?|mins?|seconds?|secs?)\b)", re.I
)
_NAMED_BEFORE = re.compile(r"\b(?:the|my|a|an|that|this)\s+(?P<name>[a-z][a-z' ]*?)\s+timer\b")
_NAMED_AFTER = re.compile(
    r"\btimer\s+(?:for|called|named|on)\s+(?:the\s+|my\s+)?(?P<name>[a-z][a-z' ]*)"
)
_NOT_NAMES = {
    "current", "running", "only", "active", "first", "second", "third", "last", "other", "one",
    "paused", "new", "kitchen timer", "all", "every", "each", "both", "same",
}  # fmt: skip
_TRAILING = re.compile(r"\s+(?:for|to|by|off|from|on|in|and|with|please|now|again)(?:\s.*)?$")
_ORDINALS = {"first": 0, "second": 1, "third": 2, "fourth": 3, "last": -1}
_ALL = re.compile(r"\b(?:all|every|everything|both|each)\b")


def spoken_text(request: Request) -> str:
    """The utterance in lower case with "10-minute" read as "10 minute"."""
    text = _MORE.sub(" ", _HYPHEN.sub(r"\1 \2", request.utterance.lower()))
    return text.strip(" .!?")


def lengths(text: str, now: datetime) -> tuple[list[float], list[float]]:
    """(lengths that name a timer: "the 10 minute timer", amounts: "add 5 minutes")."""
    naming, amounts = [], []
    for start, end, seconds in find_durations(text, now):
        before, after = text[:start], text[end:]
        names = re.match(r"\s*(?:long\s+)?timers?\b", after) or re.search(
            r"\b(?:timer|one)\s+(?:for|of|set for)\s+$", before
        )
        (naming if names else amounts).append(seconds)
    return naming, amounts


def name_said(request: Request, now: datetime) -> str:
    """The timer's name in the request ("pizza"), or ""."""
    entity = request.entities.get("name")
    candidates = [entity] if isinstance(entity, str) else []
    text = spoken_text(request)
    for start, end, _ in reversed(find_durations(text, now)):
        text = text[:start] + text[end:]
    text = re.sub(r"\s+", " ", text)
    for pattern in (_NAMED_BEFORE, _NAMED_AFTER):
        candidates += [m.group("name") for m in pattern.finditer(text)]
    for candidate in candidates:
        name = clean_name(_TRAILING.sub("", str(candidate).strip()))
        if name and name not in _NOT_NAMES and not re.fullmatch(r"[\d ]+", name):
            return name
    return ""


def length_of(job: dict[str, Any]) -> float:
    return float(job["payload"].get("length_s") or 0)


def left_s(job: dict[str, Any], now: datetime) -> float:
    """Seconds left: frozen while paused, else until it rings."""
    if job.get("paused"):
        return float(job.get("paused_left_s") or 0)
    return max(0.0, (datetime.fromisoformat(job["next_run_time"]) - now).total_seconds())


def size_of(seconds: float) -> str:
    """ "10 minute", "1 hour and 30 minute" — a length said before "timer"."""
    return re.sub(r"\b(hour|minute|second)s\b", r"\1", describe_duration(seconds))


def what(job: dict[str, Any]) -> str:
    """ "pizza timer" or "10 minute timer"."""
    return f"{label_of(job)} timer"


def names_apart(jobs: list[dict[str, Any]], now: datetime) -> list[str]:
    """Each timer as it can be told from the others: "10 minute timer set in kitchen", "... set at 9:05"."""
    names = [what(job) for job in jobs]
    rooms = {job.get("room") for job in jobs}
    for index, job in enumerate(jobs):
        # Only the machine's own room sees timers of several rooms; its own need no room.
        if len(rooms) > 1 and job.get("room"):
            names[index] += f" set in {job['room']}"
    for index, job in enumerate(jobs):
        if names.count(what(job)) > 1 and job.get("created"):
            names[index] += f" set at {clock(datetime.fromisoformat(job['created']))}"
    for index, job in enumerate(jobs):
        if names.count(names[index]) > 1:
            names[index] += f" with {describe_duration(left_s(job, now))} left"
    return names


def choose(jobs: list[dict[str, Any]], answer: str, now: datetime) -> list[dict[str, Any]]:
    """The timers an answer to "which one?" points at ("the pizza one", "the second", "both")."""
    said = answer.lower()
    if _ALL.search(said):
        return jobs
    for word, index in _ORDINALS.items():
        if re.search(rf"\b{word}\b", said):
            return [jobs[index]] if -len(jobs) <= index < len(jobs) else []
    named = [job for job, name in zip(jobs, names_apart(jobs, now), strict=True) if name in said]
    if len(named) == 1:
        return named
    naming, amounts = lengths(said, now)
    sizes = naming + amounts
    if sizes:
        return [job for job in jobs if any(abs(length_of(job) - s) < 1 for s in sizes)]
    clock_said = re.search(r"\b(\d{1,2}:\d{2})\b", said)
    if clock_said:
        apart = names_apart(jobs, now)
        return [job for job, name in zip(jobs, apart, strict=True) if clock_said.group(1) in name]
    name = clean_name(re.sub(r"\b(?:one|timer)\b", "", said))
    return find(jobs, name) if name else []


def addressed(
    request: Request, jobs: list[dict[str, Any]], now: datetime
) -> tuple[list[dict[str, Any]], str]:
    """The timers the request points at, and how it named them ("" when it named none)."""
    asked = request.context.answer_to or {}
    if asked.get("choices"):
        offered = [job for job in jobs if job["id"] in asked["choices"]]
        return choose(offered, request.utterance, now), request.utterance
    text = spoken_text(request)
    name = name_said(request, now)
    naming, _ = lengths(text, now)
    chosen = find(jobs, name) if name else list(jobs)
    if naming:
        chosen = [job for job in chosen if any(abs(length_of(job) - s) < 1 for s in naming)]
    said = name or (f"{size_of(naming[0])}" if naming else "")
    return chosen, said


def act_on_timer(
    request: Request,
    action: str,
    apply: Apply,
    keep: Callable[[dict[str, Any]], bool] = lambda job: True,
    extra: dict[str, Any] | None = None,
) -> Response:
    """Apply `apply` to the one timer meant; say there is none, or ask which one."""
    now = now_of(request)
    timers = [job for job in user_jobs(request, "timer") if keep(job)]
    if not timers:
        return request.reply(f"no_timers_{action}", data={"timers": []})
    chosen, said = addressed(request, timers, now)
    if not chosen:
        return request.reply("no_such_timer", name=said or "that", data={"timers": []})
    if len(chosen) > 1 and _ALL.search(request.utterance.lower()):
        replies = [apply(job) for job in chosen]
        return Response(
            " ".join(r.text for r in replies), data={"timers": [r.data for r in replies]}
        )
    if len(chosen) == 1:
        return apply(chosen[0])
    choices = names_apart(chosen, now)
    spoken_choices = ", ".join(f"the {c}" for c in choices[:-1]) + " or the " + choices[-1]
    question = Question(action, {"choices": [job["id"] for job in chosen], **(extra or {})})
    return Response(
        request.answer("which_timer", choices=spoken_choices),
        question=question,
        data={"choices": choices},
    )


def change_length(request: Request, action: str, sign: int) -> Response:
    """Add (`sign` 1) or take off (-1) the amount said to the timer meant."""
    now = now_of(request)
    asked = request.context.answer_to or {}
    amounts = lengths(spoken_text(request), now)[1]
    amount = float(asked.get("amount") or (amounts[0] if amounts else 0))
    if amount <= 0:
        return request.reply("ask_amount", data={"timers": []})

    def change(job: dict[str, Any]) -> Response:
        left = left_s(job, now)
        if sign < 0 and amount >= left:
            return request.reply(
                "not_enough_left", what=what(job), left=describe_duration(left), data={"job": job}
            )
        changed = request.services.scheduler.shift(job["id"], sign * amount)
        fields = {
            "what": what(job),
            "amount": describe_duration(amount),
            "left": describe_duration(left_s(changed, now)),
        }
        return request.reply(f"{action}_done", data={"job": changed}, **fields)

    return act_on_timer(request, action, change, extra={"amount": amount})
