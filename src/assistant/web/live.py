"""One WebSocket, one session: typed text and microphone audio in, the session's events and speech out.

A thin adapter like every other way in: text goes to `Session.handle`, audio (16 kHz int16
mono, binary messages) is fed to a `VoiceSession` from the shared `VoicePipeline`, which does
wake word, end of speech and recognition exactly as for `listen`. Out go the events of
`assistant.events` as JSON text messages (`to_json()`, the `--json` objects), and speech as
an `{"event": "audio", "sample_rate_hz": N}` message followed by one binary message of int16
samples per sentence.

Client messages (JSON text):
- `{"type": "text", "text": "..."}` a typed turn;
- `{"type": "voice", "mode": "hands_free" | "push_to_talk" | "off"}` start or stop listening;
- `{"type": "talk", "on": true | false}` the push-to-talk button held or released;
- `{"type": "stop"}` stop speaking, and stop the room's ringing alarms.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from typing import Any

import numpy as np

from assistant.events import ErrorEvent, Progress, TurnEvent
from assistant.notifications import Notification
from assistant.text import clean
from assistant.tts.base import Speech
from assistant.web.guard import Limits, RateLimiter

log = logging.getLogger(__name__)

SAMPLE_RATE_HZ = 16000
FRAME_SAMPLES = 480
"""30 ms at 16 kHz: what the listener and the wake word model take."""
RELEASE_SILENCE_S = 1.0
"""Push-to-talk: quiet fed after the button is released, so the utterance ends at once."""
OUTBOX_SIZE = 256
"""Messages waiting for a slow client; beyond it the client is too slow and is dropped."""


class BrowserSession:
    """The session of one WebSocket; `run(receive)` until the client goes."""

    def __init__(self, app: Any, pipeline: Any, websocket: Any, room: str | None, limits: Limits):
        self.app = app
        self.pipeline = pipeline
        self.websocket = websocket
        self.room = room
        self.limits = limits
        self.loop = asyncio.get_running_loop()
        self.outbox: asyncio.Queue[str | bytes | None] = asyncio.Queue(OUTBOX_SIZE)
        self.session = app.open_session(output=self, room=room)
        self.voice: Any = None
        self.voice_task: asyncio.Task[None] | None = None
        self.mode = "off"
        self.talking = False
        self._fed_samples = 0
        """Samples given to the voice session: its clock, as frames are processed."""
        self._open_until_s = -1.0
        """Push-to-talk: the gate stays open until this point of the stream (the release's quiet)."""
        self._held_from_s = float("inf")
        """Push-to-talk: where the stream was when the button went down; what came before is
        not heard, however far behind the session is when it gets there."""
        self._pending = np.zeros(0, np.int16)
        self._voice_turn = threading.local()
        self._messages = RateLimiter(limits.max_messages_per_s)
        self._audio = RateLimiter(limits.max_audio_rate * SAMPLE_RATE_HZ)
        self._closed = False
        self._turns: set[asyncio.Task[None]] = set()
        self._closing: asyncio.Future[None] | None = None

    # -- out: any thread -------------------------------------------------------------

    def _send(self, message: str | bytes) -> None:
        def put() -> None:
            try:
                self.outbox.put_nowait(message)
            except asyncio.QueueFull:
                log.warning("web session %s: the client reads too slowly; closing", self.session.id)
                self._closed = True
                self._closing = asyncio.ensure_future(self.websocket.close(1008, "reading too slowly"))

        if self._closed:
            return
        if _on_loop(self.loop):
            put()
        else:
            try:
                self.loop.call_soon_threadsafe(put)
            except RuntimeError:  # the loop has closed: the client is gone
                pass

    def send_json(self, value: dict[str, Any]) -> None:
        self._send(json.dumps(value, ensure_ascii=False, default=str))

    def emit(self, event: Any) -> None:
        """The session's and the voice session's events (any thread)."""
        if isinstance(event, TurnEvent) and getattr(self._voice_turn, "active", False):
            return  # the voice session emits this turn itself, with what was heard
        self.send_json(event.to_json())
        voice = self.voice
        if voice is not None and not voice.done:
            if isinstance(event, Notification):
                voice.announce(event.spoken, wait_for_user=True, rings=bool(event.data.get("rings")))
            elif isinstance(event, Progress) and getattr(self._voice_turn, "active", False):
                voice.announce(event.text)

    def play(self, speech: Speech) -> float:
        """A sentence of the reply: played by the page, heard after its length in seconds."""
        self.send_json({"event": "audio", "sample_rate_hz": speech.sample_rate_hz})
        self._send(np.asarray(speech.samples, dtype="<i2").tobytes())
        return speech.duration_s

    def stop(self) -> None:
        """Barge-in: the page drops what it was playing."""
        self.send_json({"event": "audio_stop"})

    # -- in --------------------------------------------------------------------------

    async def run(self) -> None:
        writer = asyncio.create_task(self._write())
        self.send_json({"event": "hello", "session": self.session.id, "room": self.room})
        try:
            while not self._closed:
                message = await self.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                if message.get("bytes") is not None:
                    self._audio_in(message["bytes"])
                elif message.get("text") is not None:
                    await self._text_in(message["text"])
        finally:
            self._closed = True
            await self._stop_voice()
            self.session.close()
            writer.cancel()

    async def _write(self) -> None:
        while (message := await self.outbox.get()) is not None:
            if isinstance(message, bytes):
                await self.websocket.send_bytes(message)
            else:
                await self.websocket.send_text(message)
        await self.websocket.close(1008)

    def _error(self, message: str, code: str) -> None:
        self.send_json(ErrorEvent(message=message, code=code).to_json())

    async def _text_in(self, raw: str) -> None:
        if len(raw) > self.limits.max_message_bytes:
            return self._error("message too long", "too_long")
        if not self._messages.allow():
            return self._error("too many messages; slow down", "rate_limited")
        try:
            message = json.loads(raw)
        except ValueError:
            return self._error("not JSON", "bad_input")
        if not isinstance(message, dict):
            return self._error("a message is a JSON object with a type", "bad_input")
        handler = self._handlers.get(str(message.get("type")))
        if handler is None:
            return self._error(f"unknown message type {message.get('type')!r}", "bad_input")
        await handler(self, message)

    async def _typed(self, message: dict[str, Any]) -> None:
        text = message.get("text")
        if not isinstance(text, str) or not text.strip():
            return self._error("text: give what to ask", "bad_input")
        if len(text) > self.limits.max_text_chars:
            return self._error(f"text longer than {self.limits.max_text_chars} characters", "too_long")
        # Not awaited: the socket keeps reading ("stop", audio) while the turn runs.
        task = asyncio.create_task(asyncio.to_thread(self._handle, clean(text)))
        self._turns.add(task)
        task.add_done_callback(self._turns.discard)

    def _handle(self, text: str) -> None:
        try:
            self.session.handle(text)
        except Exception as error:  # a way in's boundary: the client hears what failed
            log.exception("web session %s: turn failed", self.session.id)
            self._error(f"the request failed: {error}", "internal")

    async def _set_voice(self, message: dict[str, Any]) -> None:
        mode = message.get("mode")
        if mode not in ("hands_free", "push_to_talk", "off"):
            return self._error('mode: "hands_free", "push_to_talk" or "off"', "bad_input")
        await self._stop_voice()
        self.mode = str(mode)
        if mode != "off":
            self._fed_samples, self._open_until_s, self._held_from_s = 0, -1.0, float("inf")
            self.voice = await asyncio.to_thread(
                self.pipeline.open_session,
                self,
                wake_word=mode == "hands_free",
                conversation=_VoiceConversation(self.session, self._voice_turn),
                gate=self._held if mode == "push_to_talk" else None,
            )
            self.voice_task = asyncio.create_task(self._run_voice(self.voice))
        self.send_json({"event": "voice", "mode": self.mode})

    async def _run_voice(self, voice: Any) -> None:
        try:
            await voice.run()
        except Exception:
            log.exception("web session %s: the voice session failed", self.session.id)
            self._error("listening stopped after an error", "audio")

    async def _stop_voice(self) -> None:
        voice, task = self.voice, self.voice_task
        self.voice, self.voice_task, self.mode = None, None, "off"
        if voice is not None and task is not None:
            voice.end()
            try:
                await asyncio.wait_for(task, 10)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()

    async def _talk(self, message: dict[str, Any]) -> None:
        on = bool(message.get("on"))
        if on and not self.talking:
            self._held_from_s = self._fed_samples / SAMPLE_RATE_HZ
        if self.talking and not on and self.voice is not None:
            # The utterance ends at the release: quiet follows it, and the gate stays open
            # until that quiet has been heard (the gate is asked when a frame is processed).
            self._feed(np.zeros(int(RELEASE_SILENCE_S * SAMPLE_RATE_HZ), np.int16))
            self._open_until_s = self._fed_samples / SAMPLE_RATE_HZ
        self.talking = on
        if on:
            self._interrupt()

    def _held(self) -> bool:
        """Push-to-talk's gate: frames are heard while the button is held (and its release's quiet).
        The microphone streams all along, so the listener measures the room's noise meanwhile.
        Judged by stream position, not by when a frame is processed: a session running behind
        would otherwise hear the words said before the press ("...Jarvis," taken for the wake
        word alone, answered "Yes?", and the command lost)."""
        voice = self.voice
        if voice is None or voice.now_s <= self._held_from_s:
            return False
        return self.talking or voice.now_s <= self._open_until_s

    def _feed(self, samples: np.ndarray) -> None:
        assert self.voice is not None
        for start in range(0, len(samples), FRAME_SAMPLES):
            self.voice.feed(samples[start : start + FRAME_SAMPLES])
        self._fed_samples += len(samples)

    def _interrupt(self) -> None:
        """The reply stops here and in the page, and the listener hears again at once."""
        if self.voice is not None:
            self.voice.interrupt()
        else:
            self.stop()

    async def _stop(self, message: dict[str, Any]) -> None:
        self._interrupt()
        scheduler = self.app.services()["scheduler"]
        stopped = await asyncio.to_thread(scheduler.acknowledge, None, None, self.room)
        self.send_json({"event": "stopped", "alarms": stopped})

    _handlers = {"text": _typed, "voice": _set_voice, "talk": _talk, "stop": _stop}

    def _audio_in(self, data: bytes) -> None:
        if self.voice is None:
            return  # nobody listening: dropped
        if len(data) % 2 or len(data) > self.limits.max_message_bytes:
            return self._error("audio: int16 samples, at most 64 KiB a message", "bad_input")
        if not self._audio.allow(len(data) // 2):
            return self._error("audio faster than real time; dropped", "rate_limited")
        samples = np.concatenate([self._pending, np.frombuffer(data, dtype="<i2").astype(np.int16)])
        whole = len(samples) - len(samples) % FRAME_SAMPLES
        self._feed(samples[:whole])
        self._pending = samples[whole:]


class _VoiceConversation:
    """The tab's session as the voice session's conversation: its turns are marked as spoken,
    so that the voice session, not the session, emits them (with the transcript)."""

    def __init__(self, session: Any, marker: threading.local):
        self._session = session
        self._marker = marker

    @property
    def expecting_reply(self) -> bool:
        return bool(self._session.expecting_reply)

    def handle(self, text: str) -> Any:
        self._marker.active = True
        try:
            return self._session.handle(text)
        finally:
            self._marker.active = False

    def answers_ring(self, text: str) -> bool:
        return bool(self._session.answers_ring(text))


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
