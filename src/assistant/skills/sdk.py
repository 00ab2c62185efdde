"""What a skill action sees: the typed request it is given and the response it returns.

An action module holds one function, `run(request: Request) -> Response`.
It runs in the skill's own worker process; everything it reaches outside its
folder goes through `request.services` (scheduler, player, encoder, ...),
which the runtime forwards to the assistant.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from assistant.nlu import values as _values
from assistant.services.timeexpr import (
    Schedule,
    TimeExpressionError,
    local_zone,
    parse_schedule,
    strip_times,
)
from assistant.services.timeexpr import check as check_time
from assistant.services.timewords import clock, describe_duration, describe_time

__all__ = [
    "Answers",
    "Context",
    "Memory",
    "Question",
    "Request",
    "Response",
    "Schedule",
    "Services",
    "TimeExpressionError",
    "check_time",
    "clock",
    "describe_duration",
    "describe_time",
    "find_durations",
    "local_zone",
    "parse_duration",
    "parse_schedule",
    "strip_times",
]


@dataclass(frozen=True)
class Question:
    """A response that asks something: the user's next utterance goes to `action`.

    The reply needs no wake word. `data` comes back as `request.context.answer_to`.
    """

    action: str
    """Action of the same skill that receives the answer."""
    data: dict[str, Any] = field(default_factory=dict)
    """Anything the action needs to make sense of the answer (the choices offered...). `"ask"`
    names the entity asked for: when it is a typed one (a time, a length, an address), an answer
    that names nothing the action takes and that no skill understands is no answer, and is
    answered as not understood."""


@dataclass(frozen=True)
class Response:
    """What an action answers."""

    text: str
    """Shown in the chat; spoken too unless `speech` is set."""
    speech: str | None = None
    """A shorter or differently worded version for text-to-speech."""
    question: Question | None = None
    """Set when the response asks something and expects a reply."""
    data: dict[str, Any] = field(default_factory=dict)
    """Structured data for machines (`--json`); JSON-serialisable."""
    declined: bool = False
    """The utterance is not for this action after all (`Request.decline`): the assistant answers
    as it does what it did not understand, and the action's text is not shown."""

    @property
    def spoken(self) -> str:
        return self.speech if self.speech is not None else self.text

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "speech": self.speech,
            "question": None
            if self.question is None
            else {"action": self.question.action, "data": dict(self.question.data)},
            "data": dict(self.data),
            "declined": self.declined,
        }

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> Response:
        question = value.get("question")
        return cls(
            text=str(value["text"]),
            speech=value.get("speech"),
            question=None
            if not question
            else Question(action=question["action"], data=dict(question.get("data") or {})),
            data=dict(value.get("data") or {}),
            declined=bool(value.get("declined", False)),
        )


@dataclass(frozen=True)
class Context:
    """The conversation as the action sees it."""

    last_skill: str | None = None
    last_action: str | None = None
    last_entities: dict[str, Any] = field(default_factory=dict)
    answer_to: dict[str, Any] | None = None
    """The `Question.data` this utterance answers, or None."""
    now: str | None = None
    """The time of the request, ISO 8601 with the local offset."""
    last_reply: str | None = None
    """What the assistant said last."""
    room: str | None = None
    """Where the request was said: a satellite's or device's name, or None on the machine itself
    (chat, `ask`, `listen`). Informational: the scheduler's view is limited to this room by the
    assistant, whatever the skill passes."""


class Memory(Protocol):
    """The skill's persistent key-value store (a SQLite file under the home)."""

    def get(self, key: str, default: Any = None) -> Any: ...
    def set(self, key: str, value: Any) -> None: ...
    def delete(self, key: str) -> None: ...
    def keys(self, prefix: str = "") -> list[str]: ...


class Services(Protocol):
    """Assistant services by name: `request.services.scheduler.add(...)`."""

    def __getattr__(self, name: str) -> Any: ...


class Answers:
    """Answer templates of one skill and language; variants picked at random."""

    def __init__(self, templates: Mapping[str, list[str]], rng: random.Random | None = None):
        self._templates = {key: list(values) for key, values in templates.items()}
        self._rng = rng or random.Random()

    def __contains__(self, key: str) -> bool:
        return key in self._templates

    def keys(self) -> list[str]:
        return list(self._templates)

    def render(self, key: str, **fields: Any) -> str:
        """One variant of answer `key` with `{field}`s filled in.

        Variants that name a field not given are skipped when another variant fits.
        """
        variants = self._templates.get(key)
        if not variants:
            raise KeyError(f"no answer named {key!r}")
        usable = [v for v in variants if _fields_of(v) <= fields.keys()]
        chosen = self._rng.choice(usable or variants)
        return chosen.format_map(_Defaulting(fields))


def _fields_of(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


class _Defaulting(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


@dataclass
class Request:
    """Everything an action is given."""

    utterance: str
    skill: str
    action: str
    entities: dict[str, Any]
    """Entity name -> value: numbers as numbers, durations in seconds,
    date-times as ISO 8601 strings with the local offset, the rest as strings."""
    settings: dict[str, Any]
    """The skill's settings: manifest defaults overridden by `[skills.<id>]`."""
    locale: str
    memory: Memory
    context: Context
    services: Services
    answers: Answers
    skill_dir: str
    """The skill's own folder (read-only for the action)."""
    data_dir: str
    """A folder the skill may write to, under the assistant's home."""
    say: Callable[[str], None] = field(default=lambda text: None)
    """Send an interim message ("Reading…") before the response is ready."""

    def answer(self, key: str, **fields: Any) -> str:
        """Render answer template `key` of this skill's locale."""
        return self.answers.render(key, **fields)

    def reply(
        self,
        key: str,
        *,
        speech_key: str | None = None,
        question: Question | None = None,
        data: dict[str, Any] | None = None,
        **fields: Any,
    ) -> Response:
        """A response whose text is answer `key` (and speech `speech_key`)."""
        return Response(
            text=self.answer(key, **fields),
            speech=self.answer(speech_key, **fields) if speech_key else None,
            question=question,
            data=data or {},
        )

    def decline(self) -> Response:
        """Say the utterance is not for this action after all, e.g. a general question ("how many
        calories are in a banana") that a skill answering from documents has no document for: the
        user hears that it was not understood, with suggestions, instead of this skill's excuse."""
        return Response(text="", declined=True)


# -- time helpers: reading and wording times the way the assistant's replies do ------------


def parse_duration(text: str) -> float | None:
    """Seconds in "10 minutes", "an hour and a half", "1h30"; None when `text` is no length."""
    return _values.parse_duration(text)


def find_durations(text: str, now: datetime) -> list[tuple[int, int, float]]:
    """Every length of time said in `text`, left to right: (start, end, seconds) of each."""
    return [(s.start, s.end, float(s.value)) for s in _values.find("duration", text, now)]
