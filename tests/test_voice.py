"""assistant.voice.session: a voice conversation over real espeak audio, pushed frame by frame.

The wake phrase in transcripts (the fallback when no wake-word model loads), questions answered
without it, the streaming grammar, the assistant not hearing its own voice, music ducked while
it speaks.
"""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assistant.audio.listener import Listener
from assistant.audio.sinks import NullSink, WavFileSink
from assistant.audio.sources import FileSource
from assistant.config import ListenerSettings, TtsSettings
from assistant.events import (
    Notification,
    PartialTranscript,
    SpeechFinished,
    SpeechStarted,
    TurnEvent,
)
from assistant.skills.sdk import Question, Response
from assistant.stt.commands import CommandRecognizer
from assistant.stt.pocketsphinx import PocketsphinxRecognizer
from assistant.stt.wake import WakePhrase
from assistant.tts import make_synthesizer
from assistant.tts.base import Speech
from assistant.voice import VoiceSession
from assistant.voice.session import WAKE_ACKNOWLEDGEMENT, WakeMode

PHRASES = ["what time is it", "set a timer", "five minutes", "play some jazz"]


@dataclass
class _Turn:
    text: str
    reply: Response

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "reply": self.reply.text, "speech": self.reply.spoken}


@dataclass
class ScriptedBrain:
    """Answers from a table; "set a timer" asks how long, like a skill with a missing entity."""

    heard: list[str] = field(default_factory=list)
    expecting_reply: bool = False
    replies: dict[str, str] = field(default_factory=dict)

    def handle(self, text: str) -> _Turn:
        self.heard.append(text)
        if text == "set a timer":
            self.expecting_reply = True
            return _Turn(text, Response("For how long?", question=Question("set", {})))
        self.expecting_reply = False
        return _Turn(text, Response(self.replies.get(text, f"You said {text}.")))


class Recorder:
    """An output that keeps every event; with `realtime`, playing takes as long as the speech."""

    def __init__(self, sink: Any = None, realtime: bool = False):
        self.sink = sink or NullSink()
        self.realtime = realtime
        self.events: list[Any] = []
        self.played: list[Speech] = []
        self.stops = 0

    def play(self, speech: Speech) -> float:
        self.played.append(speech)
        self.sink.play(speech.samples, speech.sample_rate_hz)
        return speech.duration_s if self.realtime else 0.0

    def stop(self) -> None:
        self.stops += 1

    def emit(self, event: Any) -> None:
        self.events.append(event)


def conversation(folder: Path, *parts: str, gap_s: float = 1.2) -> Path:
    """espeak-ng utterances joined by `gap_s` of silence, as one WAV file."""
    files = []
    for index, text in enumerate(parts):
        path = folder / f"{index}.wav"
        subprocess.run(["espeak-ng", "-w", str(path), text], check=True)
        files.append(str(path))
    gap = folder / "gap.wav"
    subprocess.run(
        ["sox", "-D", "-n", "-r", "22050", "-c", "1", "-b", "16", str(gap), "trim", "0", str(gap_s)],
        check=True,
    )
    joined: list[str] = []
    for path_text in files:
        joined += [path_text, str(gap)]
    out = folder / "conversation.wav"
    subprocess.run(["sox", "-D", *joined, str(out)], check=True)
    return out


@pytest.fixture(scope="module")
def recognizer() -> PocketsphinxRecognizer:
    return PocketsphinxRecognizer(PHRASES, wake_word="hey assistant")


def make_session(
    recognizer: Any,
    brain: ScriptedBrain,
    output: Any,
    mode: WakeMode = "transcript",
    **options: Any,
) -> VoiceSession:
    synthesizer = make_synthesizer(TtsSettings(engine="espeak"))
    return VoiceSession(brain, recognizer, synthesizer, output, Listener(ListenerSettings()),
                        wake_mode=mode, wake_phrase=WakePhrase("hey assistant"), **options)  # fmt: skip


