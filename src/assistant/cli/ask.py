"""`assistant ask TEXT`: one request, one reply."""

from __future__ import annotations

import argparse
from typing import Any

from assistant.cli.output import Printer


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("ask", help="ask one thing and print the reply", description="Ask one thing.")
    parser.add_argument("text", nargs="+", help="what to ask")
    parser.add_argument("--json", action="store_true", help="print the turn as one JSON object")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, app: Any) -> int:
    printer = Printer(as_json=args.json)
    app.on_say = lambda text: None if args.json else printer.progress(text)
    turn = app.brain().handle(" ".join(args.text))
    printer.turn(turn.to_json())
    return 0
