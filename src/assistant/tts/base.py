"""The text-to-speech contract: text in, int16 mono audio out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

__all__ = ["NullSynthesizer", "Speech", "Synthesizer"]


@dataclass(frozen=True)
class Speech:
    """Synthesised audio."""

    samples: np.ndarray
    """int16 mono."""
    sample_rate_hz: int

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate_hz


class Synthesizer(Protocol):
    """Speaks text into samples; playing them is the sink's job."""

    name: str

    def synthesize(self, text: str) -> Speech: ...


class NullSynthesizer:
    """Silence: for `[tts] engine = "null"` (text-only replies)."""

    name = "null"

    def synthesize(self, text: str) -> Speech:
        return Speech(np.zeros(0, np.int16), 22050)
