"""`assistant skill ...`: list the skills, switch them on and off."""

from __future__ import annotations

import argparse
from typing import Any

from assistant.cli import skill_authoring
from assistant.cli.output import json_text
from assistant.text import visible


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("skill", help="list and manage skills", description="List and manage skills.")
    commands = parser.add_subparsers(dest="skill_command", metavar="SUBCOMMAND")

    listing = commands.add_parser("list", help="list the installed skills", description="List the installed skills.")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=list_skills)

    enable = commands.add_parser("enable", help="switch a disabled skill back on", description="Re-enable a skill.")
    enable.add_argument("id")
    enable.set_defaults(handler=lambda args, app: _set_disabled(app, args.id, False))

    disable = commands.add_parser("disable", help="switch a skill off", description="Disable a skill.")
    disable.add_argument("id")
    disable.set_defaults(handler=lambda args, app: _set_disabled(app, args.id, True))

    skill_authoring.register_into(commands)


def list_skills(args: argparse.Namespace, app: Any) -> int:
    catalog = app.catalog()
    rows = [
        {
            "id": skill.id,
            "version": skill.version,
            "name": skill.name,
            "description": skill.description,
            "actions": list(skill.actions),
            "bundled": skill.bundled,
            "path": str(skill.path),
            "permissions": skill.permissions,
        }
        for skill in catalog.skills.values()
    ]
    problems = [{"path": p.path, "problem": p.message} for p in catalog.problems]
    if args.json:
        print(json_text({"skills": rows, "problems": problems}, indent=2))
        return 0
    # Every field comes from a package's manifest: one line per skill, whatever it holds.
    for row in rows:
        print(visible(f"{row['id']:<20} {row['version']:<8} {row['description']}"))
    for problem in problems:
        print(visible(f"skipped: {problem['path']}: {problem['problem']}"))
    return 0


def _set_disabled(app: Any, skill_id: str, disabled: bool) -> int:
    from assistant.skills.runner import DisabledSkills

    store = DisabledSkills(app.home.data / "disabled_skills.json")
    if not disabled and skill_id not in store.load():
        print(visible(f"skill {skill_id} is not disabled"))
        return 0
    store.set(skill_id, disabled)
    print(visible(f"skill {skill_id} {'disabled' if disabled else 'enabled'}"))
    return 0
