"""Skills shipped as ordinary pip packages, found through the `assistant.skills` entry-point group.

Each entry point names a module or package (`my_skill = my_dist.skill`) whose folder holds
`skill.json`. Folders are located without importing the skill's code.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from assistant.skills.package import MANIFEST

log = logging.getLogger(__name__)

GROUP = "assistant.skills"


@dataclass(frozen=True)
class EntryPointSkill:
    """One entry point of the group and the skill folder it names."""

    name: str
    module: str
    folder: Path
    distribution: str


def skill_folders() -> list[Path]:
    """Folders of the skills that installed distributions declare; for discovery."""
    return [found.folder for found in entry_point_skills()]


def entry_point_skills() -> list[EntryPointSkill]:
    """Every usable entry point of the group in the running environment."""
    found = []
    for distribution in _distributions(metadata.distributions()):
        for entry in _entries(distribution):
            folder = _folder_in_environment(entry.module)
            if folder is None or not (folder / MANIFEST).is_file():
                log.warning("entry point %s (%s) names no folder with %s; skipped", entry.name, entry.value, MANIFEST)
                continue
            found.append(EntryPointSkill(entry.name, entry.module, folder, distribution.metadata["Name"]))
    return found


def _distributions(distributions: Iterable[metadata.Distribution]) -> list[metadata.Distribution]:
    seen: dict[str, metadata.Distribution] = {}
    for distribution in distributions:
        seen.setdefault(distribution.metadata["Name"], distribution)
    return list(seen.values())


def _entries(distribution: metadata.Distribution) -> list[metadata.EntryPoint]:
    return [entry for entry in distribution.entry_points if entry.group == GROUP]


def _folder_in_environment(module: str) -> Path | None:
    """The package folder of `module`, or the folder its file is in; None when absent."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError) as error:
        log.warning("cannot locate %s: %s", module, error)
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    if spec.origin:
        return Path(spec.origin).parent
    return None
