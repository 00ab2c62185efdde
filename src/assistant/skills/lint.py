"""`assistant skill check`: schema problems, weak samples, and collisions with installed skills.

A collision is an utterance whose best other-skill score comes within `margin` of its
own action's score (or beats it): the classifier may send it to the wrong skill.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from assistant.errors import SkillLoadError
from assistant.nlu.lexical import normalise
from assistant.nlu.samples import expand, slots_in
from assistant.skills.catalog import Catalog
from assistant.skills.package import BUILTIN_TYPES, MANIFEST, SkillPackage, load_package

MIN_PHRASINGS = 3
"""Fewer distinct phrasings than this per action is too little to train on."""
_ANSWER_CALL = re.compile(r"""\.(?:answer|reply)\(\s*["']([A-Za-z0-9_]+)["']""")


@dataclass(frozen=True)
class Finding:
    """One problem in a skill package, with the file (and line) it is in."""

    where: str
    message: str
    severity: str = "warning"
    """"error" (the skill does not load) or "warning" (it loads but will work badly)."""

    def __str__(self) -> str:
        return f"{self.where}: {self.severity}: {self.message}"


@dataclass(frozen=True)
class Collision:
    """An utterance the classifier scores (nearly) as high for another skill's action."""

    utterance: str
    expected: str
    """"skill.action" whose sample the utterance is."""
    rival: str
    """"skill.action" of the other skill that competes for it."""
    expected_score: float
    rival_score: float

    @property
    def stolen(self) -> bool:
        """True when the rival wins outright."""
        return self.rival_score > self.expected_score

    def __str__(self) -> str:
        verdict = "goes to" if self.stolen else "is nearly taken by"
        return (
            f"collision: {self.utterance!r} ({self.expected}, {self.expected_score:.2f}) "
            f"{verdict} {self.rival} ({self.rival_score:.2f})"
        )


def load_for_check(path: Path, language: str = "en") -> tuple[SkillPackage | None, list[Finding]]:
    """The package, or None and an error finding naming the file and line at fault."""
    if not (path / MANIFEST).is_file():
        return None, [Finding(str(path), f"no {MANIFEST} here; is this a skill folder?", "error")]
    try:
        return load_package(path, language=language), []
    except SkillLoadError as error:
        return None, [Finding(error.path, error.detail, "error")]


def lint_samples(package: SkillPackage) -> list[Finding]:
    """Too few phrasings, duplicate phrasings, unused entities, answers the code names but lacks."""
    locale = package.path / "locales" / f"{package.language}.json"
    findings: list[Finding] = []
    owner: dict[str, str] = {}
    used_slots: set[str] = set()
    for action in package.actions.values():
        phrasings: list[str] = []
        for sample in action.samples:
            used_slots.update(slots_in(sample))
            repeated: dict[str, list[str]] = {}
            for phrase in expand(sample):
                key = normalise(phrase)
                if key in owner:
                    repeated.setdefault(owner[key], []).append(phrase)
                else:
                    owner[key] = action.name
                    phrasings.append(phrase)
            for first, phrases in repeated.items():
                place = "earlier in this action" if first == action.name else f"in action {first!r}"
                findings.append(
                    Finding(
                        _where(locale, sample),
                        f"sample {sample!r} of action {action.name!r} repeats {len(phrases)} phrasing(s) "
                        f"already given {place}, e.g. {phrases[0]!r}",
                    )
                )
        if not action.internal and len(phrasings) < MIN_PHRASINGS:
            findings.append(
                Finding(
                    _where(locale, f'"{action.name}"'),
                    f"action {action.name!r} has {len(phrasings)} distinct phrasing(s); "
                    f"give at least {MIN_PHRASINGS} so the classifier can learn it",
                )
            )
        for entity in action.required_entities:
            if entity not in {slot for sample in action.samples for slot in slots_in(sample)}:
                findings.append(
                    Finding(_where(locale, f'"{entity}"'), f"required entity {entity!r} of action {action.name!r} appears in none of its samples")
                )
            if entity not in package.entities and entity not in BUILTIN_TYPES:
                findings.append(Finding(_where(locale, f'"{entity}"'), f"required entity {entity!r} is not defined under 'entities'", "error"))
    for name in package.entities:
        if name not in used_slots:
            findings.append(Finding(_where(locale, f'"{name}"'), f"entity {name!r} is defined but no sample uses {{{name}}}"))
    findings.extend(_missing_answers(package))
    return findings


def _missing_answers(package: SkillPackage) -> list[Finding]:
    findings = []
    for module in sorted((package.path / "actions").glob("*.py")):
        for number, line in enumerate(module.read_text(encoding="utf-8").splitlines(), start=1):
            for key in _ANSWER_CALL.findall(line):
                if key not in package.answers:
                    findings.append(Finding(f"{module}:{number}", f"answer {key!r} is not defined in the locale's 'answers'", "error"))
    return findings


def _where(path: Path, needle: str) -> str:
    """`path:line` of the first line holding `needle` (as written in JSON), else `path`."""
    encoded = json.dumps(needle)[1:-1] if not needle.startswith('"') else needle
    try:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if encoded in line:
                return f"{path}:{number}"
    except OSError:
        pass
    return str(path)


def with_skill(catalog: Catalog, package: SkillPackage) -> Catalog:
    """`catalog` with `package` added (replacing an installed skill of the same id)."""
    skills = {skill_id: skill for skill_id, skill in catalog.skills.items() if skill_id != package.id}
    skills[package.id] = package
    return Catalog(skills=skills)


def find_collisions(
    package: SkillPackage,
    installed: Catalog,
    make_nlu: Callable[[Catalog], Any],
    margin: float = 0.1,
    now: datetime | None = None,
) -> list[Collision]:
    """Samples of `package` that other skills compete for, and other skills' samples it competes for.

    `make_nlu(catalog)` builds the understanding stage (the configured classifier) over the
    installed skills plus this one.
    """
    catalog = with_skill(installed, package)
    nlu = make_nlu(catalog)
    now = now or datetime.now().astimezone()
    collisions = []
    seen: set[tuple[str, str]] = set()
    utterances = catalog.utterances(per_template=1)
    prepare = getattr(nlu.classifier, "prepare", None)
    if prepare is not None:  # one batch, known sentences from the embedding store
        prepare([text for _, _, text in utterances])
    for skill_id, action, text in utterances:
        if catalog.skills[skill_id].actions[action].follow_up or (text, skill_id) in seen:
            continue
        seen.add((text, skill_id))
        expected = f"{skill_id}.{action}"
        scores = dict(nlu.parse(text, now).ranking)
        mine = skill_id == package.id
        rivals = [
            (label, score)
            for label, score in scores.items()
            if (label.split(".", 1)[0] != package.id) == mine and label != expected
        ]
        if not rivals:
            continue
        rival, rival_score = max(rivals, key=lambda item: item[1])
        own_score = scores.get(expected, 0.0)
        if rival_score >= nlu.threshold and rival_score >= own_score - margin:
            collisions.append(Collision(text, expected, rival, own_score, rival_score))
    return collisions
