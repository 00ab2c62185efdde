"""Streaming recognition with Vosk (Kaldi): free speech, or a phrase list as the grammar.

A model is a folder from `assistant models pull` (see `assistant.stt.models`).
With a grammar, Vosk answers "[unk]" for speech outside it, which is the rejection.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from assistant.errors import ModelError, RecognitionError
from assistant.stt.base import Transcript
from assistant.stt.grammar import Grammar
from assistant.stt.wake import wake_phrase

log = logging.getLogger(__name__)

SAMPLE_RATE_HZ = 16000
_UNKNOWN = "[unk]"


class VoskRecognizer:
    """Kaldi recognition; with `phrases`, limited to them plus "[unk]"."""

    name = "vosk"

    def __init__(
        self, model_dir: str | Path, phrases: list[str] | None = None, wake_word: str | None = None
    ):
        import vosk

        model_dir = Path(model_dir)
        if not (model_dir / "am").is_dir() and not (model_dir / "final.mdl").exists():
            raise ModelError(
                f"vosk: {model_dir} is not a Vosk model folder (no am/); run `assistant models pull`"
            )
        vosk.SetLogLevel(-1)
        try:
            self._model = vosk.Model(str(model_dir))
        except Exception as error:  # vosk raises a bare Exception on a bad model
            raise ModelError(f"vosk: cannot load the model in {model_dir}: {error}") from None
        self.wake = wake_phrase(wake_word)
        self.wake_word = self.wake.phrase if self.wake else None
        self.grammar = Grammar.from_phrases(phrases) if phrases else None
        self._recognizer: Any = None
        self._fed_samples = 0

    def _new_recognizer(self) -> Any:
        import vosk

        if self.grammar is None:
            recognizer = vosk.KaldiRecognizer(self._model, SAMPLE_RATE_HZ)
        else:
            recognizer = vosk.KaldiRecognizer(
                self._model, SAMPLE_RATE_HZ, self.grammar.to_vosk(self.wake_word)
            )
        recognizer.SetWords(True)
        return recognizer

    def accept(self, frame: np.ndarray) -> str:
        if self._recognizer is None:
            self._recognizer = self._new_recognizer()
            self._fed_samples = 0
        self._fed_samples += len(frame)
        if self._recognizer.AcceptWaveform(frame.astype(np.int16).tobytes()):
            return str(json.loads(self._recognizer.Result()).get("text", ""))
        return str(json.loads(self._recognizer.PartialResult()).get("partial", ""))

    def finish(self) -> Transcript:
        started = time.perf_counter()
        if self._recognizer is None:
            self._recognizer = self._new_recognizer()
        try:
            result = json.loads(self._recognizer.FinalResult())
        except (RuntimeError, ValueError) as error:
            raise RecognitionError(f"vosk: recognition failed: {error}") from None
        audio_s = self._fed_samples / SAMPLE_RATE_HZ
        self._recognizer = None
        return self._transcript(result, audio_s, time.perf_counter() - started)

    def transcribe(self, audio: np.ndarray) -> Transcript:
        started = time.perf_counter()
        self._recognizer = self._new_recognizer()
        self._fed_samples = len(audio)
        self._recognizer.AcceptWaveform(audio.astype(np.int16).tobytes())
        result = json.loads(self._recognizer.FinalResult())
        self._recognizer = None
        return self._transcript(result, len(audio) / SAMPLE_RATE_HZ, time.perf_counter() - started)

    def _transcript(self, result: dict[str, Any], audio_s: float, elapsed_s: float) -> Transcript:
        words = result.get("result", [])
        text = " ".join(w["word"] for w in words if w.get("word") != _UNKNOWN) if words else ""
        confidence = float(np.mean([w.get("conf", 0.0) for w in words])) if words else 0.0
        in_grammar = None
        if self.grammar is not None:
            unknown = any(w.get("word") == _UNKNOWN for w in words)
            command = self.wake.split(text)[1] if self.wake else text
            in_grammar = bool(text) and not unknown and command in self.grammar
        return Transcript(
            text=text,
            engine=self.name,
            confidence=confidence,
            in_grammar=in_grammar,
            audio_s=audio_s,
            elapsed_s=elapsed_s,
            details={"complete_phrase": bool(in_grammar)},
        )
