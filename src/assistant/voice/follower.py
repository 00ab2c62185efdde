"""Recognition while the user speaks: a streaming grammar session per utterance, fed by the listener.

The listener tells its observer about each utterance as it is heard; the
follower passes those frames to the grammar engine's session (pocketsphinx
decodes in a background thread), so at the end of speech only the last frames
remain to be decoded.

A thread of the follower's own asks the session for its partial hypothesis while
the utterance goes on (the session's `partial()` waits for the decoder to catch
up, so the thread that pushes frames never asks it): the partial text is passed
on (`on_partial`, at most every `PARTIAL_INTERVAL_S`), and `complete(frames)` says
at once whether the words decoded from the utterance's first `frames` frames are
a complete command (`judge`), so that a short pause may end it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from assistant.audio.listener import Utterance
from assistant.stt.base import Recognizer, SessionRecognizer, StreamingSession
from assistant.stt.commands import CommandRecognizer

log = logging.getLogger(__name__)

PARTIAL_INTERVAL_S = 0.2
"""Partial text is passed on at most this often (when it changed)."""
POLL_INTERVAL_S = 0.06
"""The partial hypothesis is asked for at most this often while frames arrive (two frames): the
end of a complete command must be known soon after its last word, for `complete`."""


def streaming_engine(recognizer: Recognizer) -> SessionRecognizer | None:
    """The engine that can follow utterances as they arrive: the recogniser, or its grammar engine."""
    if isinstance(recognizer, CommandRecognizer):
        recognizer = recognizer.grammar  # type: ignore[assignment]
    return recognizer if isinstance(recognizer, SessionRecognizer) else None


def open_session(engine: SessionRecognizer, partials: bool) -> StreamingSession:
    """A session of `engine`; with `partials`, one that decodes as it goes even when its verdict
    will be decoded again at the end (pocketsphinx's first utterance), so that its partial text
    is there while the words are heard."""
    if partials:
        try:
            return engine.open_session(partials=True)  # type: ignore[call-arg]
        except TypeError:  # an engine without partial results (Wyoming's slot)
            pass
    return engine.open_session()


class Follower:
    """The listener's observer: a streaming session per utterance, handed over by `take`.

    A pause that may be the utterance's end `detach`es the session, to be finished at once;
    should speech resume, `resume` follows the utterance again with a new session given all of it.

    `on_partial(text, utterance)`: the partial text, from the follower's thread, with a number
    that tells utterances apart (`utterance_id`). `judge(text)`: whether partial text is a
    complete command (asked on the follower's thread too).
    """

    def __init__(
        self,
        engine: SessionRecognizer,
        on_partial: Callable[[str, int], None] | None = None,
        judge: Callable[[str], bool] | None = None,
    ):
        self.engine = engine
        self.on_partial = on_partial
        self.judge = judge
        self._session: StreamingSession | None = None
        self._ended: tuple[Utterance, StreamingSession] | None = None
        self._frames: list[np.ndarray] = []
        """The utterance in progress so far, as the listener gave it."""
        self._detached = 0
        """How many of `_frames` there were when the session was detached (0: it was not)."""
        self._polling = on_partial is not None or judge is not None
        self._cond = threading.Condition()
        self._generation = 0
        """Bumped whenever the session followed changes: a partial of an older one is stale."""
        self._utterance = 0
        """Bumped when speech starts: a session resumed after a pause follows the same utterance,
        whose words already passed on are not passed on again."""
        self._heard: tuple[int, int, bool] = (0, 0, False)
        """The latest partial of the session followed: (its generation, how many of `_frames` it
        covers, whether it was a complete command)."""
        self._closed = False
        self._thread: threading.Thread | None = None

    # -- the listener's observer (the thread that pushes frames) ------------------------

    def speech_started(self, frames: list[np.ndarray]) -> None:
        self._drop()
        self._utterance += 1
        self._frames = list(frames)
        self._set_session(open_session(self.engine, self._polling))
        for frame in frames:
            self._session.feed(frame)  # type: ignore[union-attr]

    def speech_frame(self, frame: np.ndarray) -> None:
        self._frames.append(frame)
        if self._session is not None:
            self._session.feed(frame)
            if self._polling:
                with self._cond:
                    self._cond.notify_all()

    def utterance_ended(self, utterance: Utterance) -> None:
        if self._session is not None:
            self._ended = (utterance, self._session)
            self._set_session(None)
        self._frames, self._detached = [], 0

    def utterance_dropped(self) -> None:
        self._drop()

    # -- the voice session -------------------------------------------------------------

    @property
    def utterance_id(self) -> int:
        """Which session the follower follows now (compare with `on_partial`'s)."""
        return self._generation

    @property
    def following(self) -> bool:
        """A session follows the utterance in progress."""
        return self._session is not None

    @property
    def caught_up(self) -> bool:
        """The latest partial covers every frame given so far (or nothing is followed): for tests
        and benchmarks that feed frames no faster than they are decoded."""
        generation, covered, _ = self._heard
        return self._session is None or (generation == self._generation and covered >= len(self._frames))

    def complete(self, frames: int) -> bool:
        """Whether the first `frames` frames of the utterance followed have been decoded, and the
        words were a complete command (False when that is not known yet). Never waits."""
        generation, covered, complete = self._heard
        return generation == self._generation and covered >= frames and complete

    def detach(self) -> StreamingSession | None:
        """The session following the utterance in progress, which it follows no more: the pause
        now heard may be the utterance's end, and the session is finished early."""
        session = self._session
        self._set_session(None)
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
        session = open_session(self.engine, self._polling)
        session.feed(np.concatenate(self._frames))
        self._set_session(session)

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
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _drop(self) -> None:
        for session in (self._session, self._ended[1] if self._ended else None):
            if session is not None:
                session.cancel()
        self._set_session(None)
        self._ended = None
        self._frames, self._detached = [], 0

    def _set_session(self, session: StreamingSession | None) -> None:
        with self._cond:
            self._session = session
            self._generation += 1
            if session is not None and self._polling and self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._poll, name="voice-partials", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    # -- the follower's thread ---------------------------------------------------------

    def _poll(self) -> None:
        """Ask the session followed for its partial text whenever frames came since the last time
        (at most every POLL_INTERVAL_S); pass changes on, at most every PARTIAL_INTERVAL_S."""
        said, said_at, said_utterance = "", 0.0, -1
        polled: tuple[int, int] = (-1, 0)
        pending: tuple[str, int] | None = None
        while True:
            with self._cond:
                while not self._closed:
                    fresh = self._session is not None and polled != (self._generation, len(self._frames))
                    due = pending is not None and time.monotonic() >= said_at + PARTIAL_INTERVAL_S
                    if fresh or due:
                        break
                    timeout = said_at + PARTIAL_INTERVAL_S - time.monotonic() if pending else None
                    self._cond.wait(timeout)
                if self._closed:
                    return
                session, generation, count = self._session, self._generation, len(self._frames)
                utterance = self._utterance
            if session is not None and polled != (generation, count):
                polled = (generation, count)
                try:
                    text = _partial(session)
                except Exception:  # an engine failure: the end is judged the usual way
                    log.exception("partial recognition failed")
                    text = ""
                complete = bool(text) and self.judge is not None and self.judge(text)
                with self._cond:
                    if generation != self._generation:
                        continue  # the utterance ended (or was detached) meanwhile
                    self._heard = (generation, count, complete)
                if utterance != said_utterance:
                    said, said_utterance = "", utterance
                if text and text != said:
                    pending = (text, generation)
            if pending is not None and self.on_partial is not None:
                now = time.monotonic()
                if now >= said_at + PARTIAL_INTERVAL_S:
                    if pending[1] == self._generation:
                        self.on_partial(*pending)
                        said, said_at = pending[0], now
                    pending = None
            elif pending is not None:
                pending = None
            time.sleep(POLL_INTERVAL_S)


def _partial(session: Any) -> str:
    """The session's partial text ("" for an engine without one)."""
    partial = getattr(session, "partial", None)
    return str(partial()) if partial is not None else ""
