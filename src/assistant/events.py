"""The events every way in speaks: what a session tells its output, and what `--json` prints.

One frozen dataclass per kind of event. `to_json()` gives the line `assistant ask|chat|listen
--json` prints; `event_from_json()` reads one back (a round-trip test keeps the two in step).
A turn has no `event` key (the contract of `ask --json` predates the other events); every
other event names itself in `event`. Transports (the terminal, Wyoming) serialise these and
nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar, Protocol

from assistant.notifications import Notification

__all__ = [
    "Event",
    "EventSink",
    "Notification",
    "Progress",
    "ErrorEvent",
    "PartialTranscript",
    "SpeechFinished",
    "SpeechStarted",
    "TurnEvent",
    "Wake",
    "event_from_json",
]


class Event(Protocol):
    def to_json(self) -> dict[str, Any]: ...


class EventSink(Protocol):
    """Whatever shows or sends a session's events (the terminal printer, a network client)."""

    def emit(self, event: Event) -> None: ...


TURN_KEYS = ("text", "skill", "action", "confidence", "entities", "reply", "speech", "expects_reply", "data")


@dataclass(frozen=True)
class TurnEvent:
    """One exchange: what was typed or heard, and the answer."""

    text: str
    """The request as the brain read it (for speech: the transcript without the wake word)."""
    skill: str | None
    action: str | None
    confidence: float
    """The understanding's confidence, 0 to 1."""
    entities: dict[str, Any]
    reply: str | None
    """The answer as text."""
    speech: str | None
    """The answer as spoken (may be shorter than `reply`)."""
    expects_reply: bool
    """The assistant asked something: the next utterance answers it (no wake word needed)."""
    data: dict[str, Any] = field(default_factory=dict)
    """Structured details from the skill, for machines."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Keys a way in adds at the top level (voice: `transcript`, `addressed`, `latency_s`...)."""

    kind: ClassVar[str] = "turn"

    def to_json(self) -> dict[str, Any]:
        result = {key: getattr(self, key) for key in TURN_KEYS}
        result["confidence"] = round(self.confidence, 4)
        result.update(self.extra)
        return result

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> TurnEvent:
        return cls(
            text=str(value.get("text") or ""),
            skill=value.get("skill"),
            action=value.get("action"),
            confidence=float(value.get("confidence") or 0.0),
            entities=dict(value.get("entities") or {}),
            reply=value.get("reply"),
            speech=value.get("speech"),
            expects_reply=bool(value.get("expects_reply")),
            data=dict(value.get("data") or {}),
            extra={k: v for k, v in value.items() if k not in TURN_KEYS},
        )


@dataclass(frozen=True)
class _Named:
    """An event whose JSON names itself: `{"event": kind, **fields}`."""

    kind: ClassVar[str] = ""

    def to_json(self) -> dict[str, Any]:
        return {"event": self.kind, **asdict(self)}

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Any:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in value.items() if k in names})


@dataclass(frozen=True)
class PartialTranscript(_Named):
    """Words heard so far in an utterance that is still being spoken."""

    text: str
    kind: ClassVar[str] = "partial"


@dataclass(frozen=True)
class Wake(_Named):
    """The wake word was heard."""

    name: str
    """The wake word model's name ("hey jarvis"), or the phrase matched in a transcript."""
    time_s: float
    """Seconds into the audio stream where it ended."""
    kind: ClassVar[str] = "wake"


@dataclass(frozen=True)
class SpeechStarted(_Named):
    """The listener heard speech begin."""

    time_s: float
    """Seconds into the audio stream."""
    kind: ClassVar[str] = "speech_started"


@dataclass(frozen=True)
class SpeechFinished(_Named):
    """The listener heard speech end (the utterance goes to speech-to-text)."""

    time_s: float
    """Seconds into the audio stream."""
    duration_s: float
    """Length of the utterance in seconds."""
    kind: ClassVar[str] = "speech_finished"


@dataclass(frozen=True)
class Ready(_Named):
    """The microphone is open and heard: from now on what is said is listened to."""

    wake_word: str | None
    """What to say first ("Hey Jarvis"), or None when every utterance is a request."""
    kind: ClassVar[str] = "ready"


@dataclass(frozen=True)
class Progress(_Named):
    """Something the assistant says while it works on a request ("Reading example.com...")."""

    text: str
    skill: str | None = None
    kind: ClassVar[str] = "progress"


@dataclass(frozen=True)
class ErrorEvent(_Named):
    """A request that could not be served (bad input, an engine failure); the session goes on."""

    message: str
    """One line that says what was wrong."""
    code: str = "error"
    """A stable word for machines: "bad_input", "too_long", "audio", "internal"..."""
    kind: ClassVar[str] = "error"


_READERS: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    cls.kind: cls.from_json
    for cls in (PartialTranscript, Wake, SpeechStarted, SpeechFinished, Ready, Progress, ErrorEvent)
}


def event_from_json(value: Mapping[str, Any]) -> Any:
    """The event a `to_json()` line describes; a line without `event` is a turn."""
    kind = value.get("event")
    if kind is None:
        return TurnEvent.from_json(value)
    reader = _READERS.get(str(kind))
    if reader is not None:
        return reader(value)
    return Notification.from_dict(dict(value))  # "notification", and the kinds skills name
