"""Discovery: every valid skill package in the bundled and installed folders.

An invalid package is skipped with a problem naming its file and field; the rest load.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from assistant.bundled import BUNDLED_SKILLS
from assistant.errors import SkillLoadError
from assistant.nlu.samples import expand, fill
from assistant.skills.package import MANIFEST, SkillPackage, load_package

log = logging.getLogger(__name__)


BUILTIN_EXAMPLES: dict[str, tuple[str, ...]] = {
    "number": ("three", "5", "twenty", "42", "one hundred", "7"),
    "percentage": ("50 percent", "20%", "seventy percent", "100 percent"),
    "duration": ("10 minutes", "an hour", "30 seconds", "two hours", "five minutes", "a minute and a half"),
    "datetime": ("tomorrow at 9", "at 5 pm", "in 10 minutes", "on friday morning", "tonight", "next monday at noon"),
    "url": ("example.com", "https://en.wikipedia.org/wiki/Python", "news.ycombinator.com", "http://localhost:8000/page"),
}
GENERIC_EXAMPLES = ("something", "the thing", "my notes", "hello world")


@dataclass(frozen=True)
class Problem:
    """A skill package that was skipped, and why."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass
class Catalog:
    """The loaded skills, by id, and the packages that failed to load."""

    skills: dict[str, SkillPackage] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def __contains__(self, skill_id: str) -> bool:
        return skill_id in self.skills

    def get(self, skill_id: str) -> SkillPackage | None:
        return self.skills.get(skill_id)

    def labels(self) -> list[str]:
        return [f"{s.id}.{a}" for s in self.skills.values() for a in s.actions]

    def entity_examples(self, skill: SkillPackage) -> dict[str, list[str]]:
        """Example values for every entity a skill's samples may use."""
        examples: dict[str, list[str]] = {name: list(values) for name, values in BUILTIN_EXAMPLES.items()}
        for name, entity in skill.entities.items():
            if entity.type == "enum":
                examples[name] = [v for canonical, syn in entity.values.items() for v in (canonical, *syn)]
            elif entity.type in BUILTIN_EXAMPLES and not entity.examples:
                examples[name] = list(BUILTIN_EXAMPLES[entity.type])
            else:
                examples[name] = list(entity.examples or GENERIC_EXAMPLES)
        return examples

    def utterances(
        self, per_template: int = 3, seed: int = 7, value_slots: Collection[str] = ()
    ) -> list[tuple[str, str, str]]:
        """(skill id, action, text) for every expanded sample, slots filled with examples.

        A slot whose entity type is in `value_slots` is left as `{type}` ("{duration}"), for a
        speech grammar that hears any value of the type."""
        rng = random.Random(seed)
        rows: list[tuple[str, str, str]] = []
        for skill in self.skills.values():
            examples = self.entity_examples(skill)
            types = {name: name for name in BUILTIN_EXAMPLES}
            types.update({name: entity.type for name, entity in skill.entities.items()})
            for name, kind in types.items():
                if kind in value_slots:  # as many choices as before: the other slots get the same values
                    examples[name] = [f"{{{kind}}}"] * len(examples.get(name) or [name])
            for action in skill.actions.values():
                for sample in action.samples:
                    for phrase in expand(sample):
                        texts = {fill(phrase, examples, rng)[0] for _ in range(per_template if "{" in phrase else 1)}
                        rows.extend((skill.id, action.name, text.lower()) for text in sorted(texts))
        return rows

    def training_examples(self) -> list[tuple[str, str]]:
        """(text, "skill.action") pairs for training a classifier."""
        return [(text, f"{skill}.{action}") for skill, action, text in self.utterances()]

    def content_hash(self) -> str:
        """Changes whenever a skill, action, sample or entity changes."""
        digest = hashlib.sha256()
        for skill in sorted(self.skills.values(), key=lambda s: s.id):
            payload = {
                "id": skill.id,
                "version": skill.version,
                "actions": {a.name: list(a.samples) for a in skill.actions.values()},
                "entities": {e.name: [e.type, e.values, list(e.examples)] for e in skill.entities.values()},
            }
            digest.update(json.dumps(payload, sort_keys=True).encode())
        return digest.hexdigest()[:16]


def skill_folders(roots: Iterable[Path]) -> list[tuple[Path, bool]]:
    """Folders holding a manifest under each root, with whether the root is the bundled one."""
    found: list[tuple[Path, bool]] = []
    for root in roots:
        if not root.is_dir():
            continue
        bundled = root.resolve() == BUNDLED_SKILLS.resolve()
        for child in sorted(root.iterdir()):
            if child.is_dir() and (child / MANIFEST).exists():
                found.append((child, bundled))
    return found


def locale_languages(roots: Iterable[Path], folders: Iterable[Path] = ()) -> set[str]:
    """Every language that some skill under `roots` or in `folders` has a locale file for."""
    every = [folder for folder, _ in skill_folders(roots)] + list(folders)
    return {path.stem for folder in every for path in (folder / "locales").glob("*.json")}


def discover(
    roots: Sequence[Path],
    language: str = "en",
    disabled: Iterable[str] = (),
    folders: Sequence[Path] = (),
) -> Catalog:
    """Load every skill under `roots`, then each of `folders` (skills installed with pip).

    Later ones override earlier ones with the same id.
    """
    catalog = Catalog()
    disabled_ids = set(disabled)
    for folder, bundled in [*skill_folders(roots), *((f, False) for f in folders)]:
        try:
            package = load_package(folder, language=language, bundled=bundled)
        except SkillLoadError as error:
            catalog.problems.append(Problem(error.path, error.detail))
            log.warning("skipped skill %s: %s", folder.name, error)
            continue
        if package.id in disabled_ids:
            log.info("skill %s is disabled in the configuration", package.id)
            continue
        catalog.skills[package.id] = package
    return catalog
