"""`assistant config show`: the effective settings and where each came from."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from assistant.config import flatten


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("config", help="show the settings", description="Inspect the configuration.")
    commands = parser.add_subparsers(dest="config_command", metavar="SUBCOMMAND")
    show = commands.add_parser(
        "show", help="print the effective settings and their sources", description="Print every setting."
    )
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=show_config)
    path = commands.add_parser("path", help="print the user configuration file's path", description="Print the path.")
    path.set_defaults(handler=lambda args, app: print(app.home.config_file) or 0)


def show_config(args: argparse.Namespace, app: Any) -> int:
    values = flatten(app.settings)
    sources = app.config.sources
    if args.json:
        rows = {key: {"value": value, "source": sources.get(key, "built-in default")} for key, value in values.items()}
        print(json.dumps(rows, indent=2, default=str))
    else:
        width = max(len(key) for key in values)
        for key, value in values.items():
            print(f"{key:<{width}} = {json.dumps(value, default=str):<40} # {sources.get(key, 'built-in default')}")
    sys.stdout.flush()
    # The language and the [skills.<id>] tables are checked against the installed skills, as
    # every other command does: an error there is exit 2 (after the table, which helps find it).
    app.catalog()
    return 0
