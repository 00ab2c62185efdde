"""The wake phrase in a transcript ("hey assistant, what time is it"): the one place that finds and cuts it.

Grammar engines write it exactly as the grammar spells it (`split`); a dictation
transcript is matched fuzzily, since Whisper may write "Hey, Assistant." or
"hey assistance" (`match`). The wake word on the audio itself is
`assistant.audio.wakeword`; this is its fallback when no model can load, and it
cuts the phrase off when it was said in front of a command anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz

from assistant.stt.grammar import normalise

MIN_SIMILARITY = 80.0
"""rapidfuzz ratio (0-100) for the opening words to count as the wake phrase."""


@dataclass(frozen=True)
class WakeMatch:
    """The wake phrase was said; `command` is what followed it ("" when nothing did)."""

    command: str
    similarity: float


class WakePhrase:
    """Finds the wake phrase at the start of a transcript."""

    def __init__(self, phrase: str, min_similarity: float = MIN_SIMILARITY):
        self.phrase = normalise(phrase)
        if not self.phrase:
            raise ValueError("the wake word must have at least one word")
        self.min_similarity = min_similarity
        self._length = len(self.phrase.split())

    def split(self, words: str) -> tuple[str, str]:
        """("hey assistant", "play jazz") for the normalised "hey assistant play jazz"; ("", words)
        when it does not open with the phrase word for word."""
        if words == self.phrase or words.startswith(self.phrase + " "):
            return self.phrase, words[len(self.phrase) :].strip()
        return "", words

    def match(self, text: str) -> WakeMatch | None:
        """The command after the wake phrase, or None when the text does not open with it."""
        tokens = text.split()
        best: tuple[float, int] = (0.0, 0)
        for count in range(max(1, self._length - 1), min(len(tokens), self._length + 1) + 1):
            similarity = fuzz.ratio(normalise(" ".join(tokens[:count])), self.phrase)
            if similarity > best[0]:
                best = (similarity, count)
        similarity, count = best
        if similarity < self.min_similarity:
            return None
        command = " ".join(tokens[count:]).lstrip(" ,.;:!?-").strip()
        return WakeMatch(command=command, similarity=similarity)


def wake_phrase(phrase: str | None) -> WakePhrase | None:
    """The helper for an optional wake phrase setting ("" or None: no phrase)."""
    return WakePhrase(phrase) if phrase and normalise(phrase) else None
