"""Text-to-speech through pyttsx3 (the espeak-ng library in-process), saved to a WAV file.

pyttsx3's `say()` plays through `aplay`; the assistant needs the samples
instead (to play them to a file or any device), so it uses `save_to_file`.
"""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
import threading
from pathlib import Path
from typing import Any

from assistant.errors import ConfigError, RecognitionError
from assistant.tts.base import SentenceBySentence, Speech

log = logging.getLogger(__name__)

_LOCK = threading.Lock()
"""pyttsx3 keeps one engine per driver in the process; calls must not interleave."""


class Pyttsx3Synthesizer(SentenceBySentence):
    """espeak-ng via pyttsx3; `voice` is an espeak voice name ("en-us", "en-gb"...)."""

    name = "pyttsx3"

    def __init__(
        self,
        voice: str = "",
        rate_wpm: int = 175,
        volume: float = 1.0,
        scratch_dir: Path | None = None,
    ):
        import pyttsx3

        try:
            self._engine: Any = pyttsx3.init("espeak")
            if voice:
                self._engine.setProperty("voice", self._find_voice(voice))
            self._engine.setProperty("rate", rate_wpm)
            self._engine.setProperty("volume", volume)
        except (RuntimeError, OSError, ValueError, KeyError) as error:
            raise RecognitionError(f"pyttsx3: cannot start the espeak driver: {error}") from None
        self._scratch_dir = scratch_dir

    def _find_voice(self, wanted: str) -> str:
        """The id of the voice whose id, last id part, name or language is `wanted` (any case)."""
        wanted_lower = wanted.lower()
        for voice in self._engine.getProperty("voices"):
            identifier = str(voice.id).lower()
            names = {identifier, identifier.rsplit("/", 1)[-1], str(voice.name).lower()}
            names.update(str(language).lower() for language in voice.languages or [])
            if wanted_lower in names:
                return str(voice.id)
        raise ConfigError(
            f"[tts] voice: no voice named {wanted!r}; `espeak-ng --voices` lists them"
        )

    def synthesize(self, text: str) -> Speech:
        import soundfile

        with _LOCK, tempfile.TemporaryDirectory(dir=self._scratch_dir) as folder:
            target = Path(folder) / "speech.wav"
            # The driver prints "Audio saved to ..." on stdout, which may carry JSON.
            with contextlib.redirect_stdout(io.StringIO()):
                self._engine.save_to_file(text, str(target))
                self._engine.runAndWait()
            if not target.exists():
                raise RecognitionError("pyttsx3 produced no audio")
            samples, rate = soundfile.read(str(target), dtype="int16")
        return Speech(samples, int(rate))
