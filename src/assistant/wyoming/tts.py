"""Text to speech over Wyoming: `synthesize`, and streamed text (`synthesize-start`/`-chunk`/`-stop`).

Both kinds of request are answered sentence by sentence: each sentence's audio is
sent as soon as it is synthesised, in one audio stream, so the first audio comes
after the first sentence, not after the whole text. Each send waits until the
client has room for it (the server's write timeout), so a client that stops
reading stops the synthesis it asked for: at most one sentence is made ahead.

Home Assistant asks for the first voice marked installed, so a voice is listed
only once it has been heard to speak (`Voices.checked`). After `synthesize-start`
it waits for `synthesize-stopped` with no timeout: that event is always sent,
whatever went wrong before it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field

from wyoming.event import Event

from assistant.tts.base import Speech, Synthesizer
from assistant.wyoming.wire import Limits, ProtocolError, speech_events

log = logging.getLogger(__name__)

PROBE_TEXT = "Ready."
SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")

Send = Callable[[Event], Awaitable[None]]


@dataclass
class Voices:
    """The voices offered, by name; the first is the default."""

    synthesizers: dict[str, Synthesizer] = field(default_factory=dict)
    language: str = "en"

    @classmethod
    def checked(cls, candidates: dict[str, Synthesizer], language: str = "en") -> Voices:
        """Only the candidates that really speak a probe sentence."""
        speaking: dict[str, Synthesizer] = {}
        for name, synthesizer in candidates.items():
            try:
                speech = synthesizer.synthesize(PROBE_TEXT)
            except Exception as error:  # an engine boundary: a broken voice is left out
                log.warning("voice %s left out: %s", name, error)
                continue
            if len(speech.samples) == 0:
                log.warning("voice %s left out: it produced no audio", name)
                continue
            speaking[name] = synthesizer
        return cls(speaking, language)

    def pick(self, voice: dict[str, object] | None) -> Synthesizer:
        """The voice asked for by name, else the default."""
        if not self.synthesizers:
            raise ProtocolError("no voice is installed")
        name = (voice or {}).get("name")
        if isinstance(name, str) and name in self.synthesizers:
            return self.synthesizers[name]
        return next(iter(self.synthesizers.values()))


class Speaker:
    """Answers synthesis requests; one per connection (it remembers a streamed request)."""

    def __init__(self, voices: Voices, limits: Limits, send: Send):
        self.voices = voices
        self.limits = limits
        self.send = send
        self._stream: _StreamedText | None = None

    @property
    def streaming(self) -> bool:
        return self._stream is not None

    async def synthesize(self, data: dict[str, object]) -> None:
        """`synthesize`: the whole text at once. Ignored inside a streamed request, where
        Home Assistant repeats the full text for servers that do not stream."""
        if self._stream is not None:
            return
        text = self._text(data)
        stream = _StreamedText(self.voices.pick(_voice(data)))
        await self._speak(stream, text)
        if stream.rate_hz is not None:
            await self.send(_audio_stop(stream))

    async def start(self, data: dict[str, object]) -> None:
        self._stream = _StreamedText(self.voices.pick(_voice(data)))

    async def chunk(self, data: dict[str, object]) -> None:
        stream = self._require_stream("synthesize-chunk")
        stream.text += self._text(data)
        if len(stream.text) + stream.spoken_chars > self.limits.max_text_chars:
            raise ProtocolError(
                f"the streamed text is longer than {self.limits.max_text_chars} characters"
            )
        *sentences, stream.text = SENTENCE_END.split(stream.text)
        for sentence in sentences:
            await self._speak(stream, sentence)

    async def stop(self) -> None:
        """`synthesize-stop`: speak what is left, then always `synthesize-stopped`."""
        from wyoming.tts import SynthesizeStopped

        stream, self._stream = self._stream, None
        try:
            if stream is not None:
                await self._speak(stream, stream.text)
                if stream.rate_hz is not None:
                    await self.send(_audio_stop(stream))
        finally:
            await self.send(SynthesizeStopped().event())

    async def abandon(self) -> None:
        """A streamed request failed: close it as Home Assistant expects."""
        if self._stream is not None:
            await self.stop()

    async def _speak(self, stream: _StreamedText, text: str) -> None:
        """Synthesise `text` a sentence at a time, each sentence's audio sent before the next is
        made (so a client that does not read holds up the synthesis, not the server's memory)."""
        if not text.strip():
            return
        stream.spoken_chars += len(text)
        async with contextlib.aclosing(sentences(stream.synthesizer, text)) as spoken:
            async for speech in spoken:
                await self._send_audio(stream, speech)

    async def _send_audio(self, stream: _StreamedText, speech: Speech) -> None:
        events = speech_events(
            speech.samples, speech.sample_rate_hz, start_sample=stream.sent_samples
        )[:-1]  # one audio-stop, at the end
        if stream.rate_hz is None:
            stream.rate_hz = speech.sample_rate_hz
        else:
            events = events[1:]  # one audio-start, at the beginning
        stream.sent_samples += len(speech.samples)
        for event in events:
            await self.send(event)

    def _text(self, data: dict[str, object]) -> str:
        text = data.get("text")
        if not isinstance(text, str):
            raise ProtocolError("synthesis needs a 'text' string")
        if len(text) > self.limits.max_text_chars:
            raise ProtocolError(f"the text is longer than {self.limits.max_text_chars} characters")
        return text

    def _require_stream(self, kind: str) -> _StreamedText:
        if self._stream is None:
            raise ProtocolError(f"{kind} without synthesize-start")
        return self._stream


@dataclass
class _StreamedText:
    synthesizer: Synthesizer
    text: str = ""
    """Received and not yet spoken (an unfinished sentence)."""
    spoken_chars: int = 0
    rate_hz: int | None = None
    """Set once audio-start has been sent."""
    sent_samples: int = 0
    """Audio sent so far, in samples: where the next chunk's timestamp counts from."""


async def sentences(synthesizer: Synthesizer, text: str) -> AsyncGenerator[Speech, None]:
    """`synthesizer.synthesize_stream(text)`, each sentence made in a worker thread."""
    parts = await asyncio.to_thread(lambda: iter(synthesizer.synthesize_stream(text)))
    while (speech := await asyncio.to_thread(next, parts, None)) is not None:
        if len(speech.samples):
            yield speech


def _voice(data: dict[str, object]) -> dict[str, object] | None:
    voice = data.get("voice")
    return voice if isinstance(voice, dict) else None


def _audio_stop(stream: _StreamedText) -> Event:
    from wyoming.audio import AudioStop

    assert stream.rate_hz is not None
    return AudioStop(timestamp=stream.sent_samples * 1000 // stream.rate_hz).event()
