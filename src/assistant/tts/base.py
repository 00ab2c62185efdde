"""The text-to-speech contract: text in, int16 mono audio out, whole or sentence by sentence."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np

__all__ = ["NullSynthesizer", "SentenceBySentence", "Speech", "Synthesizer", "split_sentences"]



@dataclass(frozen=True)
class Speech:
    """Synthesised audio."""

    samples: np.ndarray
    """int16 mono."""
    sample_rate_hz: int
    text: str = ""
    """The words it says, where the synthesiser tells ("": unknown)."""

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate_hz


class Synthesizer(Protocol):
    """Speaks text into samples; playing them is the sink's job."""

    @property
    def name(self) -> str: ...

    def load(self) -> None:
        """Load the voice now (a caller may do it in the background); else the first reply does."""
        ...

    def synthesize(self, text: str) -> Speech:
        """The whole text as one `Speech`."""
        ...

    def synthesize_stream(self, text: str) -> Iterator[Speech]:
        """One `Speech` per sentence, each yielded as soon as it is ready, so the first can play
        while the rest is synthesised."""
        ...


def split_sentences(text: str) -> list[str]:
    """The sentences of `text` (pysbd: "5 p.m. now" and "Dr. Smith" stay whole); never an empty one."""
    return [part.strip() for part in _segmenter().segment(text) if part.strip()]


@functools.cache
def _segmenter() -> Any:
    import pysbd

    return pysbd.Segmenter(language="en", clean=False)


class SentenceBySentence:
    """`synthesize_stream` and `load` for engines that only know how to speak a whole text."""

    def load(self) -> None:
        pass

    def synthesize(self, text: str) -> Speech:
        raise NotImplementedError

    def synthesize_stream(self, text: str) -> Iterator[Speech]:
        for sentence in split_sentences(text):
            yield replace(self.synthesize(sentence), text=sentence)


class NullSynthesizer(SentenceBySentence):
    """Silence: for `[tts] engine = "null"` (text-only replies)."""

    name = "null"

    def synthesize(self, text: str) -> Speech:
        return Speech(np.zeros(0, np.int16), 22050)
