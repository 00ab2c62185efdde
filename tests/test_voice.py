"""assistant.voice: the loop over real espeak audio, with the wake word, questions and barge-in."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from assistant.audio.listener import Listener
from assistant.audio.sinks import NullSink, WavFileSink
from assistant.audio.sources import FileSource
from assistant.audio.wake import WakeWord
from assistant.config import ListenerSettings, TtsSettings
from assistant.skills.sdk import Question, Response
from assistant.stt.commands import CommandRecognizer
from assistant.stt.pocketsphinx import PocketsphinxRecognizer
from assistant.tts import make_synthesizer
from assistant.voice import WAKE_ACKNOWLEDGEMENT, VoiceLoop

PHRASES = ["what time is it", "set a timer", "five minutes", "play some jazz"]


@dataclass
class _Turn:
    text: str
    reply: Response

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "reply": self.reply.text}


@dataclass
class ScriptedBrain:
    """Answers from a table; "set a timer" asks how long, like a skill with a missing entity."""

    heard: list[str] = field(default_factory=list)
    expecting_reply: bool = False

    def handle(self, text: str) -> _Turn:
        self.heard.append(text)
        if text == "set a timer":
            self.expecting_reply = True
            return _Turn(text, Response("For how long?", question=Question("set", {})))
        self.expecting_reply = False
        return _Turn(text, Response(f"You said {text}."))


def conversation(folder: Path, *parts: str) -> Path:
    """espeak-ng utterances joined by 1.2 s of silence, as one WAV file."""
    files = []
    for index, text in enumerate(parts):
        path = folder / f"{index}.wav"
        subprocess.run(["espeak-ng", "-w", str(path), text], check=True)
        files.append(str(path))
    gap = folder / "gap.wav"
    subprocess.run(
        ["sox", "-n", "-r", "22050", "-c", "1", "-b", "16", str(gap), "trim", "0", "1.2"],
        check=True,
    )
    joined: list[str] = []
    for path_text in files:
        joined += [path_text, str(gap)]
    out = folder / "conversation.wav"
    subprocess.run(["sox", *joined, str(out)], check=True)
    return out


@pytest.fixture(scope="module")
def recognizer() -> PocketsphinxRecognizer:
    return PocketsphinxRecognizer(PHRASES, wake_word="hey assistant")


def make_loop(
    recognizer: PocketsphinxRecognizer, brain: ScriptedBrain, sink: Any, wake: bool = True
) -> VoiceLoop:
    synthesizer = make_synthesizer(TtsSettings(engine="espeak"))
    return VoiceLoop(Listener(ListenerSettings()), recognizer, brain, synthesizer, sink,
                     WakeWord("hey assistant") if wake else None)  # fmt: skip


def test_only_speech_after_the_wake_word_is_answered(recognizer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    audio = conversation(tmp_path, "what time is it", "hey assistant, play some jazz")
    brain = ScriptedBrain()
    sink = WavFileSink(tmp_path / "reply.wav")
    turns = list(make_loop(recognizer, brain, sink).run(FileSource(audio).frames()))
    sink.close()
    assert [t.addressed for t in turns] == [False, True]
    assert brain.heard == ["play some jazz"]
    assert turns[1].spoken == "You said play some jazz." and turns[1].latency_s > 0
    assert turns[1].to_json()["transcript"]["text"] == "hey assistant play some jazz"
    assert (tmp_path / "reply.wav").stat().st_size > 20000


def test_wake_word_alone_then_command_and_a_question_answered_without_it(
    recognizer, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    audio = conversation(tmp_path, "hey assistant", "set a timer", "five minutes", "play some jazz")
    brain = ScriptedBrain()
    turns = list(make_loop(recognizer, brain, NullSink()).run(FileSource(audio).frames()))
    assert turns[0].spoken == WAKE_ACKNOWLEDGEMENT and turns[0].turn is None
    assert brain.heard == [
        "set a timer",
        "five minutes",
    ]  # the last one had no wake word and no question
    assert [t.addressed for t in turns] == [True, True, True, False]


def test_once_stops_after_the_first_answer(recognizer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    audio = conversation(tmp_path, "what time is it", "play some jazz")
    brain = ScriptedBrain()
    turns = list(
        make_loop(recognizer, brain, NullSink(), wake=False).run(
            FileSource(audio).frames(), once=True
        )
    )
    assert len(turns) == 1 and brain.heard == ["what time is it"]


def test_speech_stops_playback(recognizer) -> None:  # type: ignore[no-untyped-def]
    class RecordingSink(NullSink):
        stops = 0

        def stop(self) -> None:
            self.stops += 1

    sink = RecordingSink()
    loop = make_loop(recognizer, ScriptedBrain(), sink)
    loop.listener.on_speech_start()  # type: ignore[misc]
    assert sink.stops == 1


def test_without_a_required_wake_word_every_utterance_is_answered_and_the_wake_word_cut(
    recognizer, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    audio = conversation(tmp_path, "what time is it", "hey assistant, play some jazz")
    brain = ScriptedBrain()
    synthesizer = make_synthesizer(TtsSettings(engine="espeak"))
    loop = VoiceLoop(Listener(ListenerSettings()), recognizer, brain, synthesizer, NullSink(),
                     WakeWord("hey assistant"), require_wake_word=False)  # fmt: skip
    turns = list(loop.run(FileSource(audio).frames()))
    assert brain.heard == ["what time is it", "play some jazz"]
    assert all(t.addressed for t in turns)


def test_commands_recognised_while_heard_are_answered(recognizer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The command recogniser's grammar engine follows each utterance as it is heard."""
    audio = conversation(
        tmp_path, "hey assistant, play some jazz", "hey assistant, what time is it"
    )
    brain = ScriptedBrain()
    commands = CommandRecognizer(recognizer, None, PHRASES, "hey assistant")
    loop = VoiceLoop(Listener(ListenerSettings()), commands, brain,
                     make_synthesizer(TtsSettings(engine="espeak")), NullSink(), WakeWord("hey assistant"))  # fmt: skip
    turns = list(loop.run(FileSource(audio, realtime=True).frames()))
    assert brain.heard == ["play some jazz", "what time is it"]
    assert turns[1].transcript.details["streamed"], turns[1].transcript
    assert turns[1].spoken == "You said what time is it."
