"""The speech-to-text contract: 16 kHz mono int16 samples in, a `Transcript` out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = [
    "Recognizer",
    "SessionRecognizer",
    "StreamingRecognizer",
    "StreamingSession",
    "Transcript",
]


@dataclass(frozen=True)
class Transcript:
    """What an engine heard."""

    text: str
    """The words as the engine spells them (grammar engines: lower case); "" when nothing was heard."""
    engine: str
    """"pocketsphinx", "vosk", "whisper"..."""
    confidence: float = 0.0
    """0..1; engines differ in what it means, so compare only within one engine."""
    in_grammar: bool | None = None
    """True when a command grammar matched; False when rejected as out of grammar; None when no grammar."""
    audio_s: float = 0.0
    """Length of the audio, in seconds."""
    elapsed_s: float = 0.0
    """Wall-clock time the engine took, in seconds."""
    details: dict[str, Any] = field(default_factory=dict)
    """Engine-specific figures (scores, the rival hypothesis), for debugging and `--json`."""

    @property
    def real_time_factor(self) -> float:
        return self.elapsed_s / self.audio_s if self.audio_s else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "engine": self.engine,
            "confidence": round(self.confidence, 4),
            "in_grammar": self.in_grammar,
            "audio_s": round(self.audio_s, 3),
            "elapsed_s": round(self.elapsed_s, 3),
            "details": dict(self.details),
        }


class Recognizer(Protocol):
    """Turns one utterance into text."""

    name: str

    def transcribe(self, audio: np.ndarray) -> Transcript:
        """`audio`: int16 mono samples at 16 kHz."""
        ...


class StreamingRecognizer(Recognizer, Protocol):
    """A recogniser that can also follow speech as it arrives."""

    def accept(self, frame: np.ndarray) -> str:
        """Feed int16 samples; return the partial text so far."""
        ...

    def finish(self) -> Transcript:
        """End the utterance fed through `accept` and return its transcript."""
        ...


class StreamingSession(Protocol):
    """One utterance decoded while it is being heard, so that little is left when it ends."""

    def feed(self, frame: np.ndarray) -> None:
        """The utterance's next int16 samples, in order."""
        ...

    def finish(self, audio: np.ndarray) -> Transcript:
        """What `transcribe(audio)` would say; `audio`: the whole utterance, as fed."""
        ...

    def cancel(self) -> None:
        """Drop the utterance."""
        ...


@runtime_checkable
class SessionRecognizer(Recognizer, Protocol):
    """A recogniser that can decode an utterance as it arrives, with the same result as `transcribe`."""

    def open_session(self) -> StreamingSession: ...
