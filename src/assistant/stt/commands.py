"""Commands first, free speech second: a grammar engine with a dictation engine behind it.

The grammar engine (pocketsphinx or Vosk) is fast and exact on the skills'
phrases. When it is unsure, or hears no complete phrase, the dictation engine
(Whisper) gives a second opinion: if Whisper's words are close to a grammar
phrase (the one the grammar heard, or another), that phrase is the command;
otherwise the utterance is free speech and Whisper's words are used.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import numpy as np
from rapidfuzz import fuzz, process

from assistant.stt.base import Recognizer, Transcript
from assistant.stt.grammar import normalise

log = logging.getLogger(__name__)

AGREEMENT = 85.0
"""rapidfuzz ratio (0-100) above which Whisper's words are taken to be a grammar phrase."""
CONFIRMATION = 60.0
"""A lower bar for the phrase the grammar engine itself heard: two engines agreeing on it is strong
evidence (short words like "farewell" often come back from Whisper as "that well")."""


class CommandRecognizer:
    """`transcribe(audio)` -> the grammar phrase when confident or confirmed, else dictation."""

    name = "commands"

    def __init__(
        self,
        grammar: Recognizer | None,
        dictation: Recognizer | None,
        phrases: Sequence[str] = (),
        wake_word: str | None = None,
        agreement: float = AGREEMENT,
    ):
        """`phrases` (and the wake word) let Whisper's words snap to the nearest command."""
        if grammar is None and dictation is None:
            raise ValueError(
                "a command recogniser needs a grammar engine, a dictation engine or both"
            )
        self.grammar = grammar
        self.dictation = dictation
        self.agreement = agreement
        self._wake = normalise(wake_word) if wake_word else ""
        self._phrases = sorted({normalise(p) for p in phrases} - {""})

    def transcribe(self, audio: np.ndarray) -> Transcript:
        if self.grammar is None:
            assert self.dictation is not None
            return self.dictation.transcribe(audio)
        started = time.perf_counter()
        heard = self.grammar.transcribe(audio)
        if heard.in_grammar is not False:
            return heard
        if self.dictation is None:
            if heard.details.get("plausible"):
                return _replace(heard, in_grammar=True)
            # A rejected guess is worse than nothing: the brain answers "not heard".
            return _replace(
                heard, text="", confidence=0.0, details={"rejected": heard.text, **heard.details}
            )
        second = self.dictation.transcribe(audio)
        phrase, similarity = self._nearest_phrase(second.text, heard)
        details = {
            "grammar": heard.to_json(),
            "dictation": second.to_json(),
            "agreement": round(similarity, 1),
        }
        elapsed = time.perf_counter() - started
        if phrase is not None:
            log.debug(
                "dictation %r taken as the command %r (%.0f)", second.text, phrase, similarity
            )
            return Transcript(
                phrase, heard.engine, second.confidence, True, heard.audio_s, elapsed, details
            )
        return Transcript(
            second.text, second.engine, second.confidence, False, second.audio_s, elapsed, details
        )

    def _nearest_phrase(self, text: str, heard: Transcript) -> tuple[str | None, float]:
        """The grammar phrase Whisper's words amount to (wake word kept as said), or None."""
        words = normalise(text)
        prefix = ""
        if self._wake and (words == self._wake or words.startswith(self._wake + " ")):
            prefix, words = self._wake, words[len(self._wake) :].strip()
        if not words:
            return (prefix or None), (100.0 if prefix else 0.0)
        candidates = list(self._phrases)
        guess = heard.text
        if self._wake and (guess == self._wake or guess.startswith(self._wake + " ")):
            guess = guess[len(self._wake) :].strip()
        if heard.details.get("complete_phrase") and guess not in candidates:
            candidates.append(guess)
        if not candidates:
            return None, 0.0
        best = process.extractOne(words, candidates, scorer=fuzz.ratio)
        if best is not None and best[1] >= self.agreement:
            return f"{prefix} {best[0]}".strip(), float(best[1])
        if heard.details.get("complete_phrase") and guess:
            similarity = fuzz.ratio(words, guess)
            if similarity >= CONFIRMATION:
                return f"{prefix} {guess}".strip(), similarity
        return None, float(best[1]) if best else 0.0


def _replace(transcript: Transcript, **changes: object) -> Transcript:
    from dataclasses import replace

    return replace(transcript, **changes)  # type: ignore[arg-type]
