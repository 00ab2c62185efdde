"""Push-to-talk: only speech after Enter is heard, one turn per press."""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pytest

from assistant.audio.push_to_talk import PushToTalk
from assistant.audio.sinks import NullSink
from assistant.audio.sources import FileSource
from assistant.stt.pocketsphinx import PocketsphinxRecognizer
from test_voice import PHRASES, ScriptedBrain, conversation, make_loop


@pytest.fixture(scope="module")
def recognizer() -> PocketsphinxRecognizer:
    return PocketsphinxRecognizer(PHRASES)


def test_one_press_one_turn(recognizer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    audio = conversation(tmp_path, "what time is it", "play some jazz")
    brain = ScriptedBrain()
    push = PushToTalk()
    push.press()
    loop = make_loop(recognizer, brain, NullSink(), wake=False)
    for turn in loop.run(push.gate(FileSource(audio).frames())):
        if turn.turn is not None:
            push.release()
    assert brain.heard == ["what time is it"], "speech after the answer, without a press, is not heard"


def test_nothing_is_heard_before_a_press(recognizer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    audio = conversation(tmp_path, "what time is it")
    brain = ScriptedBrain()
    turns = list(make_loop(recognizer, brain, NullSink(), wake=False).run(PushToTalk().gate(FileSource(audio).frames())))
    assert turns == [] and brain.heard == []


def test_enter_on_the_keyboard_opens_the_gate() -> None:
    ready: list[bool] = []
    push = PushToTalk(on_ready=lambda: ready.append(True))
    push.listen_for_keys(io.StringIO("\n"))
    deadline = time.monotonic() + 5
    while not push.is_open and time.monotonic() < deadline:
        time.sleep(0.01)
    assert push.is_open and ready == [True]
    frames = [np.zeros(480, dtype=np.int16)] * 3
    assert len(list(push.gate(frames))) == 3
    push.release()
    assert list(push.gate(frames)) == [] and ready == [True, True]
