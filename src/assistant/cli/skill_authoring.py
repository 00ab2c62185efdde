"""`assistant skill new|check|test|pack|install|remove|update`: writing and sharing skills."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from assistant.text import visible

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


def register_into(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the authoring sub-commands to `assistant skill`."""
    new = commands.add_parser("new", help="create a working skill to start from", description="Scaffold a skill package.")
    new.add_argument("name", help="skill id, lower_snake_case (e.g. coffee_timer)")
    new.add_argument("--dir", type=Path, default=Path("."), help="folder to create it in (default: here)")
    new.add_argument("--author", default="you")
    new.set_defaults(handler=new_skill)

    check = commands.add_parser("check", help="validate a skill and find collisions", description="Check a skill package.")
    check.add_argument("path", type=Path)
    check.set_defaults(handler=check_skill)

    test = commands.add_parser("test", help="run a skill's test table and pytest files", description="Test a skill package.")
    test.add_argument("path", type=Path)
    test.add_argument("--no-pytest", action="store_true", help="run only tests/tests.json")
    test.set_defaults(handler=test_skill)

    pack = commands.add_parser("pack", help="write a shareable NAME-VERSION.skill archive", description="Pack a skill.")
    pack.add_argument("path", type=Path)
    pack.add_argument("--out", type=Path, default=Path("."), help="folder for the archive (default: here)")
    pack.add_argument("--format", choices=["zip", "tar.gz"], default="zip")
    pack.set_defaults(handler=pack_skill)

    install = commands.add_parser(
        "install", help="install a skill from an archive, folder, git URL or pip requirement", description="Install a skill."
    )
    install.add_argument("source")
    install.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    install.add_argument("--replace", action="store_true", help="replace an installed skill with the same id")
    install.set_defaults(handler=install_skill)

    update = commands.add_parser("update", help="reinstall a skill from where it came from", description="Update a skill.")
    update.add_argument("id")
    update.add_argument("--yes", "-y", action="store_true")
    update.add_argument("--force", action="store_true", help="reinstall even when the version is not newer")
    update.set_defaults(handler=update_skill)

    remove = commands.add_parser("remove", help="uninstall a skill and its data", description="Remove a skill.")
    remove.add_argument("id")
    remove.set_defaults(handler=remove_skill)


def new_skill(args: argparse.Namespace, app: Any) -> int:
    from assistant.skills.scaffold import create_skill

    made = create_skill(args.name, args.dir, author=args.author)
    print(f"created {made.path} ({len(made.files)} files)")
    print(f"next: assistant skill check {made.path} && assistant skill test {made.path}")
    return EXIT_OK


def check_skill(args: argparse.Namespace, app: Any) -> int:
    from assistant.nlu.understand import Nlu
    from assistant.skills.lint import find_collisions, lint_samples, load_for_check

    package, findings = load_for_check(args.path, app.settings.general.language)
    collisions = []
    if package is not None:
        findings += lint_samples(package)
        collisions = find_collisions(
            package,
            app.catalog(),
            lambda catalog: Nlu(catalog, app.settings.nlu, app.home, encoder=app.encoder(), calibrate=False),
            margin=app.settings.nlu.context_margin,
        )
    for finding in findings:  # findings and collisions quote the package
        print(visible(str(finding)))
    for collision in collisions:
        print(visible(str(collision)))
    if findings or collisions:
        print(f"{len(findings)} problem(s), {len(collisions)} collision(s)")
        return EXIT_PROBLEMS
    print(visible(f"{package.id if package else args.path}: no problems"))
    return EXIT_OK


