"""Text-to-speech engines, chosen by `[tts] engine`: Piper (the default), pyttsx3, the espeak-ng program.

When the Piper voice cannot load (a damaged file, onnxruntime missing) the
assistant says so once and speaks with espeak-ng instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

from assistant.config import TtsSettings
from assistant.errors import ModelError, RecognitionError
from assistant.tts.base import NullSynthesizer, Speech, Synthesizer, split_sentences

__all__ = ["FallbackSynthesizer", "Speech", "Synthesizer", "make_synthesizer", "split_sentences"]

log = logging.getLogger(__name__)


def make_synthesizer(
    settings: TtsSettings, scratch_dir: Path | None = None, voices_dir: Path | None = None
) -> Synthesizer:
    """The configured engine. `voices_dir`: where Piper voices named by `[tts] voice` are looked for.

    A Piper voice that is not found is a `ConfigError`; one that is found but cannot load
    falls back to espeak-ng on first use.
    """
    if settings.engine == "null":
        return NullSynthesizer()
    if settings.engine == "piper":
        from assistant.tts.piper import PiperSynthesizer, find_voice

        fallback = settings.model_copy(update={"engine": "pyttsx3", "voice": ""})
        try:
            voice = PiperSynthesizer(
                find_voice(settings.voice, voices_dir), settings.rate_wpm, settings.volume
            )
        except ModelError as error:
            log.warning("%s; speaking with espeak-ng instead", error)
            return make_synthesizer(fallback, scratch_dir)
        return FallbackSynthesizer(voice, lambda: make_synthesizer(fallback, scratch_dir))
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


class FallbackSynthesizer:
    """`primary` while it loads; the first time it cannot, said once, `make_fallback()` for good."""

    def __init__(self, primary: Synthesizer, make_fallback: Callable[[], Synthesizer]):
        self.primary = primary
        self._make_fallback = make_fallback
        self._current: Synthesizer | None = None

    @property
    def name(self) -> str:
        return self._current.name if self._current is not None else self.primary.name

    def load(self) -> None:
        self._engine()

    def synthesize(self, text: str) -> Speech:
        return self._engine().synthesize(text)

    def synthesize_stream(self, text: str) -> Iterator[Speech]:
        return self._engine().synthesize_stream(text)

    def _engine(self) -> Synthesizer:
        if self._current is None:
            try:
                self.primary.load()
                self._current = self.primary
            except ModelError as error:
                log.warning("%s; speaking with espeak-ng instead", error)
                self._current = self._make_fallback()
        return self._current
