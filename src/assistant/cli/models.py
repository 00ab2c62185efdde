"""`assistant models list` and `assistant models pull NAME`: the downloadable Vosk models."""

from __future__ import annotations

import argparse
from typing import Any

from assistant.cli.output import Printer
from assistant.errors import ModelError


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("models", help="list or download speech models")
    commands = parser.add_subparsers(dest="models_command", metavar="COMMAND")
    listing = commands.add_parser("list", help="the catalogue, and which models are installed")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=run_list)
    pull = commands.add_parser("pull", help="download, verify and unpack a model")
    pull.add_argument("name", help="a model name from `assistant models list`")
    pull.add_argument("--force", action="store_true", help="download again even if installed")
    pull.set_defaults(handler=run_pull)


def run_list(args: argparse.Namespace, app: Any) -> int:
    from assistant.stt.models import CATALOGUE, installed, model_dir

    present = set(installed(app.home.models))
    rows = [
        {
            "name": spec.name,
            "installed": spec.name in present,
            "size_mb": spec.size_mb,
            "description": spec.description,
            "url": spec.url,
            "path": str(model_dir(app.home.models, spec.name)) if spec.name in present else None,
        }
        for spec in CATALOGUE.values()
    ]
    rows += [
        {
            "name": name,
            "installed": True,
            "size_mb": None,
            "description": "(not in the catalogue)",
            "url": None,
            "path": str(model_dir(app.home.models, name)),
        }
        for name in sorted(present - CATALOGUE.keys())
    ]
    if args.json:
        Printer(as_json=True).json({"models": rows})
        return 0
    for row in rows:
        mark = "*" if row["installed"] else " "
        size = f"{row['size_mb']:>5} MB" if row["size_mb"] else "        "
        print(f"{mark} {row['name']:20s} {size}  {row['description']}")
    print("(* installed)")
    return 0


def run_pull(args: argparse.Namespace, app: Any) -> int:
    from tqdm import tqdm

    from assistant.stt.models import CATALOGUE, pull

    spec = CATALOGUE.get(args.name)
    if spec is None:
        raise ModelError(f"no model named {args.name!r}; known: {', '.join(CATALOGUE)}")
    with tqdm(unit="B", unit_scale=True, desc=spec.name, leave=False) as bar:

        def progress(done: int, total: int | None) -> None:
            bar.total = total
            bar.update(done - bar.n)

        target = pull(spec, app.home.models, force=args.force, progress=progress)
    print(f"{spec.name} installed in {target}")
    return 0
