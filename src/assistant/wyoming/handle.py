"""The brain over Wyoming: a `transcript` with `context.conversation_id` answered by `handled`,
or by `not-recognized` when no skill understood it (Home Assistant's `no_intent_match`; its
`not-handled` means a skill failed, `failed_to_handle`).

Each conversation id is its own session, so a question asked in one ("what
should I remind you about?") is answered in that one, whatever other
conversations do meanwhile. A transcript without an id is a conversation of its
own. The number of open conversations is capped; the oldest is closed first.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

from wyoming.event import Event

from assistant.wyoming.wire import Limits, ProtocolError

log = logging.getLogger(__name__)

NOT_UNDERSTOOD = {"not_understood", "not_heard"}


class SessionLike(Protocol):
    """What a conversation needs of `assistant.session.Session`."""

    def handle(self, text: str) -> Any: ...

    def close(self) -> None: ...


OpenSession = Callable[[str, str], SessionLike]
"""Opens the session for a conversation id, in a room (`room_of`)."""

HOME_ASSISTANT_ROOM = "Home Assistant"
"""The room of a conversation that names no device: its timers ring in any Home Assistant conversation."""
MAX_ROOM_CHARS = 80


def room_of(context: dict[str, object]) -> str:
    """Where a conversation is: the satellite or device Home Assistant names in the transcript's
    context (`satellite_id`, `device_id`), so each has its own timers; else one room for Home Assistant."""
    for key in ("satellite_id", "device_id"):
        value = context.get(key)
        if isinstance(value, str) and value.strip():
            return f"{HOME_ASSISTANT_ROOM} {value.strip()[:MAX_ROOM_CHARS]}"
    return HOME_ASSISTANT_ROOM


class Conversations:
    """Open sessions by conversation id, at most `max_open`."""

    def __init__(self, open_session: OpenSession, max_open: int = 64):
        self.open_session = open_session
        self.max_open = max_open
        self._sessions: OrderedDict[str, SessionLike] = OrderedDict()
        self._lock = threading.Lock()

    def session(self, conversation_id: str, room: str = HOME_ASSISTANT_ROOM) -> SessionLike:
        with self._lock:
            session = self._sessions.get(conversation_id)
            if session is not None:
                self._sessions.move_to_end(conversation_id)
                return session
            session = self.open_session(conversation_id, room)
            self._sessions[conversation_id] = session
            while len(self._sessions) > self.max_open:
                _old_id, oldest = self._sessions.popitem(last=False)
                oldest.close()
            return session

    def __len__(self) -> int:
        return len(self._sessions)

    def close(self) -> None:
        with self._lock:
            while self._sessions:
                self._sessions.popitem()[1].close()

    async def answer(self, data: dict[str, object], limits: Limits) -> Event:
        """`handled` (or `not-recognized` when not understood) for a `transcript` event's data."""
        from wyoming.handle import Handled
        from wyoming.intent import NotRecognized

        text = data.get("text")
        if not isinstance(text, str):
            raise ProtocolError("transcript needs a 'text' string")
        if len(text) > limits.max_text_chars:
            raise ProtocolError(f"the text is longer than {limits.max_text_chars} characters")
        context = data.get("context")
        context = dict(context) if isinstance(context, dict) else {}
        conversation_id = context.get("conversation_id")
        if not isinstance(conversation_id, str) or not conversation_id:
            conversation_id = uuid.uuid4().hex
        session = self.session(conversation_id, room_of(context))
        turn = await asyncio.to_thread(session.handle, text)
        reply = turn.reply.spoken
        answer_context = {**context, "conversation_id": conversation_id}
        if turn.reply.question is not None:
            answer_context["expects_reply"] = True
        if turn.skill is None or turn.action in NOT_UNDERSTOOD:
            return NotRecognized(text=reply, context=answer_context).event()
        return Handled(text=reply, context=answer_context).event()
