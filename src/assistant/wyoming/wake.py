"""Wake-word detection over Wyoming: `detect`, then audio, answered by `detection` or `not-detected`.

The models are microWakeWord's (`assistant.audio.wakeword`). A detector keeps
state between chunks, so each request gets fresh ones, for the models it names.
A satellite (and Home Assistant's "wake word on the server") streams to its wake
service without pause, for hours: a wake stream has no length limit and holds no
audio, only the detectors' fixed state (`[wyoming] max_audio_s` bounds what is
transcribed, not what is listened to).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from wyoming.event import Event

from assistant.audio.wakeword import WakeWordDetector, load_detector
from assistant.wyoming.wire import AudioStream, Limits

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WakeModel:
    """One microWakeWord model offered: its setting, its id and what is said."""

    spec: str
    """As in the settings: a packaged name or a model's .json."""
    name: str
    """The model's id ("okay_nabu", or a custom model's file stem)."""
    phrase: str
    """What is said: "Okay Nabu"."""
    languages: tuple[str, ...]
    sensitivity: float = 0.5

    @classmethod
    def find(cls, spec: str, sensitivity: float = 0.5) -> WakeModel:
        """Load the model once to check it; ModelError when it cannot be used."""
        detector: Any = load_detector(spec, sensitivity)
        return cls(spec, detector.model_id, detector.wake_word, _languages(spec), sensitivity)

    def detector(self) -> WakeWordDetector:
        return load_detector(self.spec, self.sensitivity)


def _languages(spec: str) -> tuple[str, ...]:
    """The languages the model was trained on, as its JSON lists them (English when it does not)."""
    from pathlib import Path

    from assistant.audio.wakeword import BUILTIN_MODELS

    path = Path(spec).expanduser()
    if spec in BUILTIN_MODELS:
        import pymicro_wakeword

        path = Path(pymicro_wakeword.__file__).parent / "models" / f"{spec}.json"
    try:
        languages = json.loads(path.read_text(encoding="utf-8")).get("trained_languages")
    except (OSError, ValueError, AttributeError):
        languages = None
    return tuple(languages) if isinstance(languages, list) and languages else ("en",)


class Detection:
    """One `detect` request on one connection."""

    def __init__(self, models: list[WakeModel], limits: Limits, names: list[str] | None = None):
        wanted = [m for m in models if not names or m.name in names or m.phrase in names]
        self.detectors = [(model, model.detector()) for model in wanted or models]
        self.audio = AudioStream(None, keep=False)  # as long as it comes; nothing kept
        self.found: str | None = None

    def chunk(self, data: dict[str, object], payload: bytes) -> Event | None:
        """A `detection` event the first time a model hears its wake word, else None."""
        from wyoming.wake import Detection as DetectionEvent

        samples = self.audio.convert(data, payload)
        if self.found is not None:
            return None
        for model, detector in self.detectors:
            heard = detector.process(samples)
            if heard is not None:
                self.found = model.name
                timestamp = round(heard.end_s * 1000)
                log.info("wake word %s heard at %d ms", model.name, timestamp)
                return DetectionEvent(name=model.name, timestamp=timestamp).event()
        return None

    async def finish(self) -> Event | None:
        """`not-detected` when the stream ended unheard."""
        from wyoming.wake import NotDetected

        return NotDetected().event() if self.found is None else None

    def cancel(self) -> None:
        """Nothing to stop: the detectors hold no thread."""
