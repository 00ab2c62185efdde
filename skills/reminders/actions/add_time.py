"""Add time to a timer: "add 5 minutes to the pizza timer", "give the timer 2 more minutes"."""

from __future__ import annotations

from timers import change_length

from assistant.skills.sdk import Request, Response


def run(request: Request) -> Response:
    return change_length(request, "add_time", +1)
