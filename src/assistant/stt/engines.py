"""Builds the configured speech-to-text engines from `[stt]` settings ("auto" resolved here).

"auto" for commands: Vosk with the phrase grammar when its model is installed,
otherwise pocketsphinx (its English model ships with the package). "auto" for
dictation: Whisper when its model is installed, otherwise Vosk, otherwise
pocketsphinx's language model.
"""

from __future__ import annotations

import logging
from pathlib import Path

from assistant.config import SttSettings
from assistant.errors import ModelError
from assistant.stt.base import Recognizer
from assistant.stt.commands import CommandRecognizer
from assistant.stt.models import resolve_vosk_model

log = logging.getLogger(__name__)


def make_dictation(settings: SttSettings, models_root: Path) -> Recognizer:
    """The engine for free speech."""
    choice = settings.dictation
    if choice in ("auto", "whisper"):
        from assistant.stt.whisper import WhisperRecognizer

        try:
            return WhisperRecognizer(settings.whisper_model, beam_size=settings.whisper_beam_size)
        except ModelError as error:
            if choice == "whisper":
                raise
            log.info("%s; trying Vosk", error)
    if choice in ("auto", "vosk"):
        folder = resolve_vosk_model(settings.vosk_model, models_root)
        if folder is not None:
            from assistant.stt.vosk import VoskRecognizer

            return VoskRecognizer(folder)
        if choice == "vosk":
            raise ModelError(
                f"vosk model {settings.vosk_model!r} is not installed; run `assistant models pull {settings.vosk_model}`"
            )
    from assistant.stt.pocketsphinx import PocketsphinxRecognizer

    return PocketsphinxRecognizer(None)


def make_commands(
    settings: SttSettings,
    models_root: Path,
    phrases: list[str],
    wake_word: str | None = None,
    dictation: Recognizer | None = None,
) -> CommandRecognizer:
    """The grammar engine for the skills' `phrases`, backed by `dictation` (default: the configured one)."""
    choice = settings.commands
    dictation = dictation or make_dictation(settings, models_root)
    if choice == "whisper":
        return CommandRecognizer(None, dictation)
    grammar: Recognizer | None = None
    if choice in ("auto", "vosk"):
        folder = resolve_vosk_model(settings.vosk_model, models_root)
        if folder is not None:
            from assistant.stt.vosk import VoskRecognizer

            grammar = VoskRecognizer(folder, phrases if settings.vosk_grammar else None, wake_word)
        elif choice == "vosk":
            raise ModelError(
                f"vosk model {settings.vosk_model!r} is not installed; run `assistant models pull {settings.vosk_model}`"
            )
    if grammar is None:
        from assistant.stt.pocketsphinx import PocketsphinxRecognizer

        grammar = PocketsphinxRecognizer(phrases, wake_word)
    return CommandRecognizer(grammar, dictation, phrases, wake_word)
