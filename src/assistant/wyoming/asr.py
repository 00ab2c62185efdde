"""Speech to text over Wyoming: `transcribe`, then `audio-start`/`-chunk`/`-stop`, answered by `transcript`.

Audio comes in whatever rate, width and channels the client announces and is
converted to the 16 kHz mono the recognisers take. One recogniser serves every
connection, one utterance at a time. When the command grammar's engine can decode
as audio arrives (pocketsphinx), one request at a time is followed while its audio
comes in, so that at `audio-stop` little is left to decode.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import numpy as np
from wyoming.event import Event

from assistant.stt.base import Recognizer, StreamingSession, Transcript
from assistant.wyoming.wire import SAMPLE_RATE_HZ, AudioStream, Limits

log = logging.getLogger(__name__)


class Transcriber:
    """The shared recogniser (the command grammar backed by Whisper, as the voice loop uses)."""

    def __init__(self, recognizer: Recognizer, language: str = "en"):
        from assistant.voice.follower import streaming_engine

        self.recognizer = recognizer
        self.language = language
        self._lock = threading.Lock()
        self._engine = streaming_engine(recognizer)
        self._streaming = threading.Lock()
        """The grammar engine follows one utterance at a time (a new one cancels the last)."""

    def engine_name(self) -> str:
        """ "pocketsphinx+whisper": the grammar engine, then the dictation engine behind it."""
        parts = [
            getattr(self.recognizer, "grammar", None),
            getattr(self.recognizer, "dictation", None),
        ]
        names = [part.name for part in parts if part is not None]
        return "+".join(names) or self.recognizer.name

    def warm(self) -> None:
        """Load the models now (a moment of silence), not on the first request."""
        self.transcribe(np.zeros(SAMPLE_RATE_HZ // 2, np.int16))

    def transcribe(self, audio: np.ndarray) -> Transcript:
        with self._lock:
            return self.recognizer.transcribe(audio)

    @property
    def following(self) -> bool:
        """A request is being decoded as its audio arrives."""
        return self._streaming.locked()

    def open_stream(self) -> StreamingSession | None:
        """A session that decodes as audio arrives, or None (no such engine, or it is busy)."""
        if self._engine is None or not self._streaming.acquire(blocking=False):
            return None
        try:
            return self._engine.open_session()
        except BaseException:
            self._streaming.release()
            raise

    def finish_stream(self, stream: StreamingSession, audio: np.ndarray) -> Transcript:
        """What `transcribe(audio)` says, from the session that followed `audio`."""
        started = time.perf_counter()
        # Under the lock: finishing may fall back to the engine's batch decoders, which
        # `transcribe` uses too.
        with self._lock:
            try:
                heard = stream.finish(audio)
            finally:
                self._streaming.release()
            decide = getattr(self.recognizer, "decide", None)
            if decide is None:
                return heard
            return decide(audio, heard, started)  # type: ignore[no-any-return]

    def cancel_stream(self, stream: StreamingSession) -> None:
        try:
            stream.cancel()
        finally:
            self._streaming.release()


class Transcription:
    """One `transcribe` request on one connection."""

    def __init__(self, transcriber: Transcriber, limits: Limits, language: str | None = None):
        self.transcriber = transcriber
        self.language = language or transcriber.language
        self.audio = AudioStream(limits.max_audio_s)
        self.stream = transcriber.open_stream()

    def chunk(self, data: dict[str, object], payload: bytes) -> None:
        samples = self.audio.convert(data, payload)
        if self.stream is not None:
            self.stream.feed(samples)

    async def finish(self) -> Event:
        """The `transcript` for everything heard."""
        from wyoming.asr import Transcript as TranscriptEvent

        samples = self.audio.samples()
        stream, self.stream = self.stream, None
        if stream is not None:
            heard = await asyncio.to_thread(self.transcriber.finish_stream, stream, samples)
        else:
            heard = await asyncio.to_thread(self.transcriber.transcribe, samples)
        log.info("transcribed %.1f s: %r", self.audio.duration_s, heard.text)
        return TranscriptEvent(text=heard.text, language=self.language).event()

    def cancel(self) -> None:
        """The request is abandoned (an error, the client gone): stop following it."""
        stream, self.stream = self.stream, None
        if stream is not None:
            self.transcriber.cancel_stream(stream)


class SlotSession:
    """A streaming session holding the transcriber's slot, or an empty stand-in when it is busy
    (the listener's follower opens one per utterance: `Transcriber.follower_engine`)."""

    def __init__(self, transcriber: Transcriber):
        self.transcriber = transcriber
        self.stream = transcriber.open_stream()

    def feed(self, frame: np.ndarray) -> None:
        if self.stream is not None:
            self.stream.feed(frame)

    def finish(self, audio: np.ndarray) -> Transcript:
        stream, self.stream = self.stream, None
        if stream is None:
            return self.transcriber.transcribe(audio)
        return self.transcriber.finish_stream(stream, audio)

    def cancel(self) -> None:
        stream, self.stream = self.stream, None
        if stream is not None:
            self.transcriber.cancel_stream(stream)


class SlotEngine:
    """`open_session()` for `assistant.voice.follower.Follower`, through the transcriber's slot."""

    def __init__(self, transcriber: Transcriber):
        self.transcriber = transcriber
        self.name = transcriber.engine_name()

    def open_session(self) -> SlotSession:
        return SlotSession(self.transcriber)

    def transcribe(self, audio: np.ndarray) -> Transcript:
        return self.transcriber.transcribe(audio)
