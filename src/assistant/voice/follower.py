"""Recognition while the user speaks: a streaming grammar session per utterance, fed by the listener.

The listener tells its observer about each utterance as it is heard; the
follower passes those frames to the grammar engine's session (pocketsphinx
decodes in a background thread), so at the end of speech only the last frames
remain to be decoded.
"""

from __future__ import annotations

import numpy as np

from assistant.audio.listener import Utterance
from assistant.stt.base import Recognizer, SessionRecognizer, StreamingSession
from assistant.stt.commands import CommandRecognizer


def streaming_engine(recognizer: Recognizer) -> SessionRecognizer | None:
    """The engine that can follow utterances as they arrive: the recogniser, or its grammar engine."""
    if isinstance(recognizer, CommandRecognizer):
        recognizer = recognizer.grammar  # type: ignore[assignment]
    return recognizer if isinstance(recognizer, SessionRecognizer) else None


class Follower:
    """The listener's observer: a streaming session per utterance, handed over by `take`.

    A pause that may be the utterance's end `detach`es the session, to be finished at once;
    should speech resume, `resume` follows the utterance again with a new session given all of it.
    """

    def __init__(self, engine: SessionRecognizer):
        self.engine = engine
        self._session: StreamingSession | None = None
        self._ended: tuple[Utterance, StreamingSession] | None = None
        self._frames: list[np.ndarray] = []
        """The utterance in progress so far, as the listener gave it."""
        self._detached = 0
        """How many of `_frames` there were when the session was detached (0: it was not)."""

    def speech_started(self, frames: list[np.ndarray]) -> None:
        self._drop()
        self._frames = list(frames)
        self._session = self.engine.open_session()
        for frame in frames:
            self._session.feed(frame)

    def speech_frame(self, frame: np.ndarray) -> None:
        self._frames.append(frame)
        if self._session is not None:
            self._session.feed(frame)

    def utterance_ended(self, utterance: Utterance) -> None:
        if self._session is not None:
            self._ended, self._session = (utterance, self._session), None
        self._frames, self._detached = [], 0

    def utterance_dropped(self) -> None:
        self._drop()

    def detach(self) -> StreamingSession | None:
        """The session following the utterance in progress, which it follows no more: the pause
        now heard may be the utterance's end, and the session is finished early."""
        session, self._session = self._session, None
        self._detached = len(self._frames) if session is not None else 0
        return session

    @property
    def resumed(self) -> bool:
        """Speech went on after the session was detached (the pause was not the end)."""
        return bool(self._detached) and len(self._frames) > self._detached

    def resume(self) -> None:
        """Follow the utterance again, with a new session given all of it so far. (The detached
        session must have finished: the engine's sessions share their decoders.)"""
        self._detached = 0
        self._session = self.engine.open_session()
        self._session.feed(np.concatenate(self._frames))

    def take(self, utterance: Utterance) -> StreamingSession | None:
        """The session that followed `utterance`, or None (it was not followed from its start)."""
        ended, self._ended = self._ended, None
        if ended is not None and ended[0] is utterance:
            return ended[1]
        if ended is not None:
            ended[1].cancel()
        return None

    def close(self) -> None:
        self._drop()

    def _drop(self) -> None:
        for session in (self._session, self._ended[1] if self._ended else None):
            if session is not None:
                session.cancel()
        self._session = self._ended = None
        self._frames, self._detached = [], 0
