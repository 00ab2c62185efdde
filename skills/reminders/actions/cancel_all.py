"""Cancel all timers (or all reminders, all alarms, everything)."""

from __future__ import annotations

from reminder_jobs import cancel_all

from assistant.skills.sdk import Request, Response


def run(request: Request) -> Response:
    return cancel_all(request)
