"""A session: one conversation with one person, through one way in (a chat, a microphone, a satellite).

The brain is shared by every session and keeps nothing of its own; what a conversation
remembers (the last skill and reply, a pending question) lives here, so two sessions never
answer each other's questions. A session hands its events (turns, interim messages,
notifications) to its output. Sessions are cheap: a few small objects, opened and closed
through `assistant.runtime.Assistant`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from assistant.events import EventSink, Progress
from assistant.notifications import Notification

if TYPE_CHECKING:
    from assistant.brain import Brain, Turn

log = logging.getLogger(__name__)

_current_session: ContextVar[str | None] = ContextVar("assistant_session", default=None)


def current_session_id() -> str | None:
    """The session whose turn is running in this thread (a job it schedules remembers it)."""
    return _current_session.get()


@dataclass
class Pending:
    """What the next utterance answers: a missing entity, or a skill's question."""

    skill: str
    action: str
    entities: dict[str, Any]
    missing: str | None = None
    """The entity asked for ("what should I remind you about?"), or None for a skill's question."""
    question_data: dict[str, Any] | None = None
    attempts: int = 0


@dataclass
class Conversation:
    """What one conversation remembers between turns."""

    last_skill: str | None = None
    last_action: str | None = None
    last_entities: dict[str, Any] = field(default_factory=dict)
    last_reply: str | None = None
    pending: Pending | None = None


class Session:
    """One conversation: `handle(text)` runs a turn, `notify` delivers a notification to it."""

    def __init__(
        self,
        session_id: str,
        brain: Brain,
        output: EventSink | None = None,
        on_close: Callable[[Session], None] | None = None,
    ):
        self.id = session_id
        self.brain = brain
        self.output = output
        self.conversation = Conversation()
        self._on_close = on_close
        self._turn_lock = threading.Lock()
        self.closed = False

    @property
    def expecting_reply(self) -> bool:
        """The assistant asked something: the next utterance answers it."""
        return self.conversation.pending is not None

    def handle(self, text: str) -> Turn:
        """Understand `text` in this conversation, run the skill, and return the turn.

        Turns of one session run one at a time; turns of different sessions may overlap.
        The turn is also emitted to the output.
        """
        with self._turn_lock:
            token = _current_session.set(self.id)
            try:
                turn = self.brain.handle(text, self.conversation, on_say=self.say)
            finally:
                _current_session.reset(token)
        self.emit(turn.event())
        return turn

    def say(self, text: str, skill: str | None = None) -> None:
        """An interim message while a skill works ("Reading example.com...")."""
        self.emit(Progress(text=text, skill=skill))

    def notify(self, notification: Notification) -> None:
        """A notification for this conversation: "stop" now means its skill."""
        # No lock: the scheduler's thread may deliver while a turn waits for the scheduler.
        self.conversation.last_skill = notification.skill
        self.emit(notification)

    def emit(self, event: Any) -> None:
        if self.output is not None:
            try:
                self.output.emit(event)
            except Exception:  # an output that fails (a closed pipe) must not end the turn
                log.exception("session %s: could not emit %s", self.id, type(event).__name__)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self._on_close is not None:
                self._on_close(self)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


__all__ = ["Conversation", "Pending", "Session", "current_session_id"]