def test_skill(args: argparse.Namespace, app: Any) -> int:
    from assistant.skills.skilltest import run_tests

    report = run_tests(args.path, app.config, models_dir=app.home.models, with_pytest=not args.no_pytest)
    for result in report.cases:
        mark = "ok  " if result.passed else "FAIL"
        print(visible(f"{mark} {result.case.utterance!r} -> {result.label}"))
        for failure in result.failures:
            print(visible(f"       {failure}"))
    passed = sum(r.passed for r in report.cases)
    if report.cases:
        print(f"table: {passed}/{len(report.cases)} passed")
    else:
        print("table: no tests/tests.json")
    if report.pytest is not None and report.pytest.ran:
        print(visible(report.pytest.output.rstrip(), multiline=True))  # the skill's own tests wrote it
    return EXIT_OK if report.passed else EXIT_PROBLEMS


def pack_skill(args: argparse.Namespace, app: Any) -> int:
    from assistant.skills.archive import pack

    target = pack(args.path, args.out, args.format)
    print(f"wrote {target}")
    return EXIT_OK


def install_skill(args: argparse.Namespace, app: Any) -> int:
    return _install(app, args.source, yes=args.yes, replace=args.replace)


def update_skill(args: argparse.Namespace, app: Any) -> int:
    from packaging.version import Version

    from assistant.skills.install import Installer

    installer = Installer(app.home, app.catalog())
    source = installer.source_of(args.id)
    installed = app.catalog().get(args.id)
    staged = installer.stage(source)
    if installed is not None and Version(staged.package.version) <= Version(installed.version) and not args.force:
        installer.discard(staged)
        print(
            visible(
                f"{args.id} {installed.version} is up to date (source has {staged.package.version}); --force reinstalls"
            )
        )
        return EXIT_OK
    return _install(app, source, yes=args.yes, replace=True, installer=installer, staged=staged)


def _install(app: Any, source: str, yes: bool, replace: bool, installer: Any = None, staged: Any = None) -> int:
    from assistant.skills.install import Installer

    installer = installer or Installer(app.home, app.catalog())
    staged = staged or installer.stage(source)
    try:
        package = staged.package
        # Every string here comes from the package (or its source): each is shown on one line
        # with its controls written out, so that none can hide or forge the permissions below.
        print(visible(f"{package.name} ({package.id} {package.version}) from {staged.kind} {source}"))
        print(visible(f"  python dependencies: {', '.join(package.dependencies) or 'none'}"))
        if staged.dependencies.missing:
            print(visible(f"  to install with pip: {', '.join(staged.dependencies.missing)}"))
        existing = installer.clash(staged)
        if existing is not None:
            print(visible(f"  replaces: {existing.id} {existing.version} ({existing.path})"))
        # Last, right before the question: what comes after it goes to standard error and ends here.
        print(visible(f"  permissions: {', '.join(package.permissions) or 'none'}"))
        for conflict in staged.dependencies.conflicts:
            print(visible(f"  conflict: {conflict}"), file=sys.stderr)
        if existing is not None and not replace:
            print(
                visible(f"assistant: a skill with id {package.id!r} is already installed; add --replace"),
                file=sys.stderr,
            )
            return EXIT_PROBLEMS
        if staged.dependencies.conflicts:
            return EXIT_PROBLEMS
        if not yes and not _confirm("Install it?"):
            print("not installed")
            return EXIT_PROBLEMS
        folder = installer.commit(staged, replace=replace)
    finally:
        installer.discard(staged)
    app.reload_catalog()
    nlu = app.nlu()
    print(visible(f"installed {package.id} {package.version} in {folder}; {nlu.engine} classifier retrained"))
    return EXIT_OK


def remove_skill(args: argparse.Namespace, app: Any) -> int:
    from assistant.skills.install import Installer

    removed = Installer(app.home, app.catalog()).remove(args.id)
    app.reload_catalog()
    app.nlu()
    print(visible(f"removed {args.id}: {'; '.join(removed)}"))
    return EXIT_OK


def _confirm(question: str) -> bool:
    if not sys.stdin.isatty():
        print("assistant: not a terminal; add --yes to install without asking", file=sys.stderr)
        return False
    return input(f"{question} [y/N] ").strip().lower() in {"y", "yes"}
