"""Push-to-talk: only speech after Enter is heard, one turn per press."""

from __future__ import annotations

import asyncio
import io
import time
from pathlib import Path

import pytest

from assistant.audio.push_to_talk import PushToTalk
from assistant.audio.sources import FileSource
from assistant.events import TurnEvent
from assistant.stt.pocketsphinx import PocketsphinxRecognizer
from test_voice import PHRASES, Recorder, ScriptedBrain, conversation, make_session


@pytest.fixture(scope="module")
def recognizer() -> PocketsphinxRecognizer:
    return PocketsphinxRecognizer(PHRASES)


def test_one_press_one_turn(recognizer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    audio = conversation(tmp_path, "what time is it", "play some jazz")
    brain = ScriptedBrain()
    push = PushToTalk()
    push.press()

    class Releasing(Recorder):
        def emit(self, event: object) -> None:
            if isinstance(event, TurnEvent):
                push.release()

    session = make_session(recognizer, brain, Releasing(), mode="none", gate=lambda: push.is_open)
    asyncio.run(session.listen_to(FileSource(audio).frames()))
    assert brain.heard == ["what time is it"], "speech after the answer, without a press, is not heard"


def test_nothing_is_heard_before_a_press(recognizer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    audio = conversation(tmp_path, "what time is it")
    brain = ScriptedBrain()
    push = PushToTalk()
    session = make_session(recognizer, brain, Recorder(), mode="none", gate=lambda: push.is_open)
    asyncio.run(session.listen_to(FileSource(audio).frames()))
    assert session.turns == [] and brain.heard == []


def test_enter_on_the_keyboard_opens_the_gate() -> None:
    ready: list[bool] = []
    push = PushToTalk(on_ready=lambda: ready.append(True))
    push.listen_for_keys(io.StringIO("\n"))
    deadline = time.monotonic() + 5
    while not push.is_open and time.monotonic() < deadline:
        time.sleep(0.01)
    assert push.is_open and ready == [True]
    push.release()
    assert not push.is_open and ready == [True, True]
