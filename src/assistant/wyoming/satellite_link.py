"""`assistant serve --satellite`: connect to satellites; each room's audio drives a `VoiceSession`.

The room is heard exactly as `listen` hears the microphone (`assistant.voice.session`:
wake word, end of speech, echo guard, barge-in, ducking); this module only
translates between that session and the satellite's events, in the order Home
Assistant's `assist_satellite` uses. The server sends `run-satellite`; the
satellite sends `run-pipeline` and its microphone's audio:

- starting at the wake stage (a satellite without a wake word of its own), the
  session's wake-word model listens to the stream: `detection`, `transcribe`,
  `voice-started`/`-stopped`, `transcript`, `synthesize` and the reply's audio,
  then the next wake word, turn after turn, for as long as the audio comes;
- starting at the asr stage (the satellite heard its wake word itself), the
  next utterance is the command, with no wake word; the run ends with its
  `transcript` (an empty one when nothing was said).

A reply's audio is one `audio-start` ... `audio-stop`, sent at the pace it is
heard (`LEAD_S` ahead, so that a barge-in can stop it); the satellite answers
`played` once it has been heard (wyoming-satellite 1.0.0 never does: expected).
A timer set from a satellite is reported to it (`timer-started`,
`timer-finished`), and whatever a job set from a satellite says when it comes
due is spoken there.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from wyoming.event import Event, async_write_event

from assistant.events import ErrorEvent, SpeechFinished, SpeechStarted, TurnEvent, Wake
from assistant.voice.session import LISTEN_AFTER_WAKE_S
from assistant.wyoming.server import Endpoint
from assistant.wyoming.services import Services
from assistant.wyoming.wire import (
    SAMPLE_RATE_HZ,
    AudioStream,
    ProtocolError,
    read_event,
    speech_events,
)

log = logging.getLogger(__name__)

RECONNECT_S = 3.0
PLAYED_SLACK_S = 5.0
"""How long past the reply's own length to wait for `played`."""
FRAME_SAMPLES = SAMPLE_RATE_HZ * 30 // 1000
STREAM_END_SILENCE_S = 1.0
"""Silence fed after a satellite stops its audio: it ends the utterance in progress."""
LEAD_S = 0.2
SATELLITE_ECHO_DELAY_S = 2.5
"""How late a satellite's echo may come, found by its canceller's delay estimate: the satellite
buffers what it is sent, and its player starts with each reply. Through wyoming-satellite 1.0.0
and a pipe, a reply's first sentence echoed 1.2 s after it was sent, the next ones 0.6 s."""
"""A reply's audio is sent at the pace it is heard, this far ahead: Wyoming cannot take back what a
satellite was given, so this is how much of a reply still plays after a barge-in."""

OnConnection = Callable[["SatelliteLink", bool], None]
"""Told when a satellite connects (True) or leaves (False)."""


@dataclass
class PipelineRun:
    """One `run-pipeline` from a satellite: where it starts, and how far it has got."""

    start_stage: str
    """"wake": the session listens for the wake word; "asr": the next utterance is the command."""
    speaks: bool
    """The pipeline ends with text-to-speech (the satellite has a speaker)."""
    audio: AudioStream = field(default_factory=lambda: AudioStream(None, keep=False))
    """Converts the satellite's chunks; a run lasts as long as its audio (no length cap here:
    the listener bounds each utterance)."""
    pending: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int16))
    idle_samples: int = 0
    """Samples heard since the run began or speech was last heard, with no turn on its way."""
    turn_pending: bool = False
    """An utterance was taken as a command and its transcript has not been sent yet."""

    def frames(self, data: dict[str, Any], payload: bytes) -> list[np.ndarray]:
        """The chunk's audio as whole 30 ms frames (the rest is kept for the next chunk)."""
        self.pending = np.concatenate([self.pending, self.audio.convert(data, payload)])
        count = len(self.pending) // FRAME_SAMPLES
        frames = [self.pending[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES] for i in range(count)]
        self.pending = self.pending[count * FRAME_SAMPLES :]
        return frames


