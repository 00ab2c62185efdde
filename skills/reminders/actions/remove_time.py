"""Take time off a timer: "take 2 minutes off the timer", "remove a minute from the pizza timer"."""

from __future__ import annotations

from timers import change_length

from assistant.skills.sdk import Request, Response


def run(request: Request) -> Response:
    return change_length(request, "remove_time", -1)
