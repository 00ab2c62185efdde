"""`assistant serve --satellite`: connect to satellites and run the voice pipeline for each.

The events go in the order Home Assistant's `assist_satellite` uses: the server
sends `run-satellite`; the satellite hears its wake word and sends
`run-pipeline`, then its microphone's audio; the server hears the end of speech,
sends `transcribe`... `transcript`, answers in the satellite's own session,
sends `synthesize` and the reply's audio, and waits for `played`. A timer set
from a satellite is reported to it (`timer-started`, `timer-finished`), and
whatever a job set from a satellite says when it comes due is spoken there.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from wyoming.event import Event, async_write_event

from assistant.audio.listener import Listener
from assistant.config import ListenerSettings
from assistant.stt.base import Transcript
from assistant.wyoming.asr import SlotEngine, Transcriber
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


@dataclass
class PipelineRun:
    """One request from a satellite: its audio, cut at the end of speech in a worker thread."""

    listener: Listener
    audio: AudioStream
    frames: queue.Queue[np.ndarray | None] = field(default_factory=queue.Queue)
    pending: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int16))
    ended_at: float | None = None
    """`time.perf_counter()` when the end of speech was heard (for the latency figures)."""

    def feed(self, data: dict[str, Any], payload: bytes) -> None:
        self.pending = np.concatenate([self.pending, self.audio.convert(data, payload)])
        while len(self.pending) >= FRAME_SAMPLES:
            self.frames.put(self.pending[:FRAME_SAMPLES])
            self.pending = self.pending[FRAME_SAMPLES:]

    def end(self) -> None:
        self.frames.put(None)

    def transcript(self, transcriber: Transcriber) -> Transcript | None:
        """The first utterance's transcript (blocking), decoded while it was heard when the
        grammar engine is free; None when the audio ended without speech."""
        from assistant.voice.follower import Follower

        follower = Follower(SlotEngine(transcriber))  # type: ignore[arg-type]
        self.listener.observer = follower
        try:
            for utterance in self.listener.utterances(self._frames()):
                self.ended_at = time.perf_counter()
                session = follower.take(utterance)
                if session is None:
                    return transcriber.transcribe(utterance.audio)
                return session.finish(utterance.audio)  # type: ignore[no-any-return]
            return None
        finally:
            follower.close()
            self.listener.observer = None

    def _frames(self) -> Iterator[np.ndarray]:
        while (frame := self.frames.get()) is not None:
            yield frame


class SatelliteLink:
    """One satellite: the connection, kept up, and the pipeline run for each of its requests."""

    def __init__(
        self,
        endpoint: Endpoint,
        services: Services,
        listener_settings: ListenerSettings,
        open_session: Callable[[str, SatelliteLink], Any],
    ):
        """`open_session(session_id, output)`: `Assistant.open_session`; the link is the
        session's output, so what a job set from this satellite says comes back here."""
        self.endpoint = endpoint
        self.services = services
        self.name = str(endpoint)
        self.listener = Listener(listener_settings)
        self.open_session = open_session
        self.timers: set[str] = set()
        """Ids of the timers set from this satellite and not finished."""
        self.timings: list[float] = []
        """Seconds from the end of speech to the first reply audio sent, per request."""
        self.connected = asyncio.Event()
        self._writer: asyncio.StreamWriter | None = None
        self._write_lock = asyncio.Lock()
        self._run: PipelineRun | None = None
        self._task: asyncio.Task[None] | None = None
        self._played = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._session: Any = None

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
                    self._writer = None
                    self._stop_run()
                await asyncio.sleep(RECONNECT_S)
        finally:  # the session outlives reconnections, not the link
            if self._session is not None:
                self._session.close()
                self._session = None

    async def send(self, event: Event) -> None:
        if self._writer is None:
            raise ConnectionError("the satellite is not connected")
        async with self._write_lock:
            await async_write_event(event, self._writer)

    async def _serve(self) -> None:
        from wyoming.info import Describe
        from wyoming.satellite import RunSatellite

        assert self.endpoint.host is not None and self.endpoint.port is not None
        reader, self._writer = await asyncio.open_connection(
            self.endpoint.host, self.endpoint.port, limit=self.services.limits.max_event_bytes + 1
        )
        try:
            await self.send(RunSatellite().event())
            await self.send(Describe().event())
            self.connected.set()
            while True:
                try:
                    event = await read_event(reader, self.services.limits)
                except TimeoutError:
                    from wyoming.ping import Ping

                    await self.send(Ping().event())  # idle between requests: still there?
                    continue
                if event is None:
                    raise ConnectionError("the satellite closed the connection")
                await self._dispatch(event)
        finally:
            self._writer.close()

    async def _dispatch(self, event: Event) -> None:
        kind = event.type
        if kind == "info":
            satellite = event.data.get("satellite") or {}
            if isinstance(satellite, dict) and isinstance(satellite.get("name"), str):
                self.name = satellite["name"]
        elif kind == "run-pipeline":
            await self._start_run()
        elif kind == "audio-chunk" and self._run is not None:
            try:
                self._run.feed(event.data, event.payload or b"")
            except ProtocolError as error:
                from wyoming.error import Error

                self._stop_run()
                await self.send(Error(text=str(error), code="bad-audio").event())
        elif kind == "audio-stop" and self._run is not None:
            self._run.end()
        elif kind == "played":
            self._played.set()
        elif kind == "ping":
            from wyoming.ping import Pong

            await self.send(Pong(text=event.data.get("text")).event())
        else:
            log.debug("satellite %s: %s", self.name, kind)

    async def _start_run(self) -> None:
        from wyoming.asr import Transcribe

        self._stop_run()
        run = PipelineRun(self.listener, AudioStream(self.services.limits.max_audio_s, keep=False))
        self._run = run
        self._task = asyncio.create_task(self._pipeline(run))
        await self.send(Transcribe(language=self._language).event())

    def _stop_run(self) -> None:
        if self._run is not None:
            self._run.end()
        self._run = None
        if self._task is not None:
            self._task.cancel()
            self._task = None

    @property
    def _language(self) -> str:
        transcriber = self.services.transcriber
        return transcriber.language if transcriber is not None else "en"

    async def _pipeline(self, run: PipelineRun) -> None:
        from wyoming.asr import Transcript as TranscriptEvent

        try:
            transcriber = self.services.transcriber
            heard = await asyncio.to_thread(run.transcript, transcriber) if transcriber else None
            if self._run is run:
                self._run = None  # the rest of the satellite's audio is not needed
            if heard is None:
                await self.send(TranscriptEvent(text="").event())
                return
            await self.send(TranscriptEvent(text=heard.text, language=self._language).event())
            if self._session is None:
                self._session = self.open_session(self.session_id, self)
            turn = await asyncio.to_thread(self._session.handle, heard.text)
            await self._report_timers(turn)
            await self.speak(turn.reply.spoken, run.ended_at)
        except asyncio.CancelledError:
            raise
        except (ConnectionError, OSError):
            log.info("satellite %s left during its request", self.name)
        # An engine boundary: the satellite hears of the failure, and the link goes on.
        except Exception as error:
            from wyoming.error import Error

            log.exception("satellite %s: the request failed", self.name)
            await self.send(Error(text=f"the request failed: {error}", code="failed").event())

    async def _report_timers(self, turn: Any) -> None:
        """`timer-started` / `timer-cancelled` for what the turn did to this satellite's timers."""
        from wyoming.timer import TimerCancelled, TimerStarted

        data = turn.reply.data or {}
        job = data.get("job")
        if turn.action == "set_timer" and isinstance(job, dict) and job.get("id"):
            self.timers.add(str(job["id"]))
            length = float((job.get("payload") or {}).get("length_s") or 0)
            event = TimerStarted(id=str(job["id"]), total_seconds=round(length), name=job.get("name"))
            await self.send(event.event())
        for job_id in data.get("cancelled") or []:
            if str(job_id) in self.timers:
                self.timers.discard(str(job_id))
                await self.send(TimerCancelled(id=str(job_id)).event())

    async def speak(self, text: str, ended_at: float | None = None) -> None:
        """`synthesize`, the audio sentence by sentence, then wait (a while) for `played`."""
        from wyoming.audio import AudioStop
        from wyoming.tts import Synthesize

        from assistant.wyoming.tts import sentences

        voices = self.services.voices
        if not text or voices is None:
            return
        await self.send(Synthesize(text=text).event())
        self._played.clear()
        duration_s = 0.0
        async for speech in sentences(voices.pick(None), text):
            events = speech_events(speech.samples, speech.sample_rate_hz)[:-1]
            if duration_s:
                events = events[1:]  # one audio-start in all
            elif ended_at is not None:
                self.timings.append(time.perf_counter() - ended_at)
            for event in events:
                await self.send(event)
            duration_s += speech.duration_s
        if not duration_s:
            return
        await self.send(AudioStop().event())
        try:
            await asyncio.wait_for(self._played.wait(), duration_s + PLAYED_SLACK_S)
        except TimeoutError:
            log.info("satellite %s did not say `played`", self.name)

    def emit(self, event: Any) -> None:
        """The session's output (any thread): a notification is said here; turns are already."""
        from assistant.notifications import Notification

        if isinstance(event, Notification) and self._loop is not None:
            asyncio.run_coroutine_threadsafe(self._announce(event), self._loop)

    async def _announce(self, notification: Any) -> None:
        from wyoming.timer import TimerFinished

        try:
            job_id = str((notification.data or {}).get("job_id") or "")
            if job_id in self.timers:
                self.timers.discard(job_id)
                await self.send(TimerFinished(id=job_id).event())
            await self.speak(notification.spoken)
        except (ConnectionError, OSError):
            log.warning("satellite %s is gone: %r not said", self.name, notification.spoken)


class SatelliteLinks:
    """Every satellite given to `serve --satellite`, each its own session."""

    def __init__(self, app: Any, services: Services, endpoints: list[Endpoint]):
        def open_session(session_id: str, link: SatelliteLink) -> Any:
            # The satellite's name is its room: its timers ring there, and it reaches only those.
            room = link.name.strip() or session_id
            session = app.open_session(session_id=session_id, output=link, room=room)
            session.output = link  # one of that id still open (an earlier link) speaks here now
            return session

        self.links = [
            SatelliteLink(endpoint, services, app.settings.listener, open_session)
            for endpoint in endpoints
        ]

    async def run(self) -> None:
        await asyncio.gather(*(link.run() for link in self.links))
