"""Wake-word detection over Wyoming: `detect`, then audio, answered by `detection` or `not-detected`.

The models are microWakeWord's (through pymicro-wakeword): small streaming
networks that run on a satellite's CPU. A detector keeps state between chunks,
so each request gets fresh ones.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from wyoming.event import Event

from assistant.errors import ModelError
from assistant.wyoming.wire import SAMPLE_RATE_HZ, AudioStream, Limits

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WakeModel:
    """One microWakeWord model: a built-in name or a model's .json file."""

    name: str
    """"okay_nabu", or the .json file's stem."""
    phrase: str
    """What is said: "Okay Nabu"."""
    languages: tuple[str, ...]
    config: Path

    @classmethod
    def find(cls, spec: str) -> WakeModel:
        """`spec`: a built-in model name or the path of a model's .json; ModelError when neither."""
        import json

        import pymicro_wakeword

        path = Path(spec).expanduser()
        if path.suffix != ".json":
            path = Path(pymicro_wakeword.__file__).parent / "models" / f"{spec}.json"
        try:
            config = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                Path(config["model"]).stem,
                str(config["wake_word"]),
                tuple(config.get("trained_languages") or ["en"]),
                path,
            )
        except (OSError, ValueError, KeyError) as error:
            raise ModelError(
                f"wake-word model {spec!r}: {error} (give a built-in name such as okay_nabu, "
                "or the path of a microWakeWord .json)"
            ) from None

    def detector(self) -> Detector:
        return Detector(self)


class Detector:
    """Follows a 16 kHz mono stream and says when the wake word was heard."""

    def __init__(self, model: WakeModel):
        from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures

        self.model = model
        self._network: Any = MicroWakeWord.from_config(model.config)
        self._features = MicroWakeWordFeatures()

    def process(self, samples: np.ndarray) -> bool:
        """Feed int16 samples; True once the wake word has been heard in them."""
        heard = False
        for features in self._features.process_streaming(samples.astype("<i2").tobytes()):
            heard = bool(self._network.process_streaming(features)) or heard
        return heard

    def reset(self) -> None:
        self._network.reset()


class Detection:
    """One `detect` request on one connection."""

    def __init__(self, models: list[WakeModel], limits: Limits, names: list[str] | None = None):
        wanted = [m for m in models if not names or m.name in names or m.phrase in names]
        self.detectors = [model.detector() for model in wanted or models]
        self.audio = AudioStream(limits.max_audio_s, keep=False)
        self.found: str | None = None
        self._samples = 0

    def chunk(self, data: dict[str, object], payload: bytes) -> Event | None:
        """A `detection` event the first time a model hears its wake word, else None."""
        from wyoming.wake import Detection as DetectionEvent

        samples = self.audio.convert(data, payload)
        self._samples += len(samples)
        if self.found is not None:
            return None
        for detector in self.detectors:
            if detector.process(samples):
                self.found = detector.model.name
                timestamp = self._samples * 1000 // SAMPLE_RATE_HZ
                log.info("wake word %s heard at %d ms", self.found, timestamp)
                return DetectionEvent(name=self.found, timestamp=timestamp).event()
        return None

    async def finish(self) -> Event | None:
        """`not-detected` when the stream ended unheard."""
        from wyoming.wake import NotDetected

        return NotDetected().event() if self.found is None else None
