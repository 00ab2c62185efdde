"""Installing, updating and removing skills under `$ASSISTANT_HOME/skills`, atomically.

A source (archive, folder, git URL or pip requirement) is first staged in a hidden
folder next to the installed skills and loaded there; only a verified skill is moved
into place, by renaming, so a failure at any step leaves the previous state untouched.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import SkillError, SkillLoadError
from assistant.home import Home, process_alive
from assistant.skills import dependencies, pipsource
from assistant.skills.archive import Limits, skill_files, unpack
from assistant.skills.catalog import Catalog
from assistant.skills.entrypoints import entry_point_skills
from assistant.skills.package import MANIFEST, SkillPackage, load_package
from assistant.skills.runner import DisabledSkills

log = logging.getLogger(__name__)

STAGING = ".staging"
_GIT = re.compile(r"^(git\+|git@|ssh://)|\.git/?$")


@dataclass
class Staged:
    """A skill unpacked and loaded in the staging area, not yet installed."""

    package: SkillPackage
    source: str
    kind: str
    """"archive", "folder", "git" or "pip"."""
    workdir: Path
    distribution: str | None = None
    """For pip sources: the distribution that carries the skill."""
    dependencies: dependencies.DependencyCheck = field(default_factory=dependencies.DependencyCheck)
    pip: pipsource.PipSource | None = None
    """For pip sources: the wheel, or the project to build once the user agreed."""

    @property
    def folder(self) -> Path:
        return self.package.path


def source_kind(source: str) -> str:
    """How `source` is read: "archive", "folder", "git" or "pip"."""
    path = Path(source).expanduser()
    if path.is_dir():
        return "pip" if pipsource.is_project(path) else "folder"
    if path.is_file():
        return "pip" if path.suffix == ".whl" else "archive"
    if _GIT.search(source) or source.startswith(("https://", "http://", "file://")):
        return "git"
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        Requirement(source)
    except InvalidRequirement:
        raise SkillError(
            f"{source!r} is not an archive, a folder, a git URL or a pip requirement"
        ) from None
    return "pip"


class Installer:
    """Stages, installs and removes skills in one home; `python` is the environment pip installs into."""

    def __init__(self, home: Home, catalog: Catalog, python: str | None = None, limits: Limits | None = None):
        self.home = home
        self.catalog = catalog
        self.python = python or sys.executable
        self.limits = limits or Limits()
        self.registry = Registry(home.data / "installed_skills.json")

    # --- staging --------------------------------------------------------------------

    def stage(self, source: str) -> Staged:
        """Fetch `source` into a fresh staging folder and load it; raise and clean up on any problem."""
        kind = source_kind(source)
        workdir = _staging_folder(self.home.skills / STAGING, "stage")
        try:
            pip = None
            if kind == "archive":
                folder = unpack(Path(source).expanduser(), workdir / "unpacked", self.limits)
            elif kind == "folder":
                folder = _copy_skill(Path(source).expanduser(), workdir / "copy")
            elif kind == "git":
                folder = _copy_skill(_clone(source, workdir / "clone"), workdir / "copy")
            else:
                pip = pipsource.fetch(source, workdir / "pip", self.python, self.limits)
                folder = pip.folder
            package = _load_staged(folder, source)
            if kind != "pip" and folder.name != package.id:
                renamed = folder.with_name(package.id)
                folder.rename(renamed)
                package = load_package(renamed)
            check = dependencies.check_requirements(package.dependencies)
            distribution = pip.distribution if pip else None
            return Staged(package, source, kind, workdir, distribution, check, pip)
        except BaseException:
            _remove_staging(workdir)
            raise

    def discard(self, staged: Staged) -> None:
        _remove_staging(staged.workdir)

    # --- installing -----------------------------------------------------------------

    def clash(self, staged: Staged) -> SkillPackage | None:
        """The installed or bundled skill with the same id, if any."""
        return self.catalog.get(staged.package.id)

    def commit(self, staged: Staged, replace: bool = False) -> Path:
        """Move the staged skill into place (pip sources: install the distribution); returns its folder."""
        skill_id = staged.package.id
        existing = self.clash(staged)
        final = self.home.skills / skill_id
        if (existing is not None or final.exists()) and not replace:
            version = existing.version if existing else "?"
            raise SkillError(f"a skill with id {skill_id!r} is already installed (version {version}); add --replace to replace it")
        if staged.dependencies.conflicts:
            raise SkillError("dependency conflicts:\n  " + "\n  ".join(staged.dependencies.conflicts))
        try:
            conflicts = dependencies.plan_install(staged.dependencies.missing, self.python)
            if conflicts:
                raise SkillError("dependency conflicts:\n  " + "\n  ".join(conflicts))
            dependencies.install(staged.dependencies.missing, self.python)
            if staged.pip is not None:
                wheel = pipsource.build(staged.pip, staged.workdir, self.python, self.limits)
                dependencies.install([str(wheel)], self.python, upgrade=replace)
                installed = _installed_folder(staged.distribution or "", staged.folder)
            else:
                installed = _swap_in(staged.folder, final, staged.workdir / "previous")
        finally:
            self.discard(staged)
        self.registry.add(skill_id, staged.source, staged.kind, staged.package.version, staged.distribution)
        self._enable(skill_id)
        return installed

    def _enable(self, skill_id: str) -> None:
        disabled = DisabledSkills(self.home.data / "disabled_skills.json")
        if skill_id in disabled.load():
            disabled.set(skill_id, False)

    # --- removing -------------------------------------------------------------------

    def remove(self, skill_id: str) -> list[str]:
        """Delete an installed skill, its data and its records; returns what was removed."""
        record = self.registry.get(skill_id)
        folder = self.home.skills / skill_id
        skill = self.catalog.get(skill_id)
        if skill is not None and skill.bundled and record is None:
            raise SkillError(f"{skill_id} is bundled with the assistant and cannot be removed; use: assistant skill disable {skill_id}")
        removed = []
        if record and record.get("kind") == "pip" and record.get("distribution"):
            done = subprocess.run(
                [*dependencies.pip_command(self.python), "uninstall", "--yes", "--quiet", record["distribution"]],
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                raise SkillError(f"pip could not uninstall {record['distribution']}: {done.stderr.strip()[-1000:]}")
            removed.append(f"distribution {record['distribution']}")
        elif folder.is_dir():
            # Renamed out of the skills folder first, so a crash mid-delete leaves no half skill behind.
            trash = _staging_folder(self.home.skills / STAGING, "removed")
            folder.rename(trash / skill_id)
            _remove_staging(trash)
            removed.append(str(folder))
        elif record is None:
            raise SkillError(f"no installed skill {skill_id!r}; see: assistant skill list")
        data = self.home.data / "skills" / skill_id
        if data.exists():
            shutil.rmtree(data)
            removed.append(str(data))
            if not any(data.parent.iterdir()):
                data.parent.rmdir()
        self._enable(skill_id)
        self.registry.drop(skill_id)
        return removed

    def source_of(self, skill_id: str) -> str:
        """Where an installed skill came from, for `update`."""
        record = self.registry.get(skill_id)
        if record is None:
            raise SkillError(f"{skill_id!r} was not installed with `assistant skill install`, so it has no source to update from")
        return str(record["source"])


class Registry:
    """Where each installed skill came from: a small JSON file under the home."""

    def __init__(self, path: Path):
        self.path = path

    def load(self) -> dict[str, dict[str, Any]]:
        try:
            return dict(json.loads(self.path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return {}

    def get(self, skill_id: str) -> dict[str, Any] | None:
        return self.load().get(skill_id)

    def add(self, skill_id: str, source: str, kind: str, version: str, distribution: str | None) -> None:
        records = self.load()
        if kind in ("archive", "folder"):
            source = str(Path(source).expanduser().resolve())
        records[skill_id] = {"source": source, "kind": kind, "version": version, "distribution": distribution}
        self._save(records)

    def drop(self, skill_id: str) -> None:
        records = self.load()
        if records.pop(skill_id, None) is not None or not records:
            self._save(records)

    def _save(self, records: dict[str, dict[str, Any]]) -> None:
        if not records:
            self.path.unlink(missing_ok=True)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".tmp")
        partial.write_text(json.dumps(records, indent=2, sort_keys=True), encoding="utf-8")
        partial.replace(self.path)


def _installed_folder(distribution: str, fallback: Path) -> Path:
    """Where pip put the skill of `distribution` in the environment."""
    import importlib

    importlib.invalidate_caches()
    for found in entry_point_skills():
        if found.distribution == distribution:
            return found.folder
    return fallback


def _swap_in(staged_folder: Path, final: Path, previous: Path) -> Path:
    """Rename the staged skill into place; a replaced one waits in `previous` (inside staging) until then."""
    if final.exists():
        final.rename(previous)
    try:
        staged_folder.rename(final)
    except OSError as error:
        if previous.exists():
            previous.rename(final)
        raise SkillError(f"cannot move the skill into {final}: {error.strerror}") from None
    return final


def _load_staged(folder: Path, source: str) -> SkillPackage:
    """Load the staged copy; errors name the file inside the source, not the staging folder."""
    try:
        return load_package(folder)
    except SkillLoadError as error:
        inside = error.path.removeprefix(str(folder)).lstrip("/")
        raise SkillLoadError(f"{source} ({inside})", error.detail) from None


def _staging_folder(root: Path, purpose: str) -> Path:
    """A fresh folder under `root`, named after this process; those of dead processes are removed."""
    root.mkdir(parents=True, exist_ok=True)
    for leftover in root.iterdir():
        pid = leftover.name.split("-")[1] if leftover.name.count("-") >= 2 else ""
        if pid.isdigit() and not process_alive(int(pid)):
            log.info("removing %s, left by an installation that was killed", leftover)
            shutil.rmtree(leftover, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"{purpose}-{os.getpid()}-", dir=root))


def _remove_staging(workdir: Path) -> None:
    """Delete a staging folder, and the staging area when nothing else is staged."""
    shutil.rmtree(workdir, ignore_errors=True)
    try:
        workdir.parent.rmdir()
    except OSError:
        pass  # another installation is staging, or it is already gone


def _copy_skill(source: Path, target: Path) -> Path:
    """Copy the files of a skill folder (no caches, no VCS, no links) into `target`."""
    if not (source / MANIFEST).is_file():
        raise SkillLoadError(str(source / MANIFEST), "file is missing; is this a skill folder?")
    for relative in skill_files(source):
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / relative, destination)
    return target


def _clone(url: str, target: Path) -> Path:
    """Shallow-clone `url`; returns the folder holding `skill.json` (the root or its only skill child)."""
    url = url.removeprefix("git+")
    done = subprocess.run(
        ["git", "clone", "--quiet", "--depth", "1", "--", url, str(target)],
        capture_output=True,
        text=True,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
    )
    if done.returncode != 0:
        raise SkillError(f"git could not clone {url}: {done.stderr.strip()[-1000:]}")
    if (target / MANIFEST).is_file():
        return target
    children = [child for child in target.iterdir() if (child / MANIFEST).is_file()]
    if len(children) != 1:
        raise SkillError(f"{url} holds {len(children)} skill folders; expected {MANIFEST} at the top or in one folder")
    return children[0]
