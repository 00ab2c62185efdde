"""The wake word, spotted on the audio itself by a microWakeWord model, before any speech-to-text.

`pymicro-wakeword` ships four trained models (hey_jarvis, okay_nabu,
hey_mycroft, alexa) and runs them on TensorFlow Lite with its own streaming
feature extractor (`pymicro-features`: 10 ms steps of 16 kHz audio). A custom
microWakeWord model is its JSON file (which names the .tflite beside it).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from assistant.errors import ModelError

__all__ = [
    "BUILTIN_MODELS",
    "Detection",
    "MicroWakeWordDetector",
    "WakeWordDetector",
    "cutoff_for",
    "load_detector",
]

log = logging.getLogger(__name__)

BUILTIN_MODELS = ("hey_jarvis", "okay_nabu", "hey_mycroft", "alexa")
"""The models inside the pymicro-wakeword wheel."""
SAMPLE_RATE_HZ = 16000
_TFLITE_MAGIC = b"TFL3"
"""A TensorFlow Lite flatbuffer carries this at bytes 4..8; the C library crashes on anything else."""


@dataclass(frozen=True)
class Detection:
    """The wake word was heard."""

    wake_word: str
    """The phrase, as the model names it ("Hey Jarvis")."""
    model: str
    """The model's id ("hey_jarvis", or a custom model's file stem)."""
    probability: float
    """The model's averaged probability (0..1) when it fired."""
    end_s: float
    """Where the wake word ended in the stream, in seconds since the detector started or was reset."""


class WakeWordDetector(Protocol):
    """Listens to every frame; says when the wake word has just been said."""

    wake_word: str
    """The phrase it spots, for messages ("Hey Jarvis")."""

    def process(self, frame: np.ndarray) -> Detection | None:
        """`frame`: int16 mono samples at 16 kHz, any length; a `Detection` when the wake word ended in it."""
        ...

    def reset(self) -> None:
        """Forget the audio heard so far (the stream restarts)."""
        ...


def cutoff_for(model_cutoff: float, sensitivity: float) -> float:
    """The probability that fires the model at `sensitivity` (0..1).

    0.5 keeps the cutoff the model was tuned with; 1.0 halves the distance to 0
    (more detections, more false wakes); 0.0 halves the distance to 1.
    """
    if sensitivity >= 0.5:
        return model_cutoff * (1.0 - (sensitivity - 0.5))
    return model_cutoff + (1.0 - model_cutoff) * (0.5 - sensitivity)


class MicroWakeWordDetector:
    """A microWakeWord model over the stream.

    It fires once each time the probability rises over the cutoff, and not again
    within `refractory_s` of a detection.
    """

    def __init__(self, model: str = "hey_jarvis", sensitivity: float = 0.5, refractory_s: float = 2.0):
        from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures

        config_path = _config_path(model)
        _check_model(model, config_path)
        try:
            self._model: Any = MicroWakeWord.from_config(config_path)
        except (OSError, ValueError, KeyError) as error:
            raise ModelError(f"wake word model {model!r}: cannot load it: {error}") from None
        self._features: Any = MicroWakeWordFeatures()
        self.model_id = str(self._model.id)
        self.wake_word = str(self._model.wake_word)
        self.cutoff = cutoff_for(float(self._model.probability_cutoff), sensitivity)
        self.refractory_s = refractory_s
        self._heard_samples = 0
        self._quiet_until_s = 0.0
        self._armed = True
        self._steps = 0
        self.last_probability = 0.0
        """The highest averaged probability in the last frame (for tuning and the benchmark)."""

    def process(self, frame: np.ndarray) -> Detection | None:
        self._heard_samples += len(frame)
        now_s = self._heard_samples / SAMPLE_RATE_HZ
        detection = None
        self.last_probability = 0.0
        for features in self._features.process_streaming(frame.astype(np.int16).tobytes()):
            probability = self._model.process_streaming_prob(features)
            self._steps += 1
            if probability is None or self._steps % self._model.stride:
                continue  # the model runs every `stride` steps; in between it answers 0.0
            self.last_probability = max(self.last_probability, float(probability))
            if probability <= self.cutoff:
                self._armed = True
            elif self._armed and now_s >= self._quiet_until_s and detection is None:
                detection = Detection(self.wake_word, self.model_id, float(probability), now_s)
                # One detection per saying: the probability stays high for a few hundred ms.
                self._armed = False
                self._quiet_until_s = now_s + self.refractory_s
                log.debug("wake word %r at %.2f s (p=%.3f)", self.wake_word, now_s, probability)
        return detection

    def reset(self) -> None:
        self._model.reset()
        self._features.reset()
        self._heard_samples = 0
        self._quiet_until_s = 0.0
        self._armed = True
        self._steps = 0
        self.last_probability = 0.0


def load_detector(model: str, sensitivity: float = 0.5, refractory_s: float = 2.0) -> WakeWordDetector:
    """The detector for `[listener] wake_word_model`: a packaged model's name or a model JSON's path."""
    try:
        return MicroWakeWordDetector(model, sensitivity, refractory_s)
    except ImportError as error:
        raise ModelError(
            f"wake word model {model!r}: pymicro-wakeword is not installed ({error})"
        ) from None


def _config_path(model: str) -> Path:
    name = model.strip().lower().replace(" ", "_").replace("-", "_")
    if name in BUILTIN_MODELS:
        import pymicro_wakeword

        return Path(pymicro_wakeword.__file__).parent / "models" / f"{name}.json"
    path = Path(model).expanduser()
    if path.suffix.lower() != ".json":
        raise ModelError(
            f"wake word model {model!r}: not a packaged model ({', '.join(BUILTIN_MODELS)}) "
            "nor a microWakeWord model's .json file"
        )
    return path


def _check_model(model: str, config_path: Path) -> None:
    """Catch what would crash the TensorFlow Lite library: a missing or malformed model."""
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
        tflite = config_path.parent / str(config["model"])
        float(config["micro"]["probability_cutoff"])
        int(config["micro"]["sliding_window_size"])
        config["wake_word"]
    except FileNotFoundError:
        raise ModelError(f"wake word model {model!r}: {config_path} does not exist") from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ModelError(
            f"wake word model {model!r}: {config_path} is not a microWakeWord model JSON "
            f"(needs wake_word, model and micro.probability_cutoff/sliding_window_size): {error!r}"
        ) from None
    try:
        with tflite.open("rb") as file:
            magic = file.read(8)[4:8]
    except OSError as error:
        raise ModelError(f"wake word model {model!r}: cannot read {tflite}: {error}") from None
    if magic != _TFLITE_MAGIC:
        raise ModelError(f"wake word model {model!r}: {tflite} is not a TensorFlow Lite model")
