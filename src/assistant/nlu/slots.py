"""Entity extraction: align an utterance with a sample template, else scan it by type.

Templates first, because they cut free text ("remind me to {task} {when}") out whole;
the scan finds numbers, durations, dates, urls and enum values anywhere in the text.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from assistant.nlu import values
from assistant.nlu.lexical import normalise
from assistant.nlu.samples import SLOT, expand
from assistant.skills.package import EntityDef

log = logging.getLogger(__name__)

STEPS_PER_TOKEN = 20
MIN_STEPS = 2000
"""Alignment steps (positions tried, values parsed) allowed per template: plenty for any
command, and linear in the utterance, so that a hostile megabyte cannot take minutes."""
ENUM_SLACK_TOKENS = 2
MAX_REGEX_TOKENS = 64
MAX_SCAN_CHARS = 1000
"""A scan for a command's values reads this much of the utterance: commands are short, and
every parser runs at every word, so a long pasted text would cost seconds for nothing."""

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
    _tail_templates: list[CompiledTemplate] = field(default_factory=list, repr=False)
    _tails_of_count: int = field(default=-1, repr=False)
    """How many templates `_tail_templates` were made from (they are made on first use)."""

    def add(self, skill_id: str, action: str, samples: Iterable[str], entities: Mapping[str, EntityDef]) -> None:
        self.entities[skill_id] = dict(entities)
        label = f"{skill_id}.{action}"
        for sample in samples:
            for phrase in expand(sample.lower()):
                self.templates.append(_compile(label, phrase))

    def match(
        self, text: str, now: datetime, labels: Iterable[str] | None = None, tails: bool = False
    ) -> list[TemplateMatch]:
        """Every template that matches the whole utterance with valid slot values, best first.

        With `tails`, the utterance may also be the end of a template, from a word or a typed slot
        on ("to stretch in 10 minutes" of "remind me to {task} {when}"): how an answer to a
        question names values. A bare free-text slot is no tail (it would take any answer).
        """
        found = self._match(text, now, labels, self.templates)
        if tails:
            wanted = {m.label for m in found}
            rest = [t for t in self._tails() if labels is None or t.label in set(labels)]
            for candidate in self._match(text, now, labels, rest, tails=True):
                if candidate.label not in wanted:
                    found.append(candidate)
        return sorted(found, key=lambda m: -m.literal_chars)

    def _tails(self) -> list[CompiledTemplate]:
        if self._tails_of_count != len(self.templates):
            self._tail_templates = [tail for template in self.templates for tail in self._tails_of(template)]
            self._tails_of_count = len(self.templates)
        return self._tail_templates

    def _tails_of(self, template: CompiledTemplate) -> list[CompiledTemplate]:
        """The ends of `template` an answer may be: from each later word or slot on, holding a
        slot, and not a free-text slot alone."""
        entities = self.entities.get(template.label.split(".", 1)[0], {})
        tails = []
        for start in range(1, len(template.items)):
            items = template.items[start:]
            slots = [item for item in items if isinstance(item, _Slot)]
            if not slots:
                break
            first = slots[0].name
            if len(items) == 1 and (entities.get(first) or EntityDef(name=first, type=first)).type == "wildcard":
                continue
            literal = [item for item in items if isinstance(item, str)]
            tails.append(
                CompiledTemplate(template.label, template.template, items, sum(map(len, literal)), frozenset(literal))
            )
        return tails

    def _match(
        self,
        text: str,
        now: datetime,
        labels: Iterable[str] | None,
        templates: list[CompiledTemplate],
        tails: bool = False,
    ) -> list[TemplateMatch]:
        # Words are compared in lower case; slot values keep the case they were typed in
        # (url paths, song titles, pasted text).
        tokens = prepare(text, lower=False).split()
        words = _Words(tokens)
        present = set(normalise(" ".join(tokens)).split())  # every word, without normalising each token
        total = max(sum(len(token) for token in tokens), 1)
        wanted = set(labels) if labels is not None else None
        cache: dict[tuple[str, str], Any] = {}
        found: dict[str, TemplateMatch] = {}
        for template in templates:
            if wanted is not None and template.label not in wanted:
                continue
            if not template.literals <= present:
                continue
            skill_id = template.label.split(".", 1)[0]
            aligner = _Aligner(template.items, tokens, words, self.entities.get(skill_id, {}), now, cache)
            try:
                parsed = aligner.align(0, 0)
            except _OutOfSteps:
                log.debug("gave up aligning %r with a %d-token utterance", template.template, len(tokens))
                continue
            if parsed is None:
                continue
            entities = self.entities.get(skill_id, {})
            free = sum(
                len(str(value).replace(" ", ""))
                for name, value in parsed.items()
                if (entities.get(name) or EntityDef(name=name, type=name)).type == "wildcard"
            )
            candidate = TemplateMatch(
                template.label,
                template.template,
                parsed,
                template.literal_chars,
                literal_words=sum(isinstance(item, str) for item in template.items),
                coverage=max(0.0, 1 - free / total),
            )
            best = found.get(template.label)
            if best is None or _better(candidate, best, tails):
                found[template.label] = candidate
        return list(found.values())


def _better(candidate: TemplateMatch, best: TemplateMatch, tails: bool) -> bool:
    """A whole template: the one with more words. A tail: the one that leaves least to free text
    ("{when}" for "tomorrow at 9", not "{task} {when}"), then names more values."""
    if tails:
        return (candidate.coverage, len(candidate.entities), candidate.literal_chars) > (
            best.coverage,
            len(best.entities),
            best.literal_chars,
        )
    return candidate.literal_chars > best.literal_chars


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


class _Words:
    """The normalised word of each token, worked out when first compared: a pasted
    megabyte has 170,000 tokens, and most templates look at two or three of them."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self._words: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self.tokens)

    def __getitem__(self, index: int) -> str:
        word = self._words.get(index)
        if word is None:
            word = self._words[index] = normalise(self.tokens[index])
        return word


