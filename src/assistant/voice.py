"""The voice loop: source -> listener -> wake word -> speech-to-text -> brain -> text-to-speech -> sink.

After a reply that asks something (or after the wake word alone) the next
utterance needs no wake word. When the listener hears speech start while a
reply is playing, playback stops (barge-in).

When the command engine can decode as speech arrives (pocketsphinx), it follows
each utterance while it is being said, so that at its end only the last frames
remain to be decoded: the reply starts sooner.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from assistant.audio.listener import Listener, Utterance
from assistant.audio.sinks import AudioSink
from assistant.audio.wake import WakeWord
from assistant.stt.base import Recognizer, SessionRecognizer, StreamingSession, Transcript
from assistant.stt.commands import CommandRecognizer
from assistant.tts.base import Synthesizer

log = logging.getLogger(__name__)

WAKE_ACKNOWLEDGEMENT = "Yes?"


class TurnLike(Protocol):
    def to_json(self) -> dict[str, Any]: ...


class BrainLike(Protocol):
    """What the loop needs of `assistant.brain.Brain`."""

    @property
    def expecting_reply(self) -> bool: ...

    def handle(self, text: str) -> Any: ...


@dataclass
class VoiceTurn:
    """One utterance and what became of it."""

    utterance: Utterance
    transcript: Transcript
    addressed: bool
    """False when the wake word was needed and not said: the utterance was ignored."""
    command: str = ""
    """The text handed to the brain (the transcript without the wake word)."""
    turn: Any = None
    """The brain's `Turn`, or None when nothing was asked."""
    spoken: str = ""
    """What the assistant said back."""
    latency_s: float = 0.0
    """From the detected end of speech to the reply audio being ready to play, in seconds."""
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds spent in "stt", "brain" and "tts"."""

    def to_json(self) -> dict[str, Any]:
        """`Turn.to_json()` plus `transcript` (what was heard) and the voice figures."""
        result: dict[str, Any] = (
            self.turn.to_json()
            if self.turn is not None
            else {
                "text": self.command,
                "skill": None,
                "action": None,
                "confidence": 0.0,
                "entities": {},
                "reply": self.spoken or None,
                "speech": self.spoken or None,
                "expects_reply": False,
                "data": {},
            }
        )
        result["transcript"] = self.transcript.to_json()
        result["addressed"] = self.addressed
        result["utterance"] = {
            "start_s": round(self.utterance.start_s, 3),
            "end_s": round(self.utterance.end_s, 3),
            "truncated": self.utterance.truncated,
        }
        result["latency_s"] = round(self.latency_s, 3)
        result["timings"] = {k: round(v, 3) for k, v in self.timings.items()}
        return result


class VoiceLoop:
    """Runs the conversation over a stream of frames; `run` yields a `VoiceTurn` per utterance."""

    def __init__(
        self,
        listener: Listener,
        recognizer: Recognizer,
        brain: BrainLike,
        synthesizer: Synthesizer,
        sink: AudioSink,
        wake_word: WakeWord | None = None,
        require_wake_word: bool = True,
    ):
        self.listener = listener
        self.recognizer = recognizer
        self.brain = brain
        self.synthesizer = synthesizer
        self.sink = sink
        self.wake_word = wake_word
        self.require_wake_word = require_wake_word
        """False: every utterance is answered, and a leading wake word is only cut off."""
        self._awake = False
        """The wake word was said alone: the next utterance needs none."""
        self._playing = threading.Lock()
        """Replies and announcements (from the scheduler's thread) take turns at the sink."""
        listener.on_speech_start = self._barge_in
        engine = _streaming_engine(recognizer)
        self._follower = _Follower(engine) if engine is not None else None
        listener.observer = self._follower

    def run(self, frames: Iterable[np.ndarray], once: bool = False) -> Iterator[VoiceTurn]:
        """Process utterances until the frames end (or after the first answered one with `once`)."""
        for utterance in self.listener.utterances(frames):
            voice_turn = self.hear(utterance)
            yield voice_turn
            if (
                once
                and voice_turn.turn is not None
                and not self._awake
                and not self.brain.expecting_reply
            ):
                return

    def hear(self, utterance: Utterance) -> VoiceTurn:
        """Recognise one utterance, answer it if it was meant for the assistant, speak the answer."""
        started = time.perf_counter()
        transcript = self._transcribe(utterance)
        timings = {"stt": time.perf_counter() - started}
        listening = self._awake or self.brain.expecting_reply
        command, addressed = self._command(transcript.text, listening)
        result = VoiceTurn(utterance, transcript, addressed, command, timings=timings)
        if not addressed:
            log.info("not addressed to the assistant: %r", transcript.text)
            return result
        if command == "" and self.wake_word is not None and not listening:
            self._awake = True
            self._speak(result, WAKE_ACKNOWLEDGEMENT)
            return result
        self._awake = False
        started = time.perf_counter()
        result.turn = self.brain.handle(command)
        timings["brain"] = time.perf_counter() - started
        self._speak(result, result.turn.reply.spoken)
        return result

    def _transcribe(self, utterance: Utterance) -> Transcript:
        """The recogniser's transcript, finishing the session that followed the utterance if any."""
        session = self._follower.take(utterance) if self._follower is not None else None
        if session is None:
            return self.recognizer.transcribe(utterance.audio)
        started = time.perf_counter()
        heard = session.finish(utterance.audio)
        if not isinstance(self.recognizer, CommandRecognizer):
            return heard
        # The grammar engine has heard it already; the CommandRecognizer decides the rest.
        return self.recognizer.decide(utterance.audio, heard, started)

    def _command(self, text: str, listening: bool) -> tuple[str, bool]:
        """(the command, whether it was meant for the assistant); `listening`: no wake word needed."""
        if self.wake_word is None:
            return text, True
        match = self.wake_word.match(text)
        if match is not None:
            return match.command, True
        return text, listening or not self.require_wake_word

    def announce(self, text: str) -> None:
        """Speak something nobody asked for (a reminder, an interim "Reading..."); thread-safe."""
        if text:
            speech = self.synthesizer.synthesize(text)
            with self._playing:
                self.sink.play(speech.samples, speech.sample_rate_hz)

    def _speak(self, result: VoiceTurn, text: str) -> None:
        result.spoken = text
        if not text:
            return
        started = time.perf_counter()
        speech = self.synthesizer.synthesize(text)
        result.timings["tts"] = time.perf_counter() - started
        result.latency_s = time.monotonic() - result.utterance.ended_at
        if len(speech.samples):
            with self._playing:
                self.sink.play(speech.samples, speech.sample_rate_hz)

    def _barge_in(self) -> None:
        self.sink.stop()


def _streaming_engine(recognizer: Recognizer) -> SessionRecognizer | None:
    """The engine that can follow utterances as they arrive: the recogniser, or its grammar engine."""
    if isinstance(recognizer, CommandRecognizer):
        recognizer = recognizer.grammar  # type: ignore[assignment]
    return recognizer if isinstance(recognizer, SessionRecognizer) else None


class _Follower:
    """The listener's observer: a streaming session per utterance, handed to `VoiceLoop.hear`."""

    def __init__(self, engine: SessionRecognizer):
        self.engine = engine
        self._session: StreamingSession | None = None
        self._ended: tuple[Utterance, StreamingSession] | None = None

    def speech_started(self, frames: list[np.ndarray]) -> None:
        self._drop()
        self._session = self.engine.open_session()
        for frame in frames:
            self._session.feed(frame)

    def speech_frame(self, frame: np.ndarray) -> None:
        if self._session is not None:
            self._session.feed(frame)

    def utterance_ended(self, utterance: Utterance) -> None:
        if self._session is not None:
            self._ended, self._session = (utterance, self._session), None

    def utterance_dropped(self) -> None:
        self._drop()

    def take(self, utterance: Utterance) -> StreamingSession | None:
        """The session that followed `utterance`, or None (it was not heard through the listener)."""
        ended, self._ended = self._ended, None
        if ended is not None and ended[0] is utterance:
            return ended[1]
        if ended is not None:
            ended[1].cancel()
        return None

    def _drop(self) -> None:
        for session in (self._session, self._ended[1] if self._ended else None):
            if session is not None:
                session.cancel()
        self._session = self._ended = None