class SatelliteLink:
    """One satellite: the connection, kept up, and a voice session for each connection."""

    def __init__(
        self,
        endpoint: Endpoint,
        services: Services,
        pipeline: Any,
        open_session: Callable[[str, SatelliteLink], Any],
        on_connection: OnConnection | None = None,
    ):
        """`pipeline`: the `VoicePipeline` that builds the voice sessions; `open_session(session_id,
        output)`: `Assistant.open_session`; the link is the conversation's output, so what a job set
        from this satellite says comes back here."""
        self.endpoint = endpoint
        self.services = services
        self.pipeline = pipeline
        self.name = str(endpoint)
        self.open_session = open_session
        self.on_connection = on_connection or (lambda _link, _connected: None)
        self.timers: set[str] = set()
        """Ids of the timers set from this satellite and not finished."""
        self.timings: list[float] = []
        """Seconds from the end of speech to the first reply audio ready, per turn."""
        self.connected = asyncio.Event()
        self.voice: Any = None
        """The `VoiceSession` of the current connection."""
        self._announced = False
        self._outbox: asyncio.Queue[Event] | None = None
        self._run: PipelineRun | None = None
        self._room: _Room | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._session: Any = None
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def session_id(self) -> str:
        return f"satellite:{self.name}"

    async def run(self) -> None:
        """Connect, serve, and reconnect after a failure, until cancelled."""
        self._loop = asyncio.get_running_loop()
        try:
            while True:
                try:
                    await self._serve()
                except (ConnectionError, OSError, ProtocolError) as error:
                    log.info("satellite %s: %s; reconnecting in %g s", self.name, error, RECONNECT_S)
                finally:
                    self.connected.clear()
                    self._run = None
                    if self._announced:
                        self._announced = False
                        self.on_connection(self, False)
                await asyncio.sleep(RECONNECT_S)
        finally:  # the conversation outlives reconnections, not the link
            if self._session is not None:
                self._session.close()
                self._session = None

    def post(self, event: Event) -> None:
        """Queue an event for the satellite, in order (any thread); dropped when not connected."""
        loop, outbox = self._loop, self._outbox
        if loop is None or outbox is None:
            log.info("satellite %s is not connected: %s not sent", self.name, event.type)
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            outbox.put_nowait(event)
        else:
            loop.call_soon_threadsafe(outbox.put_nowait, event)

    async def _serve(self) -> None:
        from wyoming.info import Describe
        from wyoming.satellite import RunSatellite

        assert self.endpoint.host is not None and self.endpoint.port is not None
        reader, writer = await asyncio.open_connection(
            self.endpoint.host, self.endpoint.port, limit=self.services.limits.max_event_bytes + 1
        )
        room = _Room(self)
        try:
            self.voice = await asyncio.to_thread(
                self.pipeline.open_session,
                room,
                wake_word=True,
                conversation=_Conversation(self),
                echo_cancellation=True,  # unless set off: the satellite's speaker is by its microphone
                echo_delay_s=SATELLITE_ECHO_DELAY_S,
            )
        except BaseException:
            writer.close()
            raise
        room.voice = self.voice
        self._room, self._outbox = room, asyncio.Queue()
        listening = asyncio.create_task(self.voice.run())
        sending = asyncio.create_task(self._send_all(self._outbox, writer))
        try:
            self.post(RunSatellite().event())
            self.post(Describe().event())
            self.connected.set()
            while True:
                if sending.done():
                    sending.result()  # a failed write: the connection is gone
                try:
                    event = await read_event(reader, self.services.limits)
                except TimeoutError:
                    from wyoming.ping import Ping

                    self.post(Ping().event())  # idle between requests: still there?
                    continue
                if event is None:
                    raise ConnectionError("the satellite closed the connection")
                await self._dispatch(event)
        finally:
            self._outbox = None
            self.voice.end()
            for task in (listening, sending, *self._tasks):
                task.cancel()
            await asyncio.gather(listening, sending, *self._tasks, return_exceptions=True)
            self._tasks.clear()
            writer.close()

    async def _send_all(self, outbox: asyncio.Queue[Event], writer: asyncio.StreamWriter) -> None:
        while True:
            event = await outbox.get()
            try:
                await async_write_event(event, writer)
            except (ConnectionError, OSError):
                writer.close()  # the reader sees the end and the link reconnects
                raise

    async def _dispatch(self, event: Event) -> None:
        kind = event.type
        if kind == "info":
            satellite = event.data.get("satellite") or {}
            if isinstance(satellite, dict) and isinstance(satellite.get("name"), str):
                self.name = satellite["name"]
            self._announce_connection()
        elif kind == "run-pipeline":
            self._start_run(event.data)
        elif kind == "audio-chunk":
            if self._run is not None:  # else the run is over: the rest is not needed
                self._hear(self._run, event)
        elif kind == "audio-stop":
            if self._run is not None:
                self._stream_stopped(self._run)
        elif kind == "played":
            assert self._room is not None
            self._room.played.set()
        elif kind == "ping":
            from wyoming.ping import Pong

            self.post(Pong(text=event.data.get("text")).event())
        else:
            log.debug("satellite %s: %s", self.name, kind)

    def _announce_connection(self) -> None:
        if not self._announced:
            self._announced = True
            log.info("satellite %s connected (%s)", self.name, self.endpoint)
            self.on_connection(self, True)

    def _start_run(self, data: dict[str, Any]) -> None:
        from wyoming.asr import Transcribe

        start = str(data.get("start_stage") or "asr")
        end = str(data.get("end_stage") or "tts")
        self._run = PipelineRun("wake" if start == "wake" else "asr", speaks=end == "tts")
        log.debug("satellite %s: a run from %s to %s", self.name, start, end)
        if self._run.start_stage == "asr":
            self.voice.wake()  # the satellite heard its wake word: the next utterance is the command
            self.post(Transcribe(language=self.language).event())

    def _hear(self, run: PipelineRun, event: Event) -> None:
        try:
            frames = run.frames(event.data, event.payload or b"")
        except ProtocolError as error:
            from wyoming.error import Error

            self._end_run(run)
            self.post(Error(text=str(error), code="bad-audio").event())
            return
        for frame in frames:
            self.voice.feed(frame)
        if run.turn_pending or self.voice.listener.in_speech:
            run.idle_samples = 0
            return
        run.idle_samples += sum(len(frame) for frame in frames)
        if run.start_stage == "asr" and run.idle_samples > LISTEN_AFTER_WAKE_S * SAMPLE_RATE_HZ:
            log.info("satellite %s: nothing said after its wake word", self.name)
            self._end_run(run, transcript="")

    def _stream_stopped(self, run: PipelineRun) -> None:
        """The satellite stopped its audio: what was being said ends here; with nothing said, the
        run ends now (an asr run with an empty transcript)."""
        silence = np.zeros(FRAME_SAMPLES, np.int16)
        for _ in range(int(STREAM_END_SILENCE_S * SAMPLE_RATE_HZ) // FRAME_SAMPLES):
            self.voice.feed(silence)
        task = asyncio.create_task(self._end_when_heard(run))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _end_when_heard(self, run: PipelineRun) -> None:
        while self.voice.backlog and self._run is run:
            await asyncio.sleep(0.02)
        if self._run is run and not run.turn_pending:
            self._end_run(run, transcript="" if run.start_stage == "asr" else None)

    def _end_run(self, run: PipelineRun, transcript: str | None = None) -> None:
        """Stop taking the run's audio; `transcript` (an empty one: nothing was said) ends it for
        the satellite too."""
        from wyoming.asr import Transcript

        if self._run is run:
            self._run = None
        if transcript is not None:
            self.post(Transcript(text=transcript, language=self.language).event())

    @property
    def language(self) -> str:
        transcriber = self.services.transcriber
        return transcriber.language if transcriber is not None else "en"

    def conversation(self) -> Any:
        """The satellite's own conversation (a session of the assistant's), opened on first use."""
        if self._session is None:
            self._session = self.open_session(self.session_id, self)
        return self._session

    # -- what the voice session says happened (its output, on the loop) -------------------

    def turn_taken(self, event: TurnEvent) -> None:
        """A command was answered: `transcript`, and what it did to this satellite's timers."""
        from wyoming.asr import Transcript

        run = self._run
        if run is not None:
            run.turn_pending = False
        if not (event.text or event.reply) or not event.extra.get("addressed", True):
            return  # the wake word alone, or speech not meant for the assistant
        heard = event.extra.get("transcript") or {}
        text = str(heard.get("text") or event.text) if isinstance(heard, dict) else event.text
        self.post(Transcript(text=text, language=self.language).event())
        if event.extra.get("latency_s"):
            self.timings.append(float(event.extra["latency_s"]))
        self._report_timers(event)
        if run is not None and run.start_stage == "asr":
            self._end_run(run)

    def _report_timers(self, event: TurnEvent) -> None:
        """`timer-started` / `timer-cancelled` for what the turn did to this satellite's timers."""
        from wyoming.timer import TimerCancelled, TimerStarted

        data = event.data or {}
        job = data.get("job")
        if event.action == "set_timer" and isinstance(job, dict) and job.get("id"):
            self.timers.add(str(job["id"]))
            length = float((job.get("payload") or {}).get("length_s") or 0)
            started = TimerStarted(id=str(job["id"]), total_seconds=round(length), name=job.get("name"))
            self.post(started.event())
        for job_id in data.get("cancelled") or []:
            if str(job_id) in self.timers:
                self.timers.discard(str(job_id))
                self.post(TimerCancelled(id=str(job_id)).event())

    def failed(self, event: ErrorEvent) -> None:
        """Recognition failed: the satellite hears of it, and an asr run ends."""
        from wyoming.error import Error

        self.post(Error(text=event.message, code=event.code or "failed").event())
        run = self._run
        if run is not None:
            run.turn_pending = False
            if run.start_stage == "asr":
                self._end_run(run, transcript="")

    # -- the conversation's output (any thread) -------------------------------------------

    def emit(self, event: Any) -> None:
        """Notifications are said here (a timer from this room rings here), interim messages too;
        turns are the voice session's to report."""
        from assistant.events import Progress
        from assistant.notifications import Notification

        voice = self.voice
        if isinstance(event, Notification):
            job_id = str((event.data or {}).get("job_id") or "")
            if job_id in self.timers:
                from wyoming.timer import TimerFinished

                self.timers.discard(job_id)
                self.post(TimerFinished(id=job_id).event())
            if voice is None or not self.connected.is_set():
                log.warning("satellite %s is gone: %r not said", self.name, event.spoken)
                return
            voice.announce(event.spoken, wait_for_user=True, rings=bool((event.data or {}).get("rings")))
        elif isinstance(event, Progress) and voice is not None:
            voice.announce(event.text)


class _Conversation:
    """The voice session's conversation: the satellite's session, opened on the first command (by
    then the satellite has said its name)."""

    def __init__(self, link: SatelliteLink):
        self._link = link

    @property
    def expecting_reply(self) -> bool:
        session = self._link._session
        return session is not None and bool(session.expecting_reply)

    def handle(self, text: str) -> Any:
        return self._link.conversation().handle(text)

    def answers_ring(self, text: str) -> bool:
        answers = getattr(self._link.conversation(), "answers_ring", None)
        return answers is not None and bool(answers(text))


class _Room:
    """The voice session's output: its events and speech, as the satellite's Wyoming events."""

    def __init__(self, link: SatelliteLink):
        self.link = link
        self.voice: Any = None
        self.played = asyncio.Event()
        self._reply_s: float | None = None
        """Seconds of the reply being sent (None: no reply's audio is open)."""
        self._paced: collections.deque[tuple[Event, float]] = collections.deque()
        """The reply's events still to send, each with the seconds of audio it carries."""
        self._more = asyncio.Event()
        self._pacer: asyncio.Task[None] | None = None
        self._heard_at = 0.0
        """`time.monotonic()` when the audio sent so far will have been played."""

    def emit(self, event: Any) -> None:
        from wyoming.asr import Transcribe
        from wyoming.vad import VoiceStarted, VoiceStopped
        from wyoming.wake import Detection

        link, run = self.link, self.link._run
        if isinstance(event, Wake):
            if run is not None and run.start_stage == "wake":
                model = str(getattr(self.voice.detector, "model_id", "") or event.name)
                link.post(Detection(name=model, timestamp=round(event.time_s * 1000)).event())
                link.post(Transcribe(language=link.language).event())
        elif isinstance(event, SpeechStarted):
            link.post(VoiceStarted(timestamp=round(event.time_s * 1000)).event())
        elif isinstance(event, SpeechFinished):
            if run is not None:
                run.turn_pending = True
            link.post(VoiceStopped(timestamp=round(event.time_s * 1000)).event())
        elif isinstance(event, TurnEvent):
            link.turn_taken(event)
        elif isinstance(event, ErrorEvent):
            link.failed(event)

    def play(self, speech: Any) -> float:
        """Send a sentence of the reply (the first opens it with `synthesize` and `audio-start`);
        seconds until the satellite will have played it."""
        from wyoming.tts import Synthesize

        run = self.link._run
        if run is not None and not run.speaks:
            return 0.0  # the satellite has no speaker
        rate = speech.sample_rate_hz
        if self._reply_s is None:
            self._reply_s = 0.0
            self.played.clear()
            self._send(Synthesize(text=self.voice.speaking or "").event())
            self._send(speech_events(np.zeros(0, np.int16), rate)[0])
        for event in speech_events(speech.samples, rate)[1:-1]:
            self._send(event, len(event.payload or b"") / 2 / rate)
        self._reply_s += speech.duration_s
        return float(speech.duration_s)

    def stop(self) -> float:
        """Barge-in: the reply's audio not sent yet is dropped; the seconds of it the satellite
        still plays (at most `LEAD_S`)."""
        self._paced = collections.deque(item for item in self._paced if not item[1])
        return max(0.0, self._heard_at - time.monotonic())

    def reply_finished(self) -> None:
        from wyoming.audio import AudioStop

        if self._reply_s is None:
            return
        seconds, self._reply_s = self._reply_s, None
        self._send(AudioStop().event())
        task = asyncio.ensure_future(self._await_played(seconds))
        self.link._tasks.add(task)
        task.add_done_callback(self.link._tasks.discard)

    def _send(self, event: Event, seconds: float = 0.0) -> None:
        """Queue one of the reply's events; audio goes out at the pace it will be heard."""
        self._paced.append((event, seconds))
        self._more.set()
        if self._pacer is None:
            self._pacer = asyncio.ensure_future(self._pace())
            self.link._tasks.add(self._pacer)  # stopped with the connection

    async def _pace(self) -> None:
        while True:
            await self._more.wait()
            self._more.clear()
            while self._paced:
                event, seconds = self._paced[0]
                ahead = self._heard_at - time.monotonic()
                if seconds and ahead > LEAD_S:
                    await asyncio.sleep(ahead - LEAD_S)
                    continue  # a barge-in may have dropped it meanwhile
                self._paced.popleft()
                self.link.post(event)
                if seconds:
                    self._heard_at = max(time.monotonic(), self._heard_at) + seconds

    async def _await_played(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self.played.wait(), seconds + PLAYED_SLACK_S)
            log.debug("satellite %s played the reply", self.link.name)
        except TimeoutError:  # wyoming-satellite 1.0.0 never says it: expected
            log.debug("satellite %s did not say `played`", self.link.name)


class SatelliteLinks:
    """Every satellite given to `serve --satellite`, each its own session."""

    def __init__(
        self,
        app: Any,
        services: Services,
        endpoints: list[Endpoint],
        on_connection: OnConnection | None = None,
    ):
        from assistant.voice.pipeline import VoicePipeline

        def open_session(session_id: str, link: SatelliteLink) -> Any:
            # The satellite's name is its room: its timers ring there, and it reaches only those.
            room = link.name.strip() or session_id
            session = app.open_session(session_id=session_id, output=link, room=room)
            session.output = link  # one of that id still open (an earlier link) speaks here now
            return session

        transcriber, voices = services.transcriber, services.voices
        pipeline = VoicePipeline(
            app,
            dictation=transcriber.dictation if transcriber is not None else None,
            synthesizer=voices.pick(None) if voices is not None else None,
        )
        self.links = [
            SatelliteLink(endpoint, services, pipeline, open_session, on_connection)
            for endpoint in endpoints
        ]

    async def run(self) -> None:
        await asyncio.gather(*(link.run() for link in self.links))
