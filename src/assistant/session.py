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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from assistant.events import EventSink, Progress
from assistant.notifications import Notification

if TYPE_CHECKING:
    from assistant.brain import Brain, Turn

log = logging.getLogger(__name__)

_current_session: ContextVar[str | None] = ContextVar("assistant_session", default=None)
_current_room: ContextVar[str | None] = ContextVar("assistant_room", default=None)

LOCAL_ROOM = None
"""The room of the machine's own ways in (chat, `ask`, `listen`): no name. It sees every room's jobs."""


def current_session_id() -> str | None:
    """The session whose turn is running in this thread (a job it schedules remembers it)."""
    return _current_session.get()


def current_room() -> str | None:
    """The room of the session whose turn is running in this thread (`LOCAL_ROOM` outside a turn).

    Timers and reminders belong to the room that set them; a skill's view of the scheduler
    is limited to this room (`skills/permissions.py`).
    """
    return _current_room.get()


@contextmanager
def turn_of(session_id: str | None, room: str | None) -> Iterator[None]:
    """While it lasts, this thread runs a turn of that session, in that room (`Session.handle`)."""
    session_token = _current_session.set(session_id)
    room_token = _current_room.set(room)
    try:
        yield
    finally:
        _current_room.reset(room_token)
        _current_session.reset(session_token)


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
        room: str | None = LOCAL_ROOM,
    ):
        if room is not None and not room.strip():
            raise ValueError(f"session {session_id!r}: a room needs a name (None is the machine's own)")
        self.id = session_id
        self.room = room
        """Where the session is (a satellite's name); `LOCAL_ROOM` for the machine's own ways in."""
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
            with turn_of(self.id, self.room):
                turn = self.brain.handle(text, self.conversation, on_say=self.say)
        self.emit(turn.event())
        return turn

    def answers_ring(self, text: str) -> bool:
        """Whether `text`, said without the wake word while a notification rings, is for it
        ("stop", "snooze"): then `handle` it; anything else was not said to the assistant."""
        return self.brain.answers_ring(text, self.conversation)

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


__all__ = ["LOCAL_ROOM", "Conversation", "Pending", "Session", "current_room", "current_session_id", "turn_of"]