class _OutOfSteps(Exception):
    """An alignment used up its steps: the template is taken as not matching."""


class _Aligner:
    """Backtracking alignment of template items with utterance tokens.

    Each slot tries its shortest span first, so a free-text slot followed by a
    typed one (`{task} {when}`) leaves the typed slot the longest span that parses.
    The work is linear in the utterance: typed slots take at most `max_span_tokens`
    tokens, spans that cannot be followed (the next template word is not next, what
    is left is more than the rest of the template can take) are skipped before
    parsing, a position that failed once is not tried again, and an alignment stops
    after `STEPS_PER_TOKEN` steps per token.
    """

    def __init__(self, items, tokens, words, entities, now, cache):  # type: ignore[no-untyped-def]
        self.items: list[str | _Slot] = items
        self.tokens: list[str] = tokens
        self.words: _Words = words
        self.entities: Mapping[str, EntityDef] = entities
        self.now = now
        self.cache: dict[tuple[str, str], Any] = cache
        self.definitions = {
            item.name: self.entities.get(item.name) or EntityDef(name=item.name, type=item.name)
            for item in items
            if isinstance(item, _Slot)
        }
        self.spans = [1 if isinstance(item, str) else max_span_tokens(self.definitions[item.name]) for item in items]
        """The most tokens each item can take."""
        self.literals_after = [
            sum(1 for item in items[i + 1 :] if isinstance(item, str)) for i in range(len(items))
        ]
        self.most_after = [sum(self.spans[i + 1 :]) for i in range(len(items))]
        """The most tokens the items after each one can take."""
        self.failed: set[tuple[int, int]] = set()
        self.steps_left = STEPS_PER_TOKEN * len(tokens) + MIN_STEPS

    def align(self, i: int, j: int) -> dict[str, Any] | None:
        if i == len(self.items):
            return {} if j == len(self.tokens) else None
        if (i, j) in self.failed:
            return None
        self._step()
        found = self._align(i, j)
        if found is None:
            self.failed.add((i, j))
        return found

    def _align(self, i: int, j: int) -> dict[str, Any] | None:
        item = self.items[i]
        if isinstance(item, str):
            if j < len(self.words) and self.words[j] == item:
                return self.align(i + 1, j + 1)
            return None
        definition = self.definitions[item.name]
        left = len(self.tokens) - j
        # Shortest first; too short a span leaves more than the rest can take (all of it, for the last slot).
        lengths = range(
            max(1, left - self.most_after[i]),
            min(left - self.literals_after[i], self.spans[i]) + 1,
        )
        after = self.items[i + 1] if i + 1 < len(self.items) else None
        free = definition.type == "wildcard"
        for length in lengths:
            end = j + length
            if isinstance(after, str) and (end >= len(self.words) or self.words[end] != after):
                continue
            if free:  # free text parses whatever it is: see first whether the rest fits
                rest = self.align(i + 1, end)
                value = self.value(definition, j, end) if rest is not None else None
            else:
                value = self.value(definition, j, end)
                rest = self.align(i + 1, end) if value is not None else None
            if value is not None and rest is not None:
                return {item.name: value, **rest}
        return None

    def _step(self) -> None:
        self.steps_left -= 1
        if self.steps_left < 0:
            raise _OutOfSteps

    def value(self, definition: EntityDef, start: int, end: int) -> Any:
        raw = " ".join(self.tokens[start:end])
        key = (f"{definition.name}:{definition.type}", raw)
        if key not in self.cache:
            self._step()
            self.cache[key] = parse_value(definition, raw, self.now)
        return self.cache[key]


def max_span_tokens(entity: EntityDef) -> int:
    """The most tokens a value of `entity` may take: generous for what each parser reads.

    Twice what `values.find` scans for ("on the third of december at half past seven in
    the evening" is 11 tokens); an enum's longest synonym and two words of slack; free
    text has no bound.
    """
    if entity.type in values.MAX_SPAN_TOKENS:
        return 2 * values.MAX_SPAN_TOKENS[entity.type]
    if entity.type == "enum":
        names = [name for canonical, synonyms in entity.values.items() for name in (canonical, *synonyms)]
        return max((len(name.split()) for name in names), default=1) + ENUM_SLACK_TOKENS
    if entity.type == "regex":
        return MAX_REGEX_TOKENS
    return sys.maxsize


def parse_value(entity: EntityDef, raw: str, now: datetime) -> Any:
    """The typed value of `raw` for `entity`, JSON-ready, or None when it is not one."""
    kind = entity.type
    raw = raw.strip(" ,.!?")
    if raw.count(" ") >= max_span_tokens(entity):
        return None  # far longer than any such value: not worth a parser's time
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
    """Find entities in `text` when no template matched (wildcards cannot be found this way).

    Only the first `MAX_SCAN_CHARS` characters are read.
    """
    found: dict[str, Any] = {}
    utterance = prepare(text[:MAX_SCAN_CHARS])
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
