"""Utterance sample templates: `[a|b]` alternatives, `[a|]` optional parts, `{entity}` slots.

`expand("[turn up|raise] the volume")` -> ["turn up the volume", "raise the volume"].
Slots stay as `{name}` in expansions; `fill` puts example values in them.
"""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Mapping, Sequence

__all__ = ["SampleSyntaxError", "example", "expand", "fill", "slots_in", "validate"]

SLOT = re.compile(r"\{([a-z][a-z0-9_]*)\}")
_SPACES = re.compile(r"\s+")


class SampleSyntaxError(ValueError):
    """A sample template is malformed; the message says where."""


def _parse(template: str, pos: int = 0, depth: int = 0) -> tuple[list[list[str]], int]:
    """Parse up to the closing `]` of this level: a list of alternatives, each a list of options per part."""
    alternatives: list[list[list[str]]] = [[]]
    text = ""
    while pos < len(template):
        char = template[pos]
        if char == "[":
            if text:
                alternatives[-1].append([text])
                text = ""
            inner, pos = _parse(template, pos + 1, depth + 1)
            alternatives[-1].append([opt for alt in inner for opt in alt])
            continue
        if char == "]":
            if depth == 0:
                raise SampleSyntaxError(f"unbalanced ']' at column {pos + 1} in {template!r}")
            if text:
                alternatives[-1].append([text])
            return [_product(parts) for parts in alternatives], pos + 1
        if char == "|" and depth > 0:
            if text:
                alternatives[-1].append([text])
                text = ""
            alternatives.append([])
            pos += 1
            continue
        if char == "|":
            raise SampleSyntaxError(f"'|' outside brackets at column {pos + 1} in {template!r}")
        text += char
        pos += 1
    if depth > 0:
        raise SampleSyntaxError(f"unclosed '[' in {template!r}")
    if text:
        alternatives[-1].append([text])
    return [_product(parts) for parts in alternatives], pos


def _product(parts: list[list[str]]) -> list[str]:
    if not parts:
        return [""]
    return ["".join(combo) for combo in itertools.product(*parts)]


def expand(template: str, limit: int = 500) -> list[str]:
    """Every phrasing of `template` (at most `limit`), whitespace normalised, duplicates removed."""
    alternatives, _ = _parse(template)
    seen: dict[str, None] = {}
    for alternative in alternatives:
        for text in alternative:
            clean = _SPACES.sub(" ", text).strip()
            if clean:
                seen.setdefault(clean, None)
            if len(seen) >= limit:
                return list(seen)
    return list(seen)


def validate(template: str) -> None:
    """Raise `SampleSyntaxError` when the template cannot be parsed or has stray braces."""
    _parse(template)
    stripped = SLOT.sub("", template)
    if "{" in stripped or "}" in stripped:
        raise SampleSyntaxError(
            f"malformed entity slot in {template!r}; write {{name}} in lower_snake_case"
        )


def slots_in(template: str) -> list[str]:
    """Entity names used as `{slot}` in the template, in order of first use."""
    return list(dict.fromkeys(SLOT.findall(template)))


def fill(
    text: str,
    examples: Mapping[str, Sequence[str]],
    rng: random.Random,
) -> tuple[str, dict[str, str]]:
    """Put one example value into each `{slot}`; returns the text and the values used."""
    used: dict[str, str] = {}

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        options = examples.get(name) or [name]
        value = rng.choice(list(options))
        used[name] = value
        return value

    return SLOT.sub(substitute, text), used


def example(samples: Sequence[str], examples: Mapping[str, Sequence[str]]) -> str:
    """One real sentence for an action, for help and suggestions: never a `{slot}`.

    The first phrasing of the first sample (the author's main way of saying it), each
    slot given its entity's first example value.
    """
    phrases = expand(samples[0]) if samples else []
    if not phrases:
        return ""
    return SLOT.sub(lambda m: str((examples.get(m.group(1)) or [m.group(1)])[0]), phrases[0])
