"""Text-to-speech engines, chosen by `[tts] engine`: pyttsx3, falling back to the espeak-ng program."""

from __future__ import annotations

import logging
from pathlib import Path

from assistant.config import TtsSettings
from assistant.errors import RecognitionError
from assistant.tts.base import NullSynthesizer, Speech, Synthesizer

__all__ = ["Speech", "Synthesizer", "make_synthesizer"]

log = logging.getLogger(__name__)


def make_synthesizer(settings: TtsSettings, scratch_dir: Path | None = None) -> Synthesizer:
    """The configured engine; pyttsx3 falls back to espeak-ng when its driver will not start."""
    if settings.engine == "null":
        return NullSynthesizer()
    from assistant.tts.espeak import EspeakSynthesizer

    if settings.engine == "pyttsx3":
        from assistant.tts.pyttsx3 import Pyttsx3Synthesizer

        try:
            return Pyttsx3Synthesizer(
                settings.voice, settings.rate_wpm, settings.volume, scratch_dir
            )
        except (RecognitionError, ImportError) as error:
            log.warning("%s; using the espeak-ng program instead", error)
    return EspeakSynthesizer(settings.voice, settings.rate_wpm, settings.volume)
