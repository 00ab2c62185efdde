"""assistant.stt.wake: the wake phrase found at the start of grammar and Whisper transcripts."""

from __future__ import annotations

import pytest

from assistant.stt.wake import WakePhrase


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("hey assistant what time is it", "what time is it"),
        ("Hey, Assistant. What time is it?", "What time is it?"),
        ("hey assistance play some jazz", "play some jazz"),
        ("Hey assistant!", ""),
    ],
)
def test_wake_phrase_is_found_and_removed(text: str, command: str) -> None:
    match = WakePhrase("hey assistant").match(text)
    assert match is not None and match.command == command


@pytest.mark.parametrize("text", ["what time is it", "play some jazz", "", "hey", "they insisted"])
def test_other_speech_is_not_addressed(text: str) -> None:
    assert WakePhrase("hey assistant").match(text) is None


def test_empty_wake_phrase_is_refused() -> None:
    with pytest.raises(ValueError):
        WakePhrase("  ")


@pytest.mark.parametrize(
    ("words", "split"),
    [
        ("hey assistant play jazz", ("hey assistant", "play jazz")),
        ("hey assistant", ("hey assistant", "")),
        ("hey assistants play", ("", "hey assistants play")),
        ("play jazz", ("", "play jazz")),
    ],
)
def test_grammar_transcripts_are_split_word_for_word(words: str, split: tuple[str, str]) -> None:
    assert WakePhrase("Hey, Assistant").split(words) == split
