"""`assistant ask TEXT`: one request, one reply."""

from __future__ import annotations

import argparse
from typing import Any

from assistant.cli.output import Printer, show_notices


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("ask", help="ask one thing and print the reply", description="Ask one thing.")
    parser.add_argument("text", nargs="+", help="what to ask")
    parser.add_argument("--json", action="store_true", help="print the turn as one JSON object")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, app: Any) -> int:
    # The session prints its turn (and, in text mode, what the skill says while it works).
    output = Printer(as_json=args.json, show_progress=not args.json)
    # A fresh home answers at once with the lexical matcher; the classifier's training outlives this process.
    app.brain(background=True)
    show_notices(app, output)
    with app.open_session("ask", output=output) as session:
        session.handle(" ".join(args.text))
    return 0
