"""Voice activity detectors, chosen by `[listener] vad`: WebRTC's, microVAD's, or Silero's.

Each says of a 10-30 ms frame of 16 kHz int16 audio whether it is speech.
They keep state between frames (the neural ones look back), so a detector
follows one stream; `reset()` starts another.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from assistant.errors import ModelError

__all__ = ["ENGINES", "MicroVad", "SileroVad", "VoiceActivityDetector", "WebRtcVad", "make_vad"]

SAMPLE_RATE_HZ = 16000


class VoiceActivityDetector(Protocol):
    """Speech or not, frame by frame."""

    name: str

    def is_speech(self, frame: np.ndarray) -> bool:
        """`frame`: int16 mono samples at 16 kHz, 10, 20 or 30 ms long."""
        ...

    def reset(self) -> None:
        """Forget the stream heard so far."""
        ...


class WebRtcVad:
    """The WebRTC project's GMM detector: fast, no model; `aggressiveness` 0 (lenient) to 3 (strict)."""

    name = "webrtc"

    def __init__(self, aggressiveness: int = 2):
        import webrtcvad

        self._vad = webrtcvad.Vad(aggressiveness)

    def is_speech(self, frame: np.ndarray) -> bool:
        return bool(self._vad.is_speech(frame.astype(np.int16).tobytes(), SAMPLE_RATE_HZ))

    def reset(self) -> None:
        pass


class MicroVad:
    """microVAD (pymicro-vad, a small TFLite model from ESPHome): a speech probability every 10 ms."""

    name = "micro"

    def __init__(self, threshold: float = 0.5):
        from pymicro_vad import MicroVad as Model

        self._model: Any = Model()
        self.threshold = threshold
        self._pending = np.zeros(0, np.int16)

    def is_speech(self, frame: np.ndarray) -> bool:
        audio = np.concatenate([self._pending, frame.astype(np.int16)])
        chunks = len(audio) // 160
        probabilities = [
            self._model.process_10ms(audio[i * 160 : (i + 1) * 160].tobytes()) for i in range(chunks)
        ]
        self._pending = audio[chunks * 160 :]
        # -1 means "no estimate yet" (the model's window is still filling): not speech.
        return bool(probabilities) and float(np.mean(np.maximum(probabilities, 0.0))) > self.threshold

    def reset(self) -> None:
        self._model.reset()
        self._pending = np.zeros(0, np.int16)


class SileroVad:
    """Silero VAD (the ONNX model in the silero-vad package, run by onnxruntime without torch).

    The model takes 32 ms windows (512 samples, plus the 64 before them); a
    frame's answer is the latest window's probability. Speech goes on for
    `HANGOVER_S` after the probability falls (as Silero's own iterator waits
    100 ms): its probability dips in the closure of a stop ("what time"), which
    otherwise split a word from the next, or delay the start past the pre-roll.
    """

    name = "silero"
    WINDOW = 512
    CONTEXT = 64
    HANGOVER_S = 0.12

    def __init__(self, threshold: float = 0.5):
        self._session = _silero_session()
        self.threshold = threshold
        self._state = self._context = self._pending = np.zeros(0, np.float32)
        self.probability = self._heard_s = self._last_speech_s = 0.0
        self.reset()
        self._heard_s = 0.0
        self._last_speech_s = -1.0

    def is_speech(self, frame: np.ndarray) -> bool:
        self._pending = np.concatenate([self._pending, frame.astype(np.float32) / 32768.0])
        while len(self._pending) >= self.WINDOW:
            window, self._pending = self._pending[: self.WINDOW], self._pending[self.WINDOW :]
            self.probability = self._run(window)
            self._heard_s += self.WINDOW / SAMPLE_RATE_HZ
            if self.probability > self.threshold:
                self._last_speech_s = self._heard_s
        return self._heard_s - self._last_speech_s < self.HANGOVER_S

    def reset(self) -> None:
        self._state = np.zeros((2, 1, 128), np.float32)
        self._context = np.zeros(self.CONTEXT, np.float32)
        # A stream that has been quiet a moment, as a microphone's has: from a blank state
        # the model is slow to believe speech that starts at the first sample.
        for _ in range(3):
            self._run(np.zeros(self.WINDOW, np.float32))
        self._pending = np.zeros(0, np.float32)
        self.probability = 0.0
        self._heard_s = 0.0
        self._last_speech_s = -1.0

    def _run(self, window: np.ndarray) -> float:
        """The speech probability of one 512-sample window (the model's state moves on)."""
        model_input = np.concatenate([self._context, window])[np.newaxis, :]
        output, self._state = self._session.run(
            None, {"input": model_input, "state": self._state, "sr": np.array(SAMPLE_RATE_HZ, np.int64)}
        )
        self._context = window[-self.CONTEXT :]
        return float(output.item())


@functools.cache
def _silero_session() -> Any:
    """One onnxruntime session for every detector: the model keeps no state of its own."""
    import importlib.util

    import onnxruntime

    # Found, not imported: the package's __init__ imports torch.
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or spec.origin is None:
        raise ModelError("vad: silero-vad is not installed (pip install silero-vad)")
    path = Path(spec.origin).parent / "data" / "silero_vad.onnx"
    options = onnxruntime.SessionOptions()
    options.inter_op_num_threads = options.intra_op_num_threads = 1
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


ENGINES = ("webrtc", "micro", "silero")


def make_vad(engine: str = "webrtc", aggressiveness: int = 2, threshold: float = 0.5) -> VoiceActivityDetector:
    """The detector for `[listener] vad`; `aggressiveness` is WebRTC's, `threshold` the neural ones'."""
    if engine == "webrtc":
        return WebRtcVad(aggressiveness)
    if engine == "micro":
        return MicroVad(threshold)
    if engine == "silero":
        return SileroVad(threshold)
    raise ModelError(f"vad: no engine {engine!r}; choose one of {', '.join(ENGINES)}")
