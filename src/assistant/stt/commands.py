"""Commands first, free speech second: a grammar engine with a dictation engine behind it.

The grammar engine (pocketsphinx or Vosk) is fast and exact on the skills'
phrases. When it is unsure, or hears no complete phrase, the dictation engine
(Whisper) gives a second opinion: if Whisper's words are close to a grammar
phrase (the one the grammar heard, or another), that phrase is the command.
Failing that, and when the dictation engine can score sentences (Whisper), the
few phrases nearest to what either engine heard are scored against the audio:
in noise Whisper's own words are often garbled while the right phrase still
fits the audio almost as well as they do. That rescue is kept to noisy audio:
on clean speech Whisper's words are reliable, and a short free answer ("no")
scores close enough to a short phrase ("snooze") to be mistaken for it.
Otherwise the utterance is free speech and Whisper's words are used.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
from rapidfuzz import fuzz, process

from assistant.audio.denoise import NOISY_BELOW_DB, snr_db
from assistant.stt.acceptance import acceptance
from assistant.stt.base import Recognizer, Transcript
from assistant.stt.grammar import Grammar, normalise
from assistant.stt.wake import wake_phrase

log = logging.getLogger(__name__)

AGREEMENT = 85.0
"""rapidfuzz ratio (0-100) above which Whisper's words are taken to be a grammar phrase."""
RESCORE_MARGIN = 2.25
"""A phrase is the command when its Whisper score (mean log probability per token) is within
this of the score of Whisper's own transcript. Chosen on `scripts/bench_voice.py --seed 1`:
2.0-2.25 keep out-of-grammar rejection at 93 %, 2.5 let one more sentence through ("can you
book a flight..." became "can you tell me what time it is"); 1.5 gave up half the noisy gain."""
DICTATION_CANDIDATES = 5
"""Phrases nearest to Whisper's words that are scored; with the grammar's, the right one was
among them for about 95 % of noisy utterances, and each costs decoder time."""
GRAMMAR_CANDIDATES = 3
"""Phrases nearest to the grammar's guess that are scored (it is often one word off in noise)."""


