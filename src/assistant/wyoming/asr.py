"""Speech to text over Wyoming: `transcribe`, then `audio-start`/`-chunk`/`-stop`, answered by `transcript`.

Audio comes in whatever rate, width and channels the client announces and is
converted to the 16 kHz mono the recognisers take. One recogniser serves every
connection, one utterance at a time.
"""

from __future__ import annotations

import asyncio
import logging
import threading

import numpy as np
from wyoming.event import Event

from assistant.stt.base import Recognizer, Transcript
from assistant.wyoming.wire import SAMPLE_RATE_HZ, AudioStream, Limits

log = logging.getLogger(__name__)


class Transcriber:
    """The shared recogniser (the command grammar backed by Whisper, as the voice loop uses)."""

    def __init__(self, recognizer: Recognizer, language: str = "en"):
        self.recognizer = recognizer
        self.language = language
        self._lock = threading.Lock()

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


class Transcription:
    """One `transcribe` request on one connection."""

    def __init__(self, transcriber: Transcriber, limits: Limits, language: str | None = None):
        self.transcriber = transcriber
        self.language = language or transcriber.language
        self.audio = AudioStream(limits.max_audio_s)

    def chunk(self, data: dict[str, object], payload: bytes) -> None:
        self.audio.convert(data, payload)

    async def finish(self) -> Event:
        """The `transcript` for everything heard."""
        from wyoming.asr import Transcript as TranscriptEvent

        samples = self.audio.samples()
        heard = await asyncio.to_thread(self.transcriber.transcribe, samples)
        log.info("transcribed %.1f s: %r", self.audio.duration_s, heard.text)
        return TranscriptEvent(text=heard.text, language=self.language).event()
