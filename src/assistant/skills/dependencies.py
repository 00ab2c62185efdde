"""A skill's Python dependencies: which are met, which are missing, which would break the assistant.

The assistant's own environment is shared by every skill, so nothing may change the
version of a distribution that is already installed (torch above all): such a
requirement is a conflict and the installation stops before pip touches anything.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from assistant.errors import SkillError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DependencyCheck:
    """The requirements sorted by what installing them would do."""

    satisfied: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    """Human-readable: what is wrong and with which installed version."""


def check_requirements(requirements: Sequence[str]) -> DependencyCheck:
    """Compare PEP 508 requirements with the installed distributions (no network)."""
    result = DependencyCheck()
    for text in requirements:
        try:
            requirement = Requirement(text)
        except InvalidRequirement as error:
            result.conflicts.append(f"{text!r} is not a valid requirement: {error}")
            continue
        if requirement.marker is not None and not requirement.marker.evaluate():
            result.satisfied.append(text)
            continue
        try:
            installed = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            result.missing.append(text)
            continue
        if requirement.specifier.contains(installed, prereleases=True):
            result.satisfied.append(text)
        else:
            result.conflicts.append(
                f"{text} conflicts with the installed {requirement.name} {installed}, which the assistant uses"
            )
    return result


def pip_command(python: str = sys.executable) -> list[str]:
    return [python, "-m", "pip", "--disable-pip-version-check", "--no-input"]


def plan_install(requirements: Sequence[str], python: str = sys.executable) -> list[str]:
    """Ask pip (dry run) what installing would change; conflicts for every installed version it would touch."""
    if not requirements:
        return []
    command = [*pip_command(python), "install", "--dry-run", "--quiet", "--report", "-", *requirements]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SkillError(f"pip cannot resolve {', '.join(requirements)}:\n{done.stderr.strip()[-2000:]}")
    report = json.loads(done.stdout or "{}")
    conflicts = []
    for item in report.get("install", []):
        name = canonicalize_name(item["metadata"]["name"])
        version = item["metadata"]["version"]
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
        if installed != version:
            conflicts.append(f"installing would change {name} {installed} to {version}")
    return conflicts


def install(requirements: Sequence[str], python: str = sys.executable, upgrade: bool = False) -> None:
    """`pip install` into the assistant's environment; raises `SkillError` with pip's message."""
    if not requirements:
        return
    log.info("installing %s", ", ".join(requirements))
    command = [*pip_command(python), "install", "--quiet", *(["--upgrade"] if upgrade else []), *requirements]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SkillError(f"pip could not install {', '.join(requirements)}:\n{done.stderr.strip()[-2000:]}")
