"""Commands first, free speech second: a grammar engine with a dictation engine behind it.

The grammar engine (pocketsphinx or Vosk) is fast and exact on the skills'
phrases. When it is unsure, or hears no complete phrase, the dictation engine
(Whisper) gives a second opinion: if the two agree the grammar phrase stands,
otherwise the utterance is treated as free speech and Whisper's words are used.
"""

from __future__ import annotations

import logging
import time

import numpy as np
from rapidfuzz import fuzz

from assistant.stt.base import Recognizer, Transcript
from assistant.stt.grammar import normalise

log = logging.getLogger(__name__)

AGREEMENT = 80.0
"""rapidfuzz ratio (0-100) above which Whisper is taken to confirm the grammar's phrase."""


class CommandRecognizer:
    """`transcribe(audio)` -> the grammar phrase when confident or confirmed, else dictation."""

    name = "commands"

    def __init__(
        self, grammar: Recognizer | None, dictation: Recognizer | None, agreement: float = AGREEMENT
    ):
        if grammar is None and dictation is None:
            raise ValueError(
                "a command recogniser needs a grammar engine, a dictation engine or both"
            )
        self.grammar = grammar
        self.dictation = dictation
        self.agreement = agreement

    def transcribe(self, audio: np.ndarray) -> Transcript:
        started = time.perf_counter()
        if self.grammar is None:
            assert self.dictation is not None
            return self.dictation.transcribe(audio)
        heard = self.grammar.transcribe(audio)
        if heard.in_grammar is not False:
            return heard
        if self.dictation is None:
            # A rejected guess is worse than nothing: the brain answers "not heard".
            return Transcript(
                "",
                heard.engine,
                0.0,
                False,
                heard.audio_s,
                heard.elapsed_s,
                {"rejected": heard.text, **heard.details},
            )
        second = self.dictation.transcribe(audio)
        similarity = (
            fuzz.ratio(normalise(second.text), heard.text)
            if heard.details.get("complete_phrase")
            else 0.0
        )
        details = {
            "grammar": heard.to_json(),
            "dictation": second.to_json(),
            "agreement": round(similarity, 1),
        }
        elapsed = time.perf_counter() - started
        if similarity >= self.agreement:
            log.debug("dictation confirms %r (%.0f)", heard.text, similarity)
            return Transcript(
                heard.text,
                heard.engine,
                max(heard.confidence, second.confidence),
                True,
                heard.audio_s,
                elapsed,
                details,
            )
        return Transcript(
            second.text, second.engine, second.confidence, False, second.audio_s, elapsed, details
        )
