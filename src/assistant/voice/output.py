"""A voice session's output: speech to an audio sink, events to whoever shows them."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from assistant.audio.sinks import AudioSink
from assistant.events import EventSink
from assistant.tts.base import Speech


class SinkOutput:
    """Plays speech on `sink` (the speaker, a WAV file, nowhere) and passes events to `events`."""

    def __init__(self, sink: AudioSink, events: EventSink | None = None):
        self.sink = sink
        self.events = events

    @property
    def reports_start(self) -> bool:
        """`play` takes `on_start` (the speaker: see `SpeechInput.play`)."""
        return bool(getattr(self.sink, "reports_start", False))

    def play(self, speech: Speech, on_start: Callable[[float], None] | None = None) -> float:
        if on_start is not None:
            self.sink.play(speech.samples, speech.sample_rate_hz, on_start)  # type: ignore[call-arg]
        else:
            self.sink.play(speech.samples, speech.sample_rate_hz)
        # A sound card plays in real time; a file is written at once.
        return speech.duration_s if getattr(self.sink, "realtime", False) else 0.0

    def stop(self) -> None:
        self.sink.stop()

    def emit(self, event: Any) -> None:
        if self.events is not None:
            self.events.emit(event)


def speak(sentences: Iterable[Speech], output: SinkOutput) -> None:
    """Play speech sentence by sentence, each while the next is synthesised (`assistant say`)."""
    stream = iter(sentences)
    with ThreadPoolExecutor(1, thread_name_prefix="synthesis") as synthesis:
        following = synthesis.submit(next, stream, None)
        while (speech := following.result()) is not None:
            following = synthesis.submit(next, stream, None)
            time.sleep(output.play(speech))
