"""Entity extraction: align an utterance with a sample template, else scan it by type.

Templates first, because they cut free text ("remind me to {task} {when}") out whole;
the scan finds numbers, durations, dates, urls and enum values anywhere in the text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from assistant.nlu import values
from assistant.nlu.lexical import normalise
from assistant.nlu.samples import SLOT, expand
from assistant.skills.package import EntityDef

_TRIM = re.compile(r"^[\s,.!?;:]+|[\s,.!?;:]+$")
_SPACES = re.compile(r"\s+")


def prepare(text: str, lower: bool = True) -> str:
    """Curly quotes straightened, outer punctuation and extra spaces dropped, lower case unless asked.

    Inner punctuation stays: urls and times need their dots and colons.
    """
    text = text.replace("’", "'").replace("“", '"').replace("”", '"')
    if lower:
        text = text.lower()
    return _TRIM.sub("", _SPACES.sub(" ", text)).strip()


@dataclass(frozen=True)
class TemplateMatch:
    """An utterance matched against one expanded sample of `label`."""

    label: str
    template: str
    entities: dict[str, Any]
    literal_chars: int
    """How much of the utterance was template text rather than slot values."""
    literal_words: int = 0
    """Fixed words of the template that the utterance matched."""
    coverage: float = 1.0
    """Share of the utterance's characters pinned down by template words or typed values
    (everything but free-text wildcards)."""


@dataclass(frozen=True)
class _Slot:
    name: str


@dataclass
class CompiledTemplate:
    """One expanded sample as a sequence of literal words and slots."""

    label: str
    template: str
    items: list[str | _Slot]
    literal_chars: int
    literals: frozenset[str]


@dataclass
class TemplateIndex:
    """Every expanded sample of every action, ready to align with utterances."""

    templates: list[CompiledTemplate] = field(default_factory=list)
    entities: dict[str, dict[str, EntityDef]] = field(default_factory=dict)
    """Skill id -> its entity definitions."""

    def add(self, skill_id: str, action: str, samples: Iterable[str], entities: Mapping[str, EntityDef]) -> None:
        self.entities[skill_id] = dict(entities)
        label = f"{skill_id}.{action}"
        for sample in samples:
            for phrase in expand(sample.lower()):
                self.templates.append(_compile(label, phrase))

    def match(self, text: str, now: datetime, labels: Iterable[str] | None = None) -> list[TemplateMatch]:
        """Every template that matches the whole utterance with valid slot values, best first."""
        # Words are compared in lower case; slot values keep the case they were typed in
        # (url paths, song titles, pasted text).
        tokens = prepare(text, lower=False).split()
        words = [normalise(token) for token in tokens]
        present = set(words)
        wanted = set(labels) if labels is not None else None
        cache: dict[tuple[str, str], Any] = {}
        found: dict[str, TemplateMatch] = {}
        for template in self.templates:
            if wanted is not None and template.label not in wanted:
                continue
            if not template.literals <= present:
                continue
            skill_id = template.label.split(".", 1)[0]
            aligner = _Aligner(template.items, tokens, words, self.entities.get(skill_id, {}), now, cache)
            parsed = aligner.align(0, 0)
            if parsed is None:
                continue
            entities = self.entities.get(skill_id, {})
            free = sum(
                len(str(value).replace(" ", ""))
                for name, value in parsed.items()
                if (entities.get(name) or EntityDef(name=name, type=name)).type == "wildcard"
            )
            total = max(sum(len(token) for token in tokens), 1)
            candidate = TemplateMatch(
                template.label,
                template.template,
                parsed,
                template.literal_chars,
                literal_words=sum(isinstance(item, str) for item in template.items),
                coverage=max(0.0, 1 - free / total),
            )
            best = found.get(template.label)
            if best is None or candidate.literal_chars > best.literal_chars:
                found[template.label] = candidate
        return sorted(found.values(), key=lambda m: -m.literal_chars)


def _compile(label: str, phrase: str) -> CompiledTemplate:
    items: list[str | _Slot] = []
    position = 0
    for slot in SLOT.finditer(phrase):
        items.extend(normalise(phrase[position : slot.start()]).split())
        items.append(_Slot(slot.group(1)))
        position = slot.end()
    items.extend(normalise(phrase[position:]).split())
    literal = [item for item in items if isinstance(item, str)]
    return CompiledTemplate(label, phrase, items, sum(len(w) for w in literal), frozenset(literal))


class _Aligner:
    """Backtracking alignment of template items with utterance tokens.

    Each slot tries its shortest span first, so a free-text slot followed by a
    typed one (`{task} {when}`) leaves the typed slot the longest span that parses.
    """

    def __init__(self, items, tokens, words, entities, now, cache):  # type: ignore[no-untyped-def]
        self.items: list[str | _Slot] = items
        self.tokens: list[str] = tokens
        self.words: list[str] = words
        self.entities: Mapping[str, EntityDef] = entities
        self.now = now
        self.cache: dict[tuple[str, str], Any] = cache
        self.literals_after = [
            sum(1 for item in items[i + 1 :] if isinstance(item, str)) for i in range(len(items))
        ]

    def align(self, i: int, j: int) -> dict[str, Any] | None:
        if i == len(self.items):
            return {} if j == len(self.tokens) else None
        item = self.items[i]
        if isinstance(item, str):
            if j < len(self.words) and self.words[j] == item:
                return self.align(i + 1, j + 1)
            return None
        longest = len(self.tokens) - j - self.literals_after[i]
        for length in range(1, longest + 1):
            raw = " ".join(self.tokens[j : j + length])
            value = self.value(item.name, raw)
            if value is None:
                continue
            rest = self.align(i + 1, j + length)
            if rest is not None:
                return {item.name: value, **rest}
        return None

    def value(self, name: str, raw: str) -> Any:
        definition = self.entities.get(name) or EntityDef(name=name, type=name)
        key = (f"{definition.name}:{definition.type}", raw)
        if key not in self.cache:
            self.cache[key] = parse_value(definition, raw, self.now)
        return self.cache[key]


def parse_value(entity: EntityDef, raw: str, now: datetime) -> Any:
    """The typed value of `raw` for `entity`, JSON-ready, or None when it is not one."""
    kind = entity.type
    raw = raw.strip(" ,.!?")
    if kind == "wildcard":
        return raw or None
    if kind == "regex":
        return raw if entity.pattern and re.fullmatch(entity.pattern, raw) else None
    if kind == "enum":
        found = values.match_enum(raw, entity.values)
        return found[0] if found else None
    if kind == "number":
        return values.parse_number(raw)
    if kind == "percentage":
        return values.parse_percentage(raw)
    if kind == "duration":
        return values.parse_duration(raw)
    if kind == "datetime":
        moment = values.parse_datetime(raw, now)
        return values.to_json(moment) if moment is not None else None
    if kind == "url":
        return values.parse_url(raw)
    return raw


def scan(text: str, wanted: Iterable[EntityDef], now: datetime) -> dict[str, Any]:
    """Find entities anywhere in `text` when no template matched (wildcards cannot be found this way)."""
    found: dict[str, Any] = {}
    utterance = prepare(text)
    for entity in wanted:
        if entity.name in found:
            continue
        if entity.type in ("number", "percentage", "duration", "datetime", "url"):
            spans = values.find(entity.type, utterance, now)
            if spans:
                found[entity.name] = values.to_json(spans[0].value)
        elif entity.type == "enum":
            value = _scan_enum(utterance, entity)
            if value is not None:
                found[entity.name] = value
        elif entity.type == "regex" and entity.pattern:
            hit = re.search(entity.pattern, utterance)
            if hit:
                found[entity.name] = hit.group(0)
    return found


def _scan_enum(utterance: str, entity: EntityDef) -> str | None:
    words = f" {normalise(utterance)} "
    best: tuple[int, str] | None = None
    for canonical, synonyms in entity.values.items():
        for option in (canonical, *synonyms):
            needle = normalise(option)
            if needle and f" {needle} " in words and (best is None or len(needle) > best[0]):
                best = (len(needle), canonical)
    return best[1] if best else None