@runtime_checkable
class SentenceScorer(Protocol):
    """A dictation engine that can say how well given sentences fit the audio (Whisper)."""

    def score(self, audio: np.ndarray, texts: list[str]) -> list[float]: ...


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
        self._wake = wake_phrase(wake_word)
        self._grammar = Grammar.from_phrases(phrases).closed
        """The phrases dictation's words may be taken for: never one with free text in it."""
        self._phrases = sorted(set(self._grammar.sentences()))
        """The phrases without slots: whole sentences."""

    def transcribe(self, audio: np.ndarray) -> Transcript:
        if self.grammar is None:
            assert self.dictation is not None
            return self.dictation.transcribe(audio)
        started = time.perf_counter()
        return self.decide(audio, self.grammar.transcribe(audio), started)

    def decide(
        self, audio: np.ndarray, heard: Transcript, started: float | None = None
    ) -> Transcript:
        """The command, given what the grammar engine `heard` of `audio` (it may have followed the
        utterance as it was spoken): its phrase when confident, else the dictation engine decides.
        `started` is when recognition began (`time.perf_counter()`), for `elapsed_s`."""
        started = time.perf_counter() if started is None else started
        if heard.in_grammar is not False:
            return heard
        if self.dictation is None:
            if heard.details.get("streamed") and not heard.details.get("plausible"):
                # No second opinion: a second look the batch way (its own cepstral mean).
                assert self.grammar is not None
                heard = self.grammar.transcribe(audio)
                if heard.in_grammar is not False:
                    return heard
            if heard.details.get("plausible"):
                return _replace(heard, in_grammar=True)
            # A rejected guess is worse than nothing: the brain answers "not heard".
            return _replace(
                heard, text="", confidence=0.0, details={"rejected": heard.text, **heard.details}
            )
        second = self.dictation.transcribe(audio)
        phrase, similarity = self._nearest_phrase(second.text, heard)
        details: dict[str, object] = {
            "grammar": heard.to_json(),
            "dictation": second.to_json(),
            "agreement": round(similarity, 1),
        }
        if phrase is not None and similarity < self.agreement:
            # Only confirmed (`acceptance`): the phrase must also fit the audio about as well
            # as Whisper's own words, or a sentence sharing a few words with it gets through.
            phrase = self._fits(audio, phrase, second.text, details)
        noisy = snr_db(audio) < NOISY_BELOW_DB
        if (
            phrase is None
            and noisy
            and not heard.details.get("open")
            and isinstance(self.dictation, SentenceScorer)
        ):
            phrase, gap = self._rescored_phrase(audio, second.text, heard)
            details["rescore_gap"] = round(gap, 2)
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

    def _rescored_phrase(
        self, audio: np.ndarray, text: str, heard: Transcript
    ) -> tuple[str | None, float]:
        """The phrase, among those nearest to what either engine heard, that Whisper scores
        within RESCORE_MARGIN of its own transcript; and how far below that the best one was."""
        assert isinstance(self.dictation, SentenceScorer)
        prefix, words = self._split_wake(normalise(text))
        guess = self._guess(heard)
        if not words or not self._grammar.phrases:
            return None, float("inf")
        candidates = {
            c
            for c, *_ in process.extract(
                words, self._sentences(words), scorer=fuzz.ratio, limit=DICTATION_CANDIDATES
            )
        }
        if guess:
            candidates |= {
                c
                for c, *_ in process.extract(
                    guess, self._sentences(words), scorer=fuzz.ratio, limit=GRAMMAR_CANDIDATES
                )
            }
            candidates.add(guess)
        ordered = sorted(candidates)
        spoken = [_as_whisper_writes(f"{prefix} {c}".strip()) for c in ordered]
        *scores, own = self.dictation.score(audio, [*spoken, text.strip()])
        best = max(range(len(ordered)), key=scores.__getitem__)
        gap = own - scores[best]
        if gap <= RESCORE_MARGIN:
            log.debug(
                "%r scored %.2f below Whisper's %r: taken as the command", ordered[best], gap, text
            )
            return f"{prefix} {ordered[best]}".strip(), gap
        return None, gap

    def _fits(
        self, audio: np.ndarray, phrase: str, text: str, details: dict[str, object]
    ) -> str | None:
        """`phrase` when Whisper scores it close to its own `text` (`acceptance`), or cannot score."""
        if not isinstance(self.dictation, SentenceScorer):
            return phrase
        mine, own = self.dictation.score(audio, [_as_whisper_writes(phrase), text.strip()])
        details["confirmation_gap"] = round(own - mine, 2)
        return phrase if own - mine <= acceptance().confirmation_gap else None

    def _sentences(self, words: str) -> list[str]:
        """Grammar sentences to match `words` against: the phrases without slots, and those with a
        value slot filled with the value in `words` (so "three seconds" is never taken for another
        value); never a phrase with an example value or free text in it."""
        return self._phrases + self._grammar.filled_with(words)

    def _guess(self, heard: Transcript) -> str:
        """The grammar's phrase, wake word cut, when it may stand for the command: a complete
        phrase, without free text, and with its values heard rather than taken from examples."""
        _, guess = self._split_wake(heard.text)
        if not heard.details.get("complete_phrase") or heard.details.get("open"):
            return ""
        if heard.details.get("denoised") and guess not in self._phrases:
            return ""
        return guess if guess in self._grammar else ""

    def _split_wake(self, words: str) -> tuple[str, str]:
        return self._wake.split(words) if self._wake else ("", words)

    def _nearest_phrase(self, text: str, heard: Transcript) -> tuple[str | None, float]:
        """The grammar phrase Whisper's words amount to (wake word kept as said), or None."""
        prefix, words = self._split_wake(normalise(text))
        if not words:
            return (prefix or None), (100.0 if prefix else 0.0)
        if words in self._grammar:
            return f"{prefix} {words}".strip(), 100.0
        if heard.details.get("open"):
            # The grammar heard a sentence with free text: dictation's words are that text, and
            # a near phrase would drop some of it ("set a pasta timer" is not "set a timer").
            return None, 0.0
        candidates = self._sentences(words)
        guess = self._guess(heard)
        if guess and guess not in candidates:
            candidates.append(guess)
        if not candidates:
            return None, 0.0
        best = process.extractOne(words, candidates, scorer=fuzz.ratio)
        if best is not None and best[1] >= self.agreement:
            return f"{prefix} {best[0]}".strip(), float(best[1])
        if guess:
            similarity = fuzz.ratio(words, guess)
            if similarity >= acceptance().confirmation:
                return f"{prefix} {guess}".strip(), similarity
        return None, float(best[1]) if best else 0.0


def _as_whisper_writes(words: str) -> str:
    """ "play some jazz" -> "Play some jazz.": Whisper scores its own writing style best, and its
    transcript, which the phrases are compared with, is written that way."""
    return f"{words[:1].upper()}{words[1:]}."


def _replace(transcript: Transcript, **changes: object) -> Transcript:
    from dataclasses import replace

    return replace(transcript, **changes)  # type: ignore[arg-type]