def listen(session: VoiceSession, audio: Path, realtime: bool = False) -> list[Any]:
    asyncio.run(session.listen_to(FileSource(audio, realtime=realtime).frames()))
    return session.turns


def test_only_speech_after_the_wake_word_is_answered(recognizer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    audio = conversation(tmp_path, "what time is it", "hey assistant, play some jazz")
    brain = ScriptedBrain()
    sink = WavFileSink(tmp_path / "reply.wav")
    output = Recorder(sink)
    turns = listen(make_session(recognizer, brain, output), audio)
    sink.close()
    assert [t.addressed for t in turns] == [False, True]
    assert brain.heard == ["play some jazz"]
    assert turns[1].spoken == "You said play some jazz." and turns[1].latency_s > 0
    assert turns[1].to_json()["transcript"]["text"] == "hey assistant play some jazz"
    assert (tmp_path / "reply.wav").stat().st_size > 20000
    kinds = [type(e) for e in output.events]
    assert kinds == [SpeechStarted, SpeechFinished, TurnEvent] * 2
    assert output.events[-1].to_json()["reply"] == "You said play some jazz."


def test_wake_word_alone_then_command_and_a_question_answered_without_it(
    recognizer, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    audio = conversation(tmp_path, "hey assistant", "set a timer", "five minutes", "play some jazz")
    brain = ScriptedBrain()
    turns = listen(make_session(recognizer, brain, Recorder()), audio)
    assert turns[0].spoken == WAKE_ACKNOWLEDGEMENT and turns[0].turn is None
    assert brain.heard == [
        "set a timer",
        "five minutes",
    ]  # the last one had no wake word and no question
    assert [t.addressed for t in turns] == [True, True, True, False]


def test_once_stops_after_the_first_answer(recognizer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    audio = conversation(tmp_path, "what time is it", "play some jazz")
    brain = ScriptedBrain()
    turns = listen(make_session(recognizer, brain, Recorder(), mode="none", once=True), audio)
    assert len(turns) == 1 and brain.heard == ["what time is it"]


def test_without_a_required_wake_word_every_utterance_is_answered_and_the_wake_word_cut(
    recognizer, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    audio = conversation(tmp_path, "what time is it", "hey assistant, play some jazz")
    brain = ScriptedBrain()
    turns = listen(make_session(recognizer, brain, Recorder(), mode="none"), audio)
    assert brain.heard == ["what time is it", "play some jazz"]
    assert all(t.addressed for t in turns)


def test_commands_recognised_while_heard_are_answered(recognizer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The command recogniser's grammar engine follows each utterance as it is heard."""
    audio = conversation(
        tmp_path, "hey assistant, play some jazz", "hey assistant, what time is it"
    )
    brain = ScriptedBrain()
    commands = CommandRecognizer(recognizer, None, PHRASES, "hey assistant")
    turns = listen(make_session(commands, brain, Recorder()), audio, realtime=True)
    assert brain.heard == ["play some jazz", "what time is it"]
    assert turns[1].transcript.details["streamed"], turns[1].transcript
    assert turns[1].spoken == "You said what time is it."


class Room(Recorder):
    """A speaker the microphone hears: what is played comes back (at half the level, the speaker
    being further away than the person), mixed into the input frames; `stop` silences it."""

    def __init__(self, gain: float = 0.5, delay_s: float = 0.0) -> None:
        super().__init__(realtime=True)
        self.gain = gain
        self.delay = np.zeros(int(delay_s * 16000), np.int16)
        """Silence before what is played reaches the microphone (a satellite's buffers)."""
        self._echo = np.zeros(0, np.int16)

    def play(self, speech: Speech) -> float:
        from assistant.audio.decode import resample

        echo = (resample(speech.samples, speech.sample_rate_hz, 16000) * self.gain).astype(np.int16)
        self._echo = np.concatenate([self._echo if len(self._echo) else self.delay, echo])
        return super().play(speech)

    def stop(self) -> None:
        super().stop()
        self._echo = self._echo[:0]

    def microphone(self, frames: Any) -> Any:
        for frame in frames:
            echo, self._echo = self._echo[: len(frame)], self._echo[len(frame) :]
            mixed = frame.astype(np.int32)
            mixed[: len(echo)] += echo
            yield np.clip(mixed, -32768, 32767).astype(np.int16)


def test_the_assistant_does_not_hear_its_own_voice(recognizer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Its reply says the wake phrase and a command; played into the microphone, it is not taken
    as one."""
    audio = conversation(tmp_path, "hey assistant, play some jazz", gap_s=5.0)
    brain = ScriptedBrain(replies={"play some jazz": "Hey assistant, what time is it?"})
    room = Room()
    session = make_session(recognizer, brain, room)
    asyncio.run(session.listen_to(room.microphone(FileSource(audio, realtime=True).frames())))
    assert brain.heard == ["play some jazz"], [t.transcript.text for t in session.turns]
    assert len(room.played) == 1


def test_music_goes_down_while_the_assistant_speaks_and_comes_back(
    recognizer, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from assistant.config import MusicSettings
    from assistant.home import Home
    from assistant.services.music import MusicService

    song = tmp_path / "music" / "song.wav"
    song.parent.mkdir()
    subprocess.run(["sox", "-D", "-n", "-r", "44100", "-c", "2", str(song), "synth", "30", "sine", "440"],
                   check=True)  # fmt: skip
    music = MusicService(Home(tmp_path / "home").ensure(), MusicSettings(folders=[str(song.parent)]), "null")
    try:
        music.scan()
        music.play_all(shuffle=False)
        states: list[tuple[str, bool]] = []

        def duck(on: bool) -> None:
            music.duck() if on else music.unduck()
            states.append((music.status()["state"], music.status()["ducked"]))

        audio = conversation(tmp_path, "hey assistant, play some jazz")
        output = Recorder(realtime=True)
        listen(make_session(recognizer, ScriptedBrain(), output, duck=duck), audio)
        assert len(output.played) == 1
        assert states == [("playing", True), ("playing", False)]
        assert music.status()["ducked"] is False
    finally:
        music.close()


def test_frames_fed_from_another_thread(recognizer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The push interface: a thread feeds 30 ms frames as a network connection would."""
    audio = conversation(tmp_path, "hey assistant, what time is it")
    brain = ScriptedBrain()
    session = make_session(recognizer, brain, Recorder())

    def push() -> None:
        for frame in FileSource(audio).frames():
            session.feed(np.asarray(frame))
            time.sleep(0.001)
        session.end()

    async def main() -> None:
        await asyncio.gather(asyncio.to_thread(push), session.run())

    asyncio.run(main())
    assert brain.heard == ["what time is it"]


# -- the wake word on the audio (microWakeWord "hey jarvis"), heard in the Piper voice -----------


@pytest.fixture(scope="module")
def piper() -> Any:
    return make_synthesizer(TtsSettings(engine="piper"))


def spoken(piper: Any, folder: Path, *parts: str | float) -> Path:
    """A 16 kHz WAV file: Piper saying each text, a float being that many seconds of silence."""
    from assistant.audio.decode import resample

    chunks = [np.zeros(8000, np.int16)]
    for part in parts:
        if isinstance(part, float):
            chunks.append(np.zeros(int(part * 16000), np.int16))
        else:
            speech = piper.synthesize(part)
            chunks.append(resample(speech.samples, speech.sample_rate_hz, 16000))
    path = folder / "spoken.wav"
    import soundfile

    soundfile.write(str(path), np.concatenate(chunks), 16000)
    return path


@pytest.fixture(scope="module")
def jarvis_grammar() -> PocketsphinxRecognizer:
    return PocketsphinxRecognizer(PHRASES, wake_word="hey jarvis")


def jarvis_session(recognizer: Any, brain: ScriptedBrain, output: Any, piper: Any) -> VoiceSession:
    from assistant.audio.wakeword import load_detector

    return VoiceSession(brain, recognizer, piper, output, Listener(ListenerSettings()),
                        wake_mode="audio", detector=load_detector("hey_jarvis"),
                        wake_phrase=WakePhrase("hey jarvis"))  # fmt: skip


def test_only_what_follows_the_wake_word_is_transcribed(jarvis_grammar, piper, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    audio = spoken(piper, tmp_path, "Play some jazz.", 1.5, "Hey Jarvis, what time is it?", 1.5,
                   "Set a timer.", 1.5, "Hey Jarvis", 1.0, "Play some jazz.", 1.5)  # fmt: skip
    brain = ScriptedBrain()
    output = Recorder()
    session = jarvis_session(jarvis_grammar, brain, output, piper)
    asyncio.run(session.listen_to(FileSource(audio).frames()))
    assert brain.heard == ["what time is it", "play some jazz"]
    assert [t.transcript.text for t in session.turns][0] == "hey jarvis what time is it"
    # Recognition begins at the end of each command, not in the pause after "Hey Jarvis,"; "Hey
    # Jarvis" said alone is not recognised at all (no turn of its own).
    assert [t.transcript.text for t in session.turns] == ["hey jarvis what time is it", "play some jazz"]
    # (Each command is recognised early, at its pause, or at the short pause that ends a complete
    # command, whichever comes first on this machine: never more often than there are commands.)
    assert session.early_recognitions <= 2
    wakes = [e for e in output.events if getattr(e, "kind", "") == "wake"]
    assert len(wakes) == 2 and wakes[0].name == "Hey Jarvis"


def test_the_answer_to_a_question_needs_no_wake_word(jarvis_grammar, piper, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    audio = spoken(piper, tmp_path, "Hey Jarvis, set a timer.", 2.0, "Five minutes.", 2.0,
                   "What time is it?", 1.5)  # fmt: skip
    brain = ScriptedBrain()
    session = jarvis_session(jarvis_grammar, brain, Recorder(), piper)
    asyncio.run(session.listen_to(FileSource(audio).frames()))
    assert brain.heard == ["set a timer", "five minutes"], "the last one had no wake word and no question"


def test_the_wake_word_stops_a_long_reply(jarvis_grammar, piper, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    long_reply = " ".join(f"This is sentence number {n} of a long answer." for n in range(1, 9))
    brain = ScriptedBrain(replies={"play some jazz": long_reply})
    audio = spoken(piper, tmp_path, "Hey Jarvis, play some jazz.", 8.0, "Hey Jarvis", 4.0)
    output = Recorder(realtime=True)
    session = jarvis_session(jarvis_grammar, brain, output, piper)
    asyncio.run(session.listen_to(FileSource(audio, realtime=True).frames()))
    wakes = [e for e in output.events if getattr(e, "kind", "") == "wake"]
    assert len(wakes) == 2 and output.stops == 1
    assert len(output.played) < 8, "the second wake word cut the reply short"


@pytest.mark.flaky(reruns=1)  # real time: a stalled CI machine has missed both wake words twice
def test_with_echo_cancellation_the_wake_word_said_as_loud_as_the_reply_stops_it(
    jarvis_grammar, piper, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """The speaker as loud as the user: without cancellation the model hears "hey Jarvis" over a
    reply at about half the places (scripts/bench_echo.py); the session's own reply, taken out of
    the microphone, lets it through, and the reply heard whole is still no command."""
    from assistant.audio.echo import EchoCanceller

    long_reply = " ".join(f"This is sentence number {n} of a long answer." for n in range(1, 9))
    brain = ScriptedBrain(replies={"play some jazz": long_reply})
    # Said twice over the reply: a Piper rendition may hide one (as in the bench, 18-20 of 20),
    # and a loaded machine may hear the first late; either one must cut the reply.
    audio = spoken(piper, tmp_path, "Hey Jarvis, play some jazz.", 6.0, "Hey Jarvis", 3.0, "Hey Jarvis", 4.0)
    room = Room(gain=1.0)
    session = jarvis_session(jarvis_grammar, brain, room, piper)
    session.echo = EchoCanceller()
    asyncio.run(session.listen_to(room.microphone(FileSource(audio, realtime=True).frames())))
    wakes = [e for e in room.events if getattr(e, "kind", "") == "wake"]
    assert len(wakes) >= 2 and room.stops >= 1, wakes
    assert len(room.played) < 8, "the second wake word cut the reply short"
    assert brain.heard == ["play some jazz"], "its own reply is no command"


def test_its_own_voice_saying_the_wake_word_does_not_wake_it(jarvis_grammar, piper, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    brain = ScriptedBrain(replies={"play some jazz": "Sure. Hey Jarvis, what time is it? That is what you say."})
    audio = spoken(piper, tmp_path, "Hey Jarvis, play some jazz.", 9.0)
    room = Room()
    session = jarvis_session(jarvis_grammar, brain, room, piper)
    asyncio.run(session.listen_to(room.microphone(FileSource(audio, realtime=True).frames())))
    assert brain.heard == ["play some jazz"], "its own 'hey jarvis, what time is it' is no command"
    wakes = [e for e in room.events if getattr(e, "kind", "") == "wake"]
    assert len(wakes) == 1 and room.stops == 0 and len(room.played) == 3


def test_its_own_voice_saying_the_wake_word_a_second_late_does_not_wake_it(jarvis_grammar, piper, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A satellite's speaker comes back to its microphone late (1.2 s through wyoming-satellite):
    "hey jarvis" at the end of a reply (a reminder's words) is heard after the reply was played,
    and is still its own voice, not the user."""
    brain = ScriptedBrain(replies={"play some jazz": "Reminder: say hey jarvis."})
    audio = spoken(piper, tmp_path, "Hey Jarvis, play some jazz.", 6.0)
    room = Room(gain=1.0, delay_s=1.2)
    session = jarvis_session(jarvis_grammar, brain, room, piper)
    session.echo_delay_s = 1.5
    asyncio.run(session.listen_to(room.microphone(FileSource(audio, realtime=True).frames())))
    wakes = [e for e in room.events if getattr(e, "kind", "") == "wake"]
    assert len(wakes) == 1 and brain.heard == ["play some jazz"], wakes


def espeak_samples(text: str, folder: Path) -> np.ndarray:
    from assistant.audio.decode import load_audio

    path = folder / "said.wav"
    subprocess.run(["espeak-ng", "-w", str(path), text], check=True)
    return load_audio(path).samples


def test_recognition_begins_in_the_pause_and_goes_on_when_speech_does(tmp_path: Path) -> None:
    """The grammar engine's verdict is sought as soon as a pause may be the end; a pause inside
    a command ("play some ... jazz") that turns out not to be the end changes nothing: the
    whole command is followed and heard."""
    quiet = np.zeros(16000, np.int16)
    audio = np.concatenate([quiet, espeak_samples("hey assistant, what time is it", tmp_path), quiet,
                            espeak_samples("hey assistant, play some", tmp_path), quiet[:800],
                            espeak_samples("jazz", tmp_path), quiet])  # fmt: skip
    frames = [audio[i : i + 480] for i in range(0, len(audio), 480)]
    listener = Listener(ListenerSettings())
    pauses = ends = 0
    for frame in frames:
        ends += listener.push(frame) is not None
        pauses += listener.pause_audio is not None
    assert (ends, pauses) == (2, 3)  # the pause after "some" could have been the end
    brain = ScriptedBrain()
    grammar = PocketsphinxRecognizer(PHRASES, wake_word="hey assistant")
    commands = CommandRecognizer(grammar, None, PHRASES, "hey assistant")
    session = make_session(commands, brain, Recorder())
    asyncio.run(session.listen_to(iter(frames)))
    assert brain.heard == ["what time is it", "play some jazz"]
    # Each recognised from its final pause on, or ended by the short pause of a complete command.
    short = ListenerSettings().trailing_silence_ms / 1000
    assert all(t.early or t.utterance.silence_s < short for t in session.turns), session.turns
    # Followed again after the false end (not decoded afresh from the whole utterance).
    assert session.turns[1].transcript.details["streamed"], session.turns[1].transcript


def decoded_as_heard(session: VoiceSession, frames: Any) -> Any:
    """`frames` at the pace of a microphone, and never faster than the streaming grammar decodes
    them (on a busy machine its partial text would come too late to be tested)."""
    started = time.monotonic()
    for index, frame in enumerate(frames):
        time.sleep(max(0.0, started + index * 0.03 - time.monotonic()))
        yield frame
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline and (
            session.backlog or (session.follower is not None and not session.follower.caught_up)
        ):
            time.sleep(0.005)
        started = max(started, time.monotonic() - index * 0.03)


def test_the_wake_word_alone_opens_listening_for_the_command(jarvis_grammar, piper, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """"Hey Jarvis", a pause, the command: the lone wake phrase is not transcribed (no turn of its
    own, nothing for the command to wait behind); the command is answered as one turn."""
    audio = spoken(piper, tmp_path, "Hey Jarvis", 1.2, "What time is it?", 1.5)
    brain = ScriptedBrain()
    output = Recorder()
    session = jarvis_session(jarvis_grammar, brain, output, piper)
    asyncio.run(session.listen_to(FileSource(audio, realtime=True).frames()))
    assert brain.heard == ["what time is it"]
    assert len(session.turns) == 1 and session.turns[0].transcript.text == "what time is it"
    assert session.turns[0].spoken == "You said what time is it."
    kinds = [getattr(e, "kind", "") for e in output.events]
    assert kinds.count("wake") == 1 and kinds.count("turn") == 1
    assert kinds.index("wake") < kinds.index("speech_started"), "no speech event for the wake phrase"


def test_the_wake_word_alone_chimes_when_asked_to_and_the_command_still_comes(jarvis_grammar, piper, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`[listener] wake_chime`: "Hey Jarvis", a pause: the chime, then the command is answered;
    "Hey Jarvis, what time is it" in one breath: no chime, only the answer."""
    from assistant.audio.wakeword import load_detector
    from assistant.voice.pipeline import wake_chime

    chime = wake_chime()
    audio = spoken(piper, tmp_path, "Hey Jarvis", 1.2, "What time is it?", 2.0, "Hey Jarvis, play some jazz.", 1.5)
    brain = ScriptedBrain()
    output = Recorder(realtime=True)
    session = VoiceSession(brain, jarvis_grammar, piper, output, Listener(ListenerSettings()), wake_mode="audio",
                           detector=load_detector("hey_jarvis"), wake_phrase=WakePhrase("hey jarvis"), chime=chime)  # fmt: skip
    asyncio.run(session.listen_to(FileSource(audio, realtime=True).frames()))
    assert brain.heard == ["what time is it", "play some jazz"]
    chimes = [i for i, speech in enumerate(output.played) if speech is chime]
    assert len(chimes) == 1, f"{len(chimes)} chimes for one lone wake word"
    assert chimes[0] == 0, "the chime comes before the first answer"
    assert 0.1 < chime.duration_s < 0.2 and np.abs(chime.samples).max() < 0.3 * 32768


def test_a_wake_word_whose_start_the_echo_guard_swallowed_still_opens_the_command(jarvis_grammar, piper, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The listener is deaf until a reply's echo has died down; "Hey Jarvis, play some jazz" said
    as it ends is heard from inside "Jarvis". The wake word's tail and the comma's pause are no
    command of their own (CI once heard "set a timer" in them, took the wake word for a lone one
    and chimed over "play"): the command after the comma is the one answered."""
    import soundfile

    from assistant.voice.pipeline import wake_chime

    audio = spoken(piper, tmp_path, 1.0, "Hey Jarvis, play some jazz.", 1.5)  # calibrated first
    samples, _ = soundfile.read(str(audio), dtype="int16")
    onset_s = int(np.argmax(np.abs(samples) > 1000)) / 16000
    for into_s in (0.45, 0.6):  # where in "Hey Jarvis" hearing resumes (0.45 failed)
        brain = ScriptedBrain()
        output = Recorder()
        session = jarvis_session(jarvis_grammar, brain, output, piper)
        session.chime = wake_chime()
        session.gate = lambda s=session, at=onset_s + into_s: s.now_s >= at  # type: ignore[misc]
        asyncio.run(session.listen_to(decoded_as_heard(session, FileSource(audio).frames())))
        assert brain.heard == ["play some jazz"], f"hearing from {into_s} s into the speech"
        assert not any(speech is session.chime for speech in output.played), "no lone wake word"


def test_partial_text_comes_while_the_command_is_said(jarvis_grammar, piper, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    audio = spoken(piper, tmp_path, "Hey Jarvis", 1.2, "Set a timer.", 2.0, "Five minutes.", 1.5)
    brain = ScriptedBrain()
    output = Recorder()
    session = jarvis_session(jarvis_grammar, brain, output, piper)
    asyncio.run(session.listen_to(decoded_as_heard(session, FileSource(audio).frames())))
    assert brain.heard == ["set a timer", "five minutes"]
    kinds = [getattr(e, "kind", "") for e in output.events]
    first_turn = kinds.index("turn")
    partials = [e.text for e in output.events[:first_turn] if isinstance(e, PartialTranscript)]
    assert partials and partials[-1] == "set a timer", partials
    assert all(e.to_json() == {"event": "partial", "text": e.text} for e in output.events if isinstance(e, PartialTranscript))
    # Each new text once: a partial is passed on when it changes.
    assert all(a != b for a, b in zip(partials, partials[1:], strict=False))
    assert "partial" in kinds[first_turn + 1 :], "the answer to the question is followed too"


def test_a_complete_command_ends_at_a_short_pause_a_half_one_waits(piper, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The streaming grammar's partial text decides how long the pause that ends an utterance
    must be: COMPLETE_PAUSE_MS after a whole phrase, the trailing silence after half of one."""
    import soundfile

    from assistant.audio.listener import COMPLETE_PAUSE_MS

    audio, _ = soundfile.read(str(spoken(piper, tmp_path, "Play some jazz.", 1.0, "Play some", 1.5)), dtype="int16")
    frames = [audio[i : i + 480] for i in range(0, len(audio), 480)]
    grammar = PocketsphinxRecognizer(PHRASES, wake_word="hey assistant")
    session = make_session(CommandRecognizer(grammar, None, PHRASES, "hey assistant"), ScriptedBrain(), Recorder(), mode="none")
    asyncio.run(session.listen_to(decoded_as_heard(session, frames)))
    assert [turn.transcript.text for turn in session.turns][0] == "play some jazz"
    silences = [turn.utterance.silence_s for turn in session.turns]
    assert silences[0] == pytest.approx(COMPLETE_PAUSE_MS / 1000, abs=0.001), silences
    assert silences[1] == pytest.approx(ListenerSettings().trailing_silence_ms / 1000, abs=0.03), silences
    assert session.turns[0].to_json()["utterance"]["silence_s"] == silences[0]
    assert not session.turns[0].early, "answered before the pause at which recognition begins early"


def test_a_timer_that_rings_while_a_command_is_said_waits_for_its_answer(jarvis_grammar, piper, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # A notification spoken over the command made the listener deaf to the rest of it (it does
    # not hear its own voice), and the command was lost.
    audio = spoken(piper, tmp_path, 0.5, "Hey Jarvis, what time is it?", 3.0)
    brain = ScriptedBrain(replies={"what time is it": "It is noon."})

    class Ringing(Recorder):
        def emit(self, event: Any) -> None:
            super().emit(event)
            if getattr(event, "kind", "") == "wake":
                session.announce("Your tea timer is done.", wait_for_user=True)

    output = Ringing(realtime=True)
    session = jarvis_session(jarvis_grammar, brain, output, piper)
    asyncio.run(session.listen_to(FileSource(audio, realtime=True).frames()))
    assert brain.heard == ["what time is it"]
    kinds = [getattr(e, "kind", "") for e in output.events]
    assert kinds.index("wake") < kinds.index("turn")
    # The reply first, then the ring: two pieces of speech, the answer's the shorter one.
    assert len(output.played) >= 2
    assert output.played[0].duration_s < output.played[-1].duration_s


def _said(piper: Any, text: str) -> np.ndarray:
    from assistant.audio.decode import resample

    speech = piper.synthesize(text)
    return resample(speech.samples, speech.sample_rate_hz, 16000)


class _RingAwaiter(Recorder):
    """Plays in real time and notes when a ring (a notification that rings) has been delivered."""

    def __init__(self) -> None:
        super().__init__(realtime=True)
        self.rang = threading.Event()

    def emit(self, event: Any) -> None:
        super().emit(event)
        if isinstance(event, Notification) and event.data.get("rings"):
            self.rang.set()


def _frames_around_a_ring(
    parts: list[np.ndarray], after_ring: list[np.ndarray | float], output: _RingAwaiter, voice: Any
) -> Iterator[np.ndarray]:
    """A microphone, paced in real time: `parts` are said; once a ring has been said (delivered,
    then played to its end), `after_ring` is (speech, or seconds of silence)."""
    frame = 480  # 30 ms

    def paced(samples: np.ndarray) -> Iterator[np.ndarray]:
        for start in range(0, len(samples), frame):
            time.sleep(frame / 16000)
            yield samples[start : start + frame]

    quiet = np.zeros(frame, np.int16)
    for part in parts:
        yield from paced(part)
        yield from paced(np.zeros(16000, np.int16))
    deadline = time.monotonic() + 60
    while not (output.rang.is_set() and voice().speaking is None) and time.monotonic() < deadline:
        time.sleep(0.03)
        yield quiet
    for part in after_ring:
        yield from paced(np.zeros(int(part * 16000), np.int16) if isinstance(part, float) else part)


@pytest.mark.slow
# (Whisper tiny.en hears Piper's "snooze" as "Snays" or "It's news": the snooze is asked for in
# words it hears.)
@pytest.mark.parametrize("answer", ["Stop.", "Give me five more minutes."])
def test_a_ringing_timer_is_answered_without_the_wake_word(lexical_app: Any, piper: Any, answer: str) -> None:
    """While a timer rings, "stop" or a snooze needs no wake word; other speech then is still not a
    command, and before the ring "stop" was not one either."""
    from assistant.voice import VoicePipeline

    lexical_app.start_background()
    output = _RingAwaiter()
    voice = VoicePipeline(lexical_app).open_session(output)
    parts = [_said(piper, "Stop."), _said(piper, "Hey Jarvis, set a timer for two seconds.")]
    after = [1.0, _said(piper, "Play some jazz."), 1.0, _said(piper, answer), 3.0]
    frames = _frames_around_a_ring(parts, after, output, lambda: voice)
    asyncio.run(voice.listen_to(frames))

    heard = [(t.transcript.text, t.addressed) for t in voice.turns]
    assert output.rang.is_set(), f"the timer never rang; heard {heard}"
    taken = [t for t in voice.turns if t.addressed and t.turn is not None]
    actions = [(t.turn.skill, t.turn.action) for t in taken]
    expected = "stop_alarm" if answer == "Stop." else "snooze"
    assert actions == [("reminders", "set_timer"), ("reminders", expected)], [t.transcript.text for t in voice.turns]
    ignored = [t.transcript.text for t in voice.turns if not t.addressed]
    assert any("jazz" in text.lower() for text in ignored), ignored  # heard in the ring's window, not taken
    scheduler = lexical_app.services().get("scheduler")
    jobs = scheduler.jobs("reminders")
    assert not [job for job in jobs if job["payload"].get("ring_of")], "still ringing"
    if expected == "snooze":
        assert [job["kind"] for job in jobs] == ["timer"], jobs  # it comes back later
    else:
        assert jobs == [] and "stop" in taken[-1].turn.reply.text.lower(), taken[-1].turn.reply.text
