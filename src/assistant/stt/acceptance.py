"""When the command grammar's phrase is taken without dictation, or confirmed by it.

The thresholds are not set by hand: `scripts/calibrate_grammar.py` chooses them on held-out spoken
commands (values drawn at random, not the examples) and non-command speech, the way the
classifier's rejection threshold is chosen, and writes them to `acceptance.json` beside this file
with what they gave.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class Acceptance:
    accept_margin: float
    """Grammar-minus-phone-loop log score per frame (x1000) from which a phrase is taken outright."""
    max_phone_ratio: float
    """A phrase is not taken outright when the phone loop heard more than this many times its
    phones (a long sentence squeezed into a short phrase)."""
    confirmation: float
    """rapidfuzz ratio of dictation's words to the grammar's phrase from which dictation may
    confirm that phrase..."""
    confirmation_gap: float
    """...when dictation also scores the phrase within this of its own words (mean log
    probability per token)."""


@cache
def acceptance() -> Acceptance:
    data = json.loads(resources.files(__package__).joinpath("acceptance.json").read_text())
    return Acceptance(
        float(data["accept_margin"]),
        float(data["max_phone_ratio"]),
        float(data["confirmation"]),
        float(data["confirmation_gap"]),
    )
