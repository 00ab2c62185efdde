"""`assistant reminders`: list and cancel the stored reminders, timers, alarms and other scheduled jobs."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any

from assistant.cli.output import json_text
from assistant.services.timewords import describe_time
from assistant.text import visible

if TYPE_CHECKING:  # APScheduler and SQLAlchemy cost every command most of a second to import
    from assistant.services.scheduler import SchedulerService

EXIT_OK, EXIT_FAILED = 0, 1
LOCAL_LABEL = "local"
"""How the list names the machine's own room (`null` in `--json`)."""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "reminders",
        help="list and cancel reminders, timers and alarms",
        description=(
            "The jobs stored in the scheduler (every skill's, every room's), with their next run time"
            f" and the room that set them ({LOCAL_LABEL!r}: this machine's chat, ask and listen)."
        ),
    )
    commands = parser.add_subparsers(dest="reminders_command", metavar="SUBCOMMAND", required=True)

    listing = commands.add_parser("list", help="the stored jobs, soonest first")
    listing.add_argument("--json", action="store_true", help="print the jobs as a JSON list")
    listing.add_argument(
        "--skill", metavar="ID", help="only this skill's jobs (default: every skill's)"
    )
    listing.set_defaults(handler=_list)

    cancel = commands.add_parser("cancel", help="remove a stored job")
    cancel.add_argument("id", metavar="ID", help="the job id, as `reminders list` shows it")
    cancel.set_defaults(handler=_cancel)


def _scheduler(app: Any) -> SchedulerService:
    """The store only: nothing is delivered from this process."""
    from assistant.services.scheduler import SchedulerService

    return SchedulerService(app.home, app.settings.scheduler, deliver=lambda note: None)


def _list(args: argparse.Namespace, app: Any) -> int:
    scheduler = _scheduler(app)
    try:
        jobs = scheduler.list(args.skill)
    finally:
        scheduler.shutdown()
    if args.json:
        print(json_text(jobs))
        return EXIT_OK
    if not jobs:
        print("Nothing is scheduled.")
        return EXIT_OK
    now = datetime.now(scheduler.zone)
    for job in jobs:
        moment = job["next_run_time"]
        when = describe_time(datetime.fromisoformat(moment), now) if moment else "never"
        repeat = " (repeats)" if job["recurring"] else ""
        label = job["name"] or job["text"] or job["payload"].get("action", "")
        room = job["room"] or LOCAL_LABEL
        # The label and the room are a skill's, the user's or a device's words: one line, controls written out.
        print(visible(f"{job['id']:<24} {job['kind']:<10} {room:<12} {when}{repeat}  {label}"))
    return EXIT_OK


def _cancel(args: argparse.Namespace, app: Any) -> int:
    scheduler = _scheduler(app)
    try:
        removed = scheduler.cancel(args.id)
    finally:
        scheduler.shutdown()
    if not removed:
        print(
            visible(f"assistant reminders cancel: no job {args.id!r}; see `assistant reminders list`"),
            file=sys.stderr,
        )
        return EXIT_FAILED
    print(visible(f"Cancelled {args.id}."))
    return EXIT_OK
