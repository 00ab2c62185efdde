"""The wake word, spotted in what the recogniser heard: "hey assistant, what time is it".

Spotting works on the transcript, so it needs no extra model: the command
grammar allows the wake phrase in front of every command, and a dictation
transcript is matched fuzzily (Whisper may write "Hey, Assistant." or
"hey assistance").
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


class WakeWord:
    """Finds the wake phrase at the start of a transcript."""

    def __init__(self, phrase: str, min_similarity: float = MIN_SIMILARITY):
        self.phrase = normalise(phrase)
        if not self.phrase:
            raise ValueError("the wake word must have at least one word")
        self.min_similarity = min_similarity
        self._length = len(self.phrase.split())

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
