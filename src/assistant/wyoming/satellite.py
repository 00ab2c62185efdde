"""`assistant satellite`: a microphone and a speaker in a room, served over Wyoming.

The satellite listens for its wake word itself (microWakeWord) and, once it is
heard, streams the microphone to whoever runs its pipeline (Home Assistant, or
`assistant serve --satellite`) until the transcript comes back; then it plays
the reply and says `played` once it has been heard (on a speaker: when the last
of it has played, not when playback starts). From the reply's first audio until
then the wake word is not listened for, so the satellite does not wake on its
own voice. Fed a file instead of a microphone, it streams the file as one
request (no wake word needed unless asked for).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from wyoming.event import Event, async_write_event

from assistant import __version__
from assistant.audio.sinks import AudioSink
from assistant.audio.wakeword import WakeWordDetector
from assistant.wyoming.server import AllowList, Endpoint
from assistant.wyoming.wake import WakeModel
from assistant.wyoming.wire import (
    SAMPLE_RATE_HZ,
    AudioStream,
    Limits,
    ProtocolError,
    read_event,
)

log = logging.getLogger(__name__)

IDLE, STREAMING, ANSWERING = "idle", "streaming", "answering"

OnEvent = Callable[[str, dict[str, Any]], None]
"""Told what happens ("wake", "transcript", "synthesize", "played", "timer-started"...)."""


class Satellite:
    """The satellite's state and its one controlling connection."""

    def __init__(
        self,
        name: str,
        frames: Any,
        sink: AudioSink,
        wake: WakeModel | None,
        limits: Limits | None = None,
        on_event: OnEvent | None = None,
        area: str | None = None,
        one_request: bool = False,
    ):
        """`frames`: an iterable of 16 kHz int16 frames (a source's `frames()`); `wake` None streams
        from the start, without a wake word; `one_request`: `done` is set once the request is
        answered and any timer it set has finished (for files)."""
        self.name = name
        self.frames = frames
        self.sink = sink
        self.wake = wake
        self.limits = limits or Limits()
        self.on_event = on_event or (lambda _kind, _data: None)
        self.area = area
        self.one_request = one_request
        self.state = IDLE
        self.timers: set[str] = set()
        self.replies = 0
        self.done = asyncio.Event()
        self._detector: WakeWordDetector | None = wake.detector() if wake else None
        self._writer: asyncio.StreamWriter | None = None
        self._write_lock = asyncio.Lock()
        self._running = False
        self._source_done = False
        self._reply: AudioStream | None = None
        self._heard_at = 0.0
        """`time.monotonic()` when what was given to a real-time speaker will have been heard."""
        self._playing: set[asyncio.Task[None]] = set()
        self._mic: asyncio.Task[None] | None = None
        self._connection: asyncio.Task[Any] | None = None
        self._server: asyncio.AbstractServer | None = None

    # -- the server side: one controller ---------------------------------------------------

    async def start(self, endpoint: Endpoint, allow: AllowList | None = None) -> Endpoint:
        """Listen for the controller (Home Assistant, or `assistant serve --satellite`)."""
        self._allow = allow or AllowList(["127.0.0.1", "::1"])
        limit = self.limits.max_event_bytes + 1
        self._server = await asyncio.start_server(
            self._accept, host=endpoint.host, port=endpoint.port, limit=limit
        )
        return Endpoint(host=endpoint.host, port=self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        tasks = [t for t in (self._mic, self._connection, *self._playing) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self._allow.allows(writer.get_extra_info("peername")):
            writer.close()
            return
        if self._writer is not None:  # a new controller replaces the old one
            self._writer.close()
        self._writer = writer
        self._connection = asyncio.current_task()
        peer = writer.get_extra_info("peername")
        self.on_event("connected", {"server": str(peer[0]) if isinstance(peer, tuple) else "local"})
        try:
            while True:
                try:
                    event = await read_event(reader, self.limits)
                except TimeoutError:
                    continue  # a controller may be quiet for hours between requests
                if event is None:
                    break
                await self._handle(event)
        except (ProtocolError, ConnectionError, OSError) as error:
            log.info("controller dropped: %s", error)
        except asyncio.CancelledError:
            pass  # stopped: the connection task ends here (asyncio's callback reports re-raises)
        finally:
            if self._writer is writer:
                self._writer = None
                self._running = False
                self.state = IDLE
                self.on_event("disconnected", {})
            writer.close()

    async def send(self, event: Event) -> None:
        if self._writer is None:
            return
        async with self._write_lock:
            await async_write_event(event, self._writer)

    async def _handle(self, event: Event) -> None:
        kind, data = event.type, event.data
        if kind == "describe":
            await self.send(self.info().event())
        elif kind == "run-satellite":
            self._running = True
            if self._mic is None:
                self._mic = asyncio.create_task(self._listen())
        elif kind == "pause-satellite":
            self._running = False
            await self._stop_streaming()
        elif kind == "ping":
            from wyoming.ping import Pong

            await self.send(Pong(text=data.get("text")).event())
        elif kind in ("transcript", "error"):
            await self._stop_streaming()
            if (kind == "error" or not data.get("text")) and self.state == ANSWERING:
                self.state = IDLE  # nothing was heard: no reply comes, back to the wake word
            self.on_event(kind, data)
            if kind == "error" and self.one_request and self._source_done and not self.timers:
                self.done.set()  # the file's request failed: nothing more will come
        elif kind == "audio-start":
            self._reply = AudioStream(self.limits.max_audio_s, keep=not self._realtime)
            if self.state == IDLE:
                self.state = ANSWERING  # no wake word while the reply plays: it must not wake us
            self.on_event("reply-audio", {})
        elif kind == "audio-chunk" and self._reply is not None:
            samples = self._reply.convert(data, event.payload or b"")
            if self._realtime:  # played as it comes: a reply is sent sentence by sentence
                await self._give_speaker(samples)
        elif kind == "audio-stop" and self._reply is not None:
            reply, self._reply = self._reply, None
            if not self._realtime:
                await self._give_speaker(reply.samples())
            task = asyncio.create_task(self._played(reply.duration_s))
            self._playing.add(task)
            task.add_done_callback(self._playing.discard)
        elif kind == "timer-started":
            self.timers.add(str(data.get("id")))
            self.on_event(kind, data)
        elif kind in ("timer-finished", "timer-cancelled"):
            self.timers.discard(str(data.get("id")))
            self.on_event(kind, data)
        elif kind in (
            "transcribe",
            "synthesize",
            "timer-updated",
            "voice-started",
            "voice-stopped",
        ):
            self.on_event(kind, data)

    @property
    def _realtime(self) -> bool:
        """The sink plays in real time (a speaker), rather than writing at once (a file)."""
        return bool(getattr(self.sink, "realtime", False))

    async def _give_speaker(self, samples: np.ndarray) -> None:
        if not len(samples):
            return
        await asyncio.to_thread(self.sink.play, samples, SAMPLE_RATE_HZ)
        if self._realtime:
            start = max(time.monotonic(), self._heard_at)
            self._heard_at = start + len(samples) / SAMPLE_RATE_HZ

    async def _played(self, seconds: float) -> None:
        """Once the reply has been heard: `played`, and the wake word is listened for again."""
        from wyoming.snd import Played

        if self._realtime:
            await asyncio.sleep(max(0.0, self._heard_at - time.monotonic()))
        self.replies += 1
        await self.send(Played().event())
        self.on_event("played", {"seconds": round(seconds, 2)})
        if self._reply is not None or time.monotonic() < self._heard_at:
            return  # another reply has begun: its own `played` ends it
        if self._detector is not None:
            self._detector.reset()
        if self.state == ANSWERING:
            self.state = IDLE
        if self.one_request and self._source_done and not self.timers:
            self.done.set()

    # -- the microphone ----------------------------------------------------------------------

    async def _listen(self) -> None:
        """Read the frames in a thread; hear the wake word; stream what follows it."""
        loop = asyncio.get_running_loop()
        frames: asyncio.Queue[np.ndarray | None] = asyncio.Queue()

        def read() -> None:
            try:
                for frame in self.frames:
                    loop.call_soon_threadsafe(frames.put_nowait, frame)
            finally:
                loop.call_soon_threadsafe(frames.put_nowait, None)

        threading.Thread(target=read, daemon=True, name=f"satellite {self.name} mic").start()
        while (frame := await frames.get()) is not None:
            await self._frame(frame)
        self._source_done = True
        await self._stop_streaming()

    async def _frame(self, frame: np.ndarray) -> None:
        from wyoming.audio import AudioChunk

        if not self._running or self._writer is None:
            return
        if self.state == IDLE:
            if self._detector is None:
                if self.replies or self.one_request and self._source_done:
                    return  # a file without a wake word: one request
                await self._start_streaming()
            elif await asyncio.to_thread(self._detector.process, frame) is not None:
                await self._start_streaming()
                return
        if self.state == STREAMING:
            data = np.asarray(frame, dtype="<i2").tobytes()
            await self.send(AudioChunk(SAMPLE_RATE_HZ, 2, 1, data).event())

    async def _start_streaming(self) -> None:
        from wyoming.audio import AudioStart
        from wyoming.pipeline import PipelineStage, RunPipeline
        from wyoming.wake import Detection

        name = self.wake.name if self.wake else None
        if name is not None:
            await self.send(Detection(name=name).event())
        self.on_event("wake", {"name": name})
        await self.send(
            RunPipeline(PipelineStage.ASR, PipelineStage.TTS, wake_word_name=name).event()
        )
        await self.send(AudioStart(SAMPLE_RATE_HZ, 2, 1).event())
        self.state = STREAMING

    async def _stop_streaming(self) -> None:
        from wyoming.audio import AudioStop

        if self.state == STREAMING:
            self.state = ANSWERING
            await self.send(AudioStop().event())

    def info(self) -> Any:
        from wyoming.audio import AudioFormat
        from wyoming.info import Attribution, Info, MicProgram, SndProgram
        from wyoming.info import Satellite as SatelliteInfo

        from assistant.wyoming.info import MICRO_WAKE_WORD, PROJECT, describe

        info: Info = describe(None, None, [self.wake] if self.wake else [], False)
        fmt = AudioFormat(rate=SAMPLE_RATE_HZ, width=2, channels=1)
        common: dict[str, Any] = {"installed": True, "version": __version__}
        info.mic = [MicProgram(name="microphone", attribution=PROJECT, description="microphone", mic_format=fmt, **common)]  # fmt: skip
        info.snd = [SndProgram(name="speaker", attribution=PROJECT, description="speaker", snd_format=fmt, **common)]  # fmt: skip
        attribution: Attribution = MICRO_WAKE_WORD if self.wake else PROJECT
        info.satellite = SatelliteInfo(
            name=self.name,
            attribution=attribution,
            description=f"assistant satellite {self.name}",
            area=self.area,
            has_vad=False,
            active_wake_words=[self.wake.name] if self.wake else [],
            max_active_wake_words=1,
            supports_trigger=False,
            **common,
        )
        return info
