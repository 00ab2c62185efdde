"""A conversation by voice, driven by pushed audio: frames in (`feed`), events and speech out.

The microphone, an audio file, raw PCM on stdin and (later) a network
connection all drive the same `VoiceSession`. Its owner is one asyncio loop
(`run`): every frame passes the wake-word detector and the listener there, in
order; the blocking engines (recognition, the skill's turn, synthesis) run in
worker threads, so the loop keeps hearing while the assistant speaks. A session
has its own listener, recogniser state and conversation; the engines' models are
shared (`assistant.voice.pipeline`).

How an utterance becomes a command depends on the wake mode:
- "audio": a wake-word model listens to every frame; speech-to-text runs only on
  what is said from the wake word on (the phrase itself is cut from the
  transcript when it was said in the same breath), and on the answer to a question;
- "transcript": the fallback when no model can load: every utterance is
  transcribed and must open with the wake phrase;
- "none": every utterance is a command (push-to-talk, "always", `--no-wake-word`).

While the assistant's own voice plays, the listener hears nothing (its words
never become a command), and a wake word that is part of what it is saying is
ignored; a wake word said over it stops the reply (barge-in). With an echo
canceller, every frame has the session's own reply (as played, placed at the
stream position where it started) taken out before the detector and the listener
hear it, so the wake word said over a loud reply is still heard.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np

from assistant.audio.decode import resample
from assistant.audio.echo import PlayedAudio
from assistant.audio.listener import Listener, Utterance
from assistant.errors import AssistantError
from assistant.events import (
    ErrorEvent,
    PartialTranscript,
    SpeechFinished,
    SpeechStarted,
    TurnEvent,
    Wake,
)
from assistant.stt.base import Recognizer, StreamingSession, Transcript
from assistant.stt.commands import CommandRecognizer
from assistant.stt.grammar import Grammar, normalise
from assistant.stt.wake import WakePhrase
from assistant.tts.base import Speech
from assistant.voice.follower import Follower, streaming_engine

log = logging.getLogger(__name__)

WakeMode = Literal["audio", "transcript", "none"]

WAKE_ACKNOWLEDGEMENT = "Yes?"
"""Said when the wake phrase alone was found in a transcript (the audio detector emits an event)."""
LISTEN_AFTER_WAKE_S = 8.0
"""After the wake word, how long the session waits for the command to start, in seconds."""
WAKE_INSIDE_SPEECH_S = 2.0
"""A wake word heard this far into an utterance starts a new one: what came before is not the
command."""
NOTIFICATION_WAIT_S = 15.0
"""A notification waits at most this long for the user to finish a command and hear its answer."""
ECHO_TAIL_S = 0.3
"""After its own voice stops, the listener stays deaf this long (the room's echo)."""
WAKE_DETECTION_DELAY_S = 0.5
"""How long after a wake word ends the detector may fire, in seconds."""
AFTER_WAKE_PAUSE_S = 1.0
"""A pause this soon after the wake word was detected is not taken for a possible end (the
command follows it): no recognition is begun in it. (The detector fires up to
WAKE_DETECTION_DELAY_S after the word; the pause is `PAUSE_MS` old when it could start.)"""
LONE_WAKE_TAIL_S = 0.25
"""An utterance in which the wake word was detected is the wake phrase alone ("Hey Jarvis", then
a pause) when its speech ended no later than this after the detection: it is not transcribed, and
the command is awaited in the next utterance. (The detector fires 0.1-0.5 s after the phrase ends,
and the VAD holds speech 0.12 s past the last word: a command after the phrase, even a short
one said in the same breath, lasts longer.)"""
RING_LISTEN_S = 10.0
"""After a ring (a timer, an alarm, a reminder) has been said, how long a plain "stop" or
"snooze" is heard without the wake word, in seconds (it is heard while the ring plays too)."""
MAX_BACKLOG_FRAMES = 200
"""`listen_to` pauses reading a file when this many frames wait to be processed."""


class Conversation(Protocol):
    """What a voice session answers through: `assistant.session.Session` (or a brain).

    Optionally `answers_ring(text) -> bool`: whether `text`, said without the wake word while a
    ring sounds, is for it ("stop"); without it, nothing said then is taken."""

    @property
    def expecting_reply(self) -> bool: ...

    def handle(self, text: str) -> Any: ...


class WakeWordDetector(Protocol):
    """`assistant.audio.wakeword`: says when the wake word has just been said."""

    wake_word: str

    def process(self, frame: np.ndarray) -> Any: ...

    def reset(self) -> None: ...


class EchoCanceller(Protocol):
    """`assistant.audio.echo.EchoCanceller`: the microphone less the echo of what was played."""

    def process(self, microphone: np.ndarray, reference: np.ndarray) -> np.ndarray: ...


class SpeechSynthesizer(Protocol):
    def synthesize_stream(self, text: str) -> Iterator[Speech]: ...


class VoiceOutput(Protocol):
    """Where a voice session's results go: speech to play, and events."""

    def play(self, speech: Speech) -> float:
        """Start playing `speech`; seconds until it will have been heard (0 when it is written
        to a file rather than played)."""
        ...

    def stop(self) -> float | None:
        """Cut playback short (barge-in); the seconds of it still to be heard (a satellite
        cannot take back the audio it was given), None or 0 when silent at once."""
        ...

    def emit(self, event: Any) -> None: ...

    # Optional: `reply_finished()`, called when a reply has been played (or cut short).


@dataclass
class VoiceTurn:
    """One transcribed utterance and what became of it."""

    utterance: Utterance
    transcript: Transcript
    addressed: bool
    """False when the wake word was needed and not said: the utterance was ignored."""
    command: str = ""
    """The text handed to the conversation (the transcript without the wake phrase)."""
    turn: Any = None
    """The conversation's `Turn`, or None when nothing was asked."""
    spoken: str = ""
    """What the assistant said back."""
    latency_s: float = 0.0
    """From the detected end of speech to the first reply audio being ready, in seconds."""
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds spent in "stt", "brain" and "tts" (the first sentence), after the end of speech."""
    early: bool = False
    """Recognition began in the pause that turned out to be the end (its "stt" is what was left)."""

    @property
    def after_speech_s(self) -> float:
        """From where speech ended to the first reply audio being ready, in seconds: the trailing
        silence heard before the end was declared, plus `latency_s`."""
        return self.utterance.silence_s + self.latency_s if self.latency_s else 0.0

    def event(self) -> TurnEvent:
        """The turn event, with what was heard (`transcript`) and the voice figures."""
        base: dict[str, Any] = (
            self.turn.to_json()
            if self.turn is not None
            else {"text": self.command, "reply": self.spoken or None, "speech": self.spoken or None}
        )
        extra = {
            "transcript": self.transcript.to_json(),
            "addressed": self.addressed,
            "utterance": {
                "start_s": round(self.utterance.start_s, 3),
                "end_s": round(self.utterance.end_s, 3),
                "truncated": self.utterance.truncated,
                "silence_s": round(self.utterance.silence_s, 3),
            },
            "latency_s": round(self.latency_s, 3),
            "after_speech_s": round(self.after_speech_s, 3),
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
        }
        return TurnEvent.from_json({**base, **extra})

    def to_json(self) -> dict[str, Any]:
        return self.event().to_json()


@dataclass
class _Reply:
    """Speech queued for the speaker: the first sentence ready, the rest still to synthesise."""

    text: str
    first: Speech | None
    rest: Iterator[Speech]
    said: list[tuple[str, float]] = field(default_factory=list)
    """The pieces played so far: their words, and `time.monotonic()` when each started."""
    ended: float = 0.0
    """`time.monotonic()` when the last piece ended (0: still playing)."""
    rings: bool = False
    """A ring: while it plays, and `RING_LISTEN_S` after, "stop" needs no wake word."""

    def recent_words(self, within_s: float) -> str:
        """The words of the pieces that were playing in the last `within_s` seconds (the whole
        reply's for a piece whose words the synthesiser did not tell)."""
        now = time.monotonic()
        words = []
        for index, (text, _start) in enumerate(self.said):
            end = self.said[index + 1][1] if index + 1 < len(self.said) else (self.ended or now)
            if end >= now - within_s:
                words.append(text or self.text)
        return " ".join(words)


class VoiceSession:
    """One voice conversation; `feed` frames from any thread, `await run()` on the owning loop."""

    def __init__(
        self,
        conversation: Conversation,
        recognizer: Recognizer,
        synthesizer: SpeechSynthesizer,
        output: VoiceOutput,
        listener: Listener,
        wake_mode: WakeMode = "audio",
        detector: WakeWordDetector | None = None,
        wake_phrase: WakePhrase | None = None,
        duck: Callable[[bool], None] | None = None,
        once: bool = False,
        gate: Callable[[], bool] | None = None,
        echo: EchoCanceller | None = None,
        chime: Speech | None = None,
        echo_delay_s: float = 0.0,
    ):
        if wake_mode == "audio" and detector is None:
            raise ValueError('wake mode "audio" needs a wake-word detector')
        if wake_mode == "transcript" and wake_phrase is None:
            raise ValueError('wake mode "transcript" needs a wake phrase')
        self.conversation = conversation
        self.recognizer = recognizer
        self.synthesizer = synthesizer
        self.output = output
        self.listener = listener
        self.wake_mode = wake_mode
        self.detector = detector
        self.wake_phrase = wake_phrase
        """Cut from the front of transcripts (the detector's phrase in "audio" mode)."""
        self._duck = duck
        self.once = once
        """Stop after the first answered request (`listen --once`)."""
        self.gate = gate
        """Frames are heard only while it says True (push-to-talk); None: always."""
        self.echo = echo
        """Takes the session's own replies out of every frame; None: frames are heard as they come."""
        self.chime = chime
        """Played when the wake word was said alone (`wake_chime`): the command is awaited."""
        self.echo_delay_s = echo_delay_s
        """How late the session's own voice may still come back to its microphone (a
        satellite's buffers), beyond a room's echo."""
        self._played = PlayedAudio()
        """The echo canceller's reference: the replies played, by stream position."""
        self._fed_samples = 0
        """Samples fed so far (the stream's position now; `_samples` lags it by the backlog)."""
        self._last_partial = ""
        """The partial text passed on last since the wake word or the last turn."""
        self.turns: list[VoiceTurn] = []
        engine = streaming_engine(recognizer)
        grammar = getattr(engine, "grammar", None)
        self._grammar = grammar if isinstance(grammar, Grammar) else None
        """The grammar's phrases: a partial that is one is a complete command."""
        self._follower = (
            Follower(engine, on_partial=self._partial_heard, judge=self._complete_command)
            if engine is not None
            else None
        )
        listener.on_speech_start = self._speech_started
        if self._follower is not None and self._grammar is not None:
            listener.complete = self._complete_before
        self._inbox: collections.deque[np.ndarray | None] = collections.deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._arrived: asyncio.Event | None = None
        self._replies: asyncio.Queue[_Reply] | None = None
        self._samples = 0
        """Samples heard so far: the stream's clock."""
        self._awake_until_s = -1.0
        """In "audio" mode, until when (stream seconds) an utterance may start as a command."""
        self._awake = False
        """In "transcript" mode: the wake phrase was said alone, the next utterance needs none."""
        self._speaking: _Reply | None = None
        self._spoken: _Reply | None = None
        """The reply played last, whose echo may still come back."""
        self._deaf_until = 0.0
        """`time.monotonic()` until which the listener hears nothing (its own voice playing). By
        the clock, not by stream position: a satellite's stream stops between its wake words."""
        self._cuts = 0
        """Barge-ins so far: a sentence's start told after one does not make the listener deaf."""
        self._interrupted = False
        self._ducked: set[str] = set()
        self._done = False
        self._lock = threading.Lock()
        self._recognising = threading.Lock()
        self._turns_in_progress = 0
        """Utterances being recognised or answered: notifications wait for them."""
        """Recognition jobs take turns: an early one may still run when the utterance ends."""
        self._early: tuple[np.ndarray, asyncio.Future[Transcript]] | None = None
        """Recognition started when a pause could be the utterance's end: (its audio, the job)."""
        self._early_audio: np.ndarray | None = None
        """The audio of the early recognition still wanted (None once speech went on)."""
        self._wake_at_s = -1.0
        """When the wake word was last detected, in stream seconds."""
        self._ring_until_s = -1.0
        """Until when (stream seconds) a ring may be answered without the wake word."""
        self.early_recognitions = 0
        """How many recognitions were begun at a pause (for the benchmarks)."""
        self._follow(wake_mode != "audio")

    # -- the input side: any thread --------------------------------------------------

    def feed(self, frame: np.ndarray) -> None:
        """The stream's next int16 mono frame at 16 kHz; never blocks."""
        self._push(frame)

    def end(self) -> None:
        """The stream is over: the utterance in progress is finished, then `run` returns."""
        self._push(None)

    @property
    def done(self) -> bool:
        return self._done

    @property
    def follower(self) -> Follower | None:
        """What follows utterances as they are heard (None: the recogniser cannot)."""
        return self._follower

    @property
    def backlog(self) -> int:
        """Frames fed and not yet processed."""
        return len(self._inbox)

    def wake(self) -> None:
        """The wake word was heard elsewhere (a satellite's own detector): the next utterance is a
        command, as after a detection here. Call it on the owning loop."""
        if self.wake_mode == "audio":
            self._awake_until_s = self.now_s + LISTEN_AFTER_WAKE_S
            self._follow(True)
            self._set_ducked("listening", True)
        elif self.wake_mode == "transcript":
            self._awake = True

    @property
    def speaking(self) -> str | None:
        """The text of the reply being played, None when silent."""
        return self._speaking.text if self._speaking is not None else None

    def announce(self, text: str, wait_for_user: bool = False, rings: bool = False) -> None:
        """Speak something nobody asked for (a reminder, "Reading..."); from any thread.

        `wait_for_user`: not while the user is saying a command (a timer that rang over "Hey
        Jarvis, set the volume..." made the listener deaf to the rest of it: the command was
        lost); it is spoken once the command has been answered. `rings`: a timer, alarm or
        reminder going off, which "stop" or "snooze" answers without the wake word while it
        plays and for `RING_LISTEN_S` after."""
        if text and self._loop is not None and not self._loop.is_closed():
            queue = self._queue_notification if wait_for_user else self._queue_reply
            self._loop.call_soon_threadsafe(lambda: self._loop.create_task(queue(text, rings)))  # type: ignore[union-attr]

    @property
    def ringing(self) -> bool:
        """A ring is playing, or was said less than `RING_LISTEN_S` ago: "stop" needs no wake word."""
        return self.now_s <= self._ring_until_s

    async def _queue_notification(self, text: str, rings: bool = False) -> None:
        deadline = time.monotonic() + NOTIFICATION_WAIT_S
        while self._user_has_the_floor() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await self._queue_reply(text, rings)

    def _user_has_the_floor(self) -> bool:
        """A command is being said, or has been said and not yet answered."""
        if self._turns_in_progress:
            return True
        if self.wake_mode == "audio":
            awake = 0 <= self._awake_until_s and self.now_s <= self._awake_until_s
            return awake or (self.listener.in_speech and self._listening())
        return self.listener.in_speech

    def _push(self, item: np.ndarray | None) -> None:
        if item is not None:
            self._fed_samples += len(item)
        self._inbox.append(item)
        loop, arrived = self._loop, self._arrived
        if loop is not None and arrived is not None and not arrived.is_set():
            try:
                loop.call_soon_threadsafe(arrived.set)
            except RuntimeError:  # the loop has closed
                pass

    # -- the owning loop -------------------------------------------------------------

    async def run(self) -> None:
        """Process frames until `end()` (or the first answer with `once`), then let the last
        reply finish playing."""
        self._loop = asyncio.get_running_loop()
        self._arrived = asyncio.Event()
        self._replies = asyncio.Queue()
        speaker = asyncio.create_task(self._speaker())
        try:
            while not self._done:
                if not self._inbox:
                    self._arrived.clear()
                    if not self._inbox:
                        await self._arrived.wait()
                    continue
                frame = self._inbox.popleft()
                if frame is None:
                    utterance = self.listener.flush()
                    if utterance is not None:
                        await self._hear(utterance)
                    break
                await self._frame(frame)
            await self._replies.join()
        finally:
            self._done = True
            speaker.cancel()
            # Its end awaited: a loop closed over a task still cancelling warns at exit.
            await asyncio.gather(speaker, return_exceptions=True)
            if self._follower is not None:
                self._follower.close()
            self._set_ducked("listening", False)
            self._set_ducked("speaking", False)

    async def listen_to(self, frames: Iterable[np.ndarray]) -> None:
        """Drive the session from an iterable of frames (a file, a microphone), read in a thread."""
        reader = threading.Thread(target=self._read, args=(frames,), name="voice-input", daemon=True)
        reader.start()
        await self.run()

    def _read(self, frames: Iterable[np.ndarray]) -> None:
        stream = iter(frames)
        try:
            for frame in stream:
                while self.backlog > MAX_BACKLOG_FRAMES and not self._done:
                    time.sleep(0.005)
                if self._done:
                    break
                self.feed(frame)
        except AssistantError as error:
            self.output.emit(ErrorEvent(message=str(error), code="audio"))
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()  # stops a decoder subprocess
            self.end()

    async def _frame(self, frame: np.ndarray) -> None:
        if self.echo is not None:
            frame = self.echo.process(frame, self._played.take(self._samples, len(frame)))
        self._samples += len(frame)
        if self.detector is not None:
            detection = self.detector.process(frame)
            if detection is not None:
                self._wake_heard(detection)
        if time.monotonic() < self._deaf_until or (self.gate is not None and not self.gate()):
            self.listener.skip(frame)
            return
        if self.wake_mode == "audio" and self._awake_until_s >= 0 and not self._listening():
            self._awake_until_s = -1.0
            self._follow(False)
            self._set_ducked("listening", False)
        utterance = self.listener.push(frame)
        if utterance is not None:
            await self._hear(utterance)
        elif self.listener.pause_audio is not None:
            self._recognise_early(self.listener.pause_audio)
        elif self._follower is not None and self._follower.resumed:
            await self._resume_following()

    @property
    def now_s(self) -> float:
        """Seconds of audio heard so far."""
        return self._samples / self.listener.sample_rate_hz

    def _listening(self) -> bool:
        """In "audio" mode: whether an utterance now is a command (after the wake word, or the
        answer to a question)."""
        if self.conversation.expecting_reply:
            return True
        return self.now_s <= self._awake_until_s or (
            self._awake_until_s >= 0 and self.listener.in_speech
        )

    def _wake_heard(self, detection: Any) -> None:
        # The wake word in the assistant's own words, heard as they play or as their echo comes
        # back (a satellite's sound comes back up to `echo_delay_s` late): not the user.
        within_s = WAKE_DETECTION_DELAY_S + ECHO_TAIL_S + self.echo_delay_s
        for reply in (self._speaking, self._spoken):
            if reply is not None and self._own_words(reply.recent_words(within_s)):
                log.info("wake word heard in the assistant's own reply: ignored")
                return
        if self._speaking is not None:
            self._barge_in()
        name = str(getattr(detection, "wake_word", "") or self.detector.wake_word)  # type: ignore[union-attr]
        self.output.emit(Wake(name=name, time_s=round(self.now_s, 3)))
        self._last_partial = ""
        listener = self.listener
        if listener.in_speech and (
            listener.speech_so_far_s > WAKE_INSIDE_SPEECH_S
            # The echo guard ended inside the wake word: its tail would be taken for words of
            # the command ("...vis, play some jazz").
            or (listener.started_unheard and listener.in_pause)
        ):
            listener.reset()  # what came before the wake word is not the command
        self._awake_until_s = self.now_s + LISTEN_AFTER_WAKE_S
        self._wake_at_s = self.now_s
        self._follow(True)
        self._set_ducked("listening", True)

    def _own_words(self, text: str) -> bool:
        phrase = self.wake_phrase.phrase if self.wake_phrase else normalise(self.detector.wake_word)  # type: ignore[union-attr]
        return bool(phrase) and phrase in normalise(text)

    def _follow(self, on: bool) -> None:
        """Recognition follows utterances as they are heard (only when they may be commands)."""
        self.listener.follow(self._follower if on else None)

    def _partial_heard(self, text: str, utterance_id: int) -> None:
        """The follower's thread: the words heard so far of the utterance followed."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._emit_partial, text, utterance_id)
            except RuntimeError:  # the loop has closed
                pass

    def _emit_partial(self, text: str, utterance_id: int) -> None:
        follower = self._follower
        if follower is not None and follower.following and follower.utterance_id == utterance_id:
            if text != self._last_partial:  # a command said in two breaths may repeat the first one's
                self._last_partial = text
                self.output.emit(PartialTranscript(text=text))

    def _complete_before(self, frames: int) -> bool:
        """The listener's question: do the utterance's first `frames` frames hold a complete
        command? Never when they end before the wake word was detected: that speech is (the end
        of) the wake word, and the pause after it is the comma in "Hey Jarvis, play some jazz".
        (The grammar takes a wake word whose start was not heard, the reply's echo guard having
        just ended, for a command of its own.)"""
        assert self._follower is not None
        pause_s = self.listener.speech_start_s + frames * self.listener.frame_ms / 1000
        if self.wake_mode == "audio" and 0 <= pause_s <= self._wake_at_s:
            return False
        return self._follower.complete(frames)

    def _complete_command(self, text: str) -> bool:
        """The follower's thread: whether partial text is a complete command (a grammar phrase,
        after the wake phrase, if it opens with it)."""
        if self._grammar is None:
            return False
        words = normalise(text)
        if self.wake_phrase is not None:
            words = self.wake_phrase.split(words)[1]
        return bool(words) and words in self._grammar

    def _lone_wake(self, utterance: Utterance) -> bool:
        """"Hey Jarvis" alone: the wake word was detected in `utterance`, and (next to) nothing was
        said after it."""
        return (
            self.wake_mode == "audio"
            and not self.conversation.expecting_reply
            and utterance.start_s <= self._wake_at_s
            and utterance.end_s - self._wake_at_s <= LONE_WAKE_TAIL_S
        )

    def _chime(self) -> None:
        """The chime, now; the listener is deaf only while it sounds (no echo tail: the command
        may follow at once)."""
        assert self.chime is not None
        at = self._fed_samples
        try:
            seconds = float(self.output.play(self.chime))
        except Exception:  # a device failure: the command is still awaited
            log.exception("could not play the chime")
            return
        if seconds > 0:
            self._playing_from(self.chime, at, seconds, reference=True, tail_s=0.0)

    def _speech_started(self) -> None:
        if self.wake_mode != "audio" or self._listening():
            self.output.emit(SpeechStarted(time_s=round(self.listener.speech_start_s, 3)))

    async def _hear(self, utterance: Utterance) -> None:
        if self.wake_mode == "audio":
            listening = self.conversation.expecting_reply or (
                0 <= self._awake_until_s and utterance.start_s <= self._awake_until_s
            )
        else:
            listening = self._awake or self.conversation.expecting_reply
        # Said while a ring sounds: transcribed, and taken only if it answers the ring ("stop").
        ring = not listening and self.wake_mode != "none" and utterance.start_s <= self._ring_until_s
        if self.wake_mode == "audio" and not listening and not ring:
            return  # not meant for the assistant: no speech-to-text
        if self._lone_wake(utterance):
            # The command follows the pause: listen for it from here on, as long as after a wake
            # word; nothing to transcribe.
            log.info("the wake word alone: listening for the command")
            if self._follower is not None:
                session = self._follower.take(utterance)
                if session is not None:
                    session.cancel()
            self._early = self._early_audio = None
            self._awake_until_s = self.now_s + LISTEN_AFTER_WAKE_S
            if self.chime is not None:
                self._chime()
            return
        self._turns_in_progress += 1
        try:
            await self._take_turn(utterance, listening, ring)
        finally:
            self._turns_in_progress -= 1

    async def _take_turn(self, utterance: Utterance, listening: bool, ring: bool = False) -> None:
        """Recognise, understand and answer an utterance that may be a command; with `ring`, one
        said without the wake word while a ring sounds, taken only if it answers the ring."""
        self.output.emit(SpeechFinished(time_s=round(utterance.end_s, 3), duration_s=round(utterance.duration_s, 3)))
        started = time.perf_counter()
        try:
            transcript, early = await self._transcript(utterance)
        except AssistantError as error:
            self.output.emit(ErrorEvent(message=str(error), code="recognition"))
            return
        timings = {"stt": time.perf_counter() - started}
        command, addressed = self._command(transcript.text, listening)
        if ring and not self._woken(transcript.text):
            addressed = await asyncio.to_thread(self._answers_ring, command)
            if addressed:
                self._ring_until_s = -1.0  # answered: what follows needs the wake word again
        result = VoiceTurn(utterance, transcript, addressed, command, timings=timings, early=early)
        self.turns.append(result)
        if not addressed:
            log.info("not addressed to the assistant: %r", transcript.text)
            self._last_partial = ""
            self.output.emit(result.event())
            return
        if command == "" and not self.conversation.expecting_reply:
            # The wake word alone: the next utterance is the command.
            if self.wake_mode == "audio":
                self._awake_until_s = self.now_s + LISTEN_AFTER_WAKE_S
            else:
                self._awake = True
                await self._answer(result, WAKE_ACKNOWLEDGEMENT)
            self._last_partial = ""
            self.output.emit(result.event())
            return
        self._awake = False
        self._awake_until_s = -1.0 if self.wake_mode == "audio" else self._awake_until_s
        started = time.perf_counter()
        result.turn = await asyncio.to_thread(self.conversation.handle, command)
        timings["brain"] = time.perf_counter() - started
        await self._answer(result, result.turn.reply.spoken)
        self._last_partial = ""
        self.output.emit(result.event())
        if self.wake_mode == "audio":
            self._follow(self.conversation.expecting_reply)
            self._set_ducked("listening", self.conversation.expecting_reply)
        if self.once and not self._awake and not self.conversation.expecting_reply:
            self._done = True

    def _recognise_early(self, audio: np.ndarray) -> None:
        """A pause long enough to end the utterance has begun: recognise what was said so far
        while the rest of the trailing silence is heard. Only utterances followed as commands."""
        if self._follower is None or self.listener.observer is not self._follower:
            return
        if 0 <= self._wake_at_s and self.now_s - self._wake_at_s < AFTER_WAKE_PAUSE_S:
            return  # "Hey Jarvis, ...": the command follows the pause after the wake word
        self.early_recognitions += 1
        session = self._follower.detach()
        self._early_audio = audio
        job = asyncio.ensure_future(asyncio.to_thread(self._recognise, session, audio, True))
        job.add_done_callback(_retrieved)  # an early job nobody awaits must not warn
        self._early = (audio, job)

    async def _resume_following(self) -> None:
        """Speech went on after a pause that was not the end: follow the utterance again once the
        early recognition is over (the grammar engine's sessions share their decoders)."""
        early, self._early = self._early, None
        self._early_audio = None
        if early is not None:
            await asyncio.wait([early[1]])
        assert self._follower is not None
        self._follower.resume()

    async def _transcript(self, utterance: Utterance) -> tuple[Transcript, bool]:
        """The utterance's transcript, and whether it was recognised early (the pause that ended it
        began the recognition)."""
        early, self._early = self._early, None
        if early is not None and np.array_equal(early[0], utterance.audio):
            try:
                return await early[1], True
            finally:
                self._early_audio = None
        self._early_audio = None
        session = self._follower.take(utterance) if self._follower is not None else None
        return await asyncio.to_thread(self._recognise, session, utterance.audio), False

    def _recognise(
        self, session: StreamingSession | None, audio: np.ndarray, early: bool = False
    ) -> Transcript:
        """The recogniser's transcript of `audio`, finishing `session` if it followed it; `early`:
        begun at a pause, which may not be the end."""
        with self._recognising:
            if session is None:
                return self.recognizer.transcribe(audio)
            started = time.perf_counter()
            heard = session.finish(audio)
            if not isinstance(self.recognizer, CommandRecognizer):
                return heard
            if early and self._early_audio is not audio:
                return heard  # begun at a pause that was not the end: no second opinion wasted
            # The grammar engine has heard it already; the CommandRecognizer decides the rest.
            return self.recognizer.decide(audio, heard, started)

    def _woken(self, text: str) -> bool:
        """Whether the transcript opens with the wake phrase."""
        return self.wake_phrase is not None and self.wake_phrase.match(text) is not None

    def _answers_ring(self, command: str) -> bool:
        """The conversation's word on whether `command` answers the ring (a worker thread)."""
        answers = getattr(self.conversation, "answers_ring", None)
        return bool(command) and answers is not None and bool(answers(command))

    def _command(self, text: str, listening: bool) -> tuple[str, bool]:
        """(the command, whether it was meant for the assistant)."""
        match = self.wake_phrase.match(text) if self.wake_phrase is not None else None
        if match is not None:
            return match.command, True
        return text, listening or self.wake_mode != "transcript"

    # -- speaking --------------------------------------------------------------------

    async def _answer(self, result: VoiceTurn, text: str) -> None:
        """Synthesise the first sentence of `text` (the latency ends there) and queue it all."""
        result.spoken = text
        if not text:
            return
        started = time.perf_counter()
        reply = await self._synthesise_first(text)
        result.timings["tts"] = time.perf_counter() - started
        result.latency_s = time.monotonic() - result.utterance.ended_at
        await self._enqueue(reply)

    async def _queue_reply(self, text: str, rings: bool = False) -> None:
        reply = await self._synthesise_first(text)
        reply.rings = rings
        await self._enqueue(reply)

    async def _synthesise_first(self, text: str) -> _Reply:
        stream = iter(self.synthesizer.synthesize_stream(text))
        first = await asyncio.to_thread(next, stream, None)
        return _Reply(text, first, stream)

    async def _enqueue(self, reply: _Reply) -> None:
        assert self._replies is not None
        self._set_ducked("speaking", True)
        await self._replies.put(reply)

    async def _speaker(self) -> None:
        """Plays queued replies one after the other, each sentence while the next is synthesised."""
        assert self._replies is not None
        while True:
            reply = await self._replies.get()
            self._speaking, self._interrupted = reply, False
            if reply.rings:
                self._ring_until_s = float("inf")
            try:
                speech = reply.first
                while speech is not None and not self._interrupted:
                    reply.said.append((speech.text, time.monotonic()))
                    # Where the stream is before it plays: its echo cannot come earlier (a reader
                    # catching up after a stall may push frames that already hold it before
                    # `play` returns, and a reference later than its echo cancels nothing).
                    at = self._fed_samples
                    seconds = self._play(speech)
                    if seconds > 0:
                        self._playing_from(speech, at, seconds, reference=not self._told_start)
                    following = asyncio.create_task(asyncio.to_thread(next, reply.rest, None))
                    await self._pause(seconds)
                    speech = await following
            except Exception:  # a synthesiser or device failure must not end the session
                log.exception("could not speak %r", reply.text)
            finally:
                reply.ended, self._spoken, self._speaking = time.monotonic(), reply, None
                if reply.rings:
                    self._ring_until_s = self.now_s + RING_LISTEN_S
                finished = getattr(self.output, "reply_finished", None)
                if finished is not None:
                    finished()  # a satellite's stream of audio ends with the reply
                self._replies.task_done()
                if self._replies.empty():
                    self._set_ducked("speaking", False)

    async def _pause(self, seconds: float) -> None:
        """Wait while a sentence plays; a barge-in ends the wait."""
        deadline = time.monotonic() + seconds
        while not self._interrupted and (left := deadline - time.monotonic()) > 0:
            await asyncio.sleep(min(left, 0.05))

    @property
    def _told_start(self) -> bool:
        """The output says when each sentence reaches the device (the speaker, `SpeechInput`)."""
        return bool(getattr(self.output, "reports_start", False))

    def _play(self, speech: Speech) -> float:
        """Play a sentence; its seconds when it is heard as it plays (0: written to a file)."""
        if not len(speech.samples):
            return 0.0
        if self._told_start:
            # The speaker says when it reaches the device: after the output opened (most of a
            # second, the first time) and what was ahead of it played.
            rate, cuts = self.listener.sample_rate_hz, self._cuts

            def started(offset_s: float) -> None:  # the mixer's thread
                if cuts == self._cuts:
                    at = self._fed_samples + int(offset_s * rate)
                    self._playing_from(speech, at, speech.duration_s, reference=True)

            return float(self.output.play(speech, on_start=started))  # type: ignore[call-arg]
        return float(self.output.play(speech))

    def _playing_from(
        self, speech: Speech, at: int, seconds: float, reference: bool, tail_s: float = ECHO_TAIL_S
    ) -> None:
        """`speech` is heard from now (stream position `at`) on, for `seconds`: the listener is
        deaf until its echo has died down (`tail_s` after); `reference`: the echo canceller's
        reference starts at `at`."""
        rate = self.listener.sample_rate_hz
        self._deaf_until = max(self._deaf_until, time.monotonic() + seconds + tail_s)
        if reference and self.echo is not None:
            self._played.play(resample(speech.samples, speech.sample_rate_hz, rate), at)

    def _barge_in(self) -> None:
        log.info("barge-in: the reply is cut short")
        self._interrupted = True
        self._cuts += 1
        left = self.output.stop()  # what is still heard of the reply is not the user's command
        rate = self.listener.sample_rate_hz
        self._deaf_until = time.monotonic() + left + ECHO_TAIL_S if left else 0.0
        # The rest is not played: taking it out of the microphone would only distort the command.
        self._played.cut(self._fed_samples + int((left or 0.0) * rate))

    def interrupt(self) -> None:
        """Barge-in from outside (a page's Stop or push-to-talk button); from any thread."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._barge_in)

    def _set_ducked(self, reason: str, on: bool) -> None:
        """Music goes down while the assistant listens after the wake word or speaks."""
        with self._lock:
            before = bool(self._ducked)
            (self._ducked.add if on else self._ducked.discard)(reason)
            after = bool(self._ducked)
        if before != after and self._duck is not None:
            try:
                self._duck(after)
            except Exception:
                log.exception("could not %s the music", "duck" if after else "restore")


def _retrieved(job: asyncio.Future[Transcript]) -> None:
    """Read an early recognition's outcome: its error, if nobody awaits it, is only logged."""
    if not job.cancelled() and job.exception() is not None:
        log.debug("early recognition failed: %s", job.exception())
