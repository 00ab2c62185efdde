"""assistant.audio.listener: utterances cut from real espeak speech, silence, noise and long talk."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from assistant.audio.listener import Listener, Utterance
from assistant.audio.sources import FileSource
from assistant.config import ListenerSettings


def speak(text: str, path: Path) -> Path:
    subprocess.run(["espeak-ng", "-w", str(path), text], check=True)
    return path


@pytest.fixture(scope="module")
def two_commands(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1 s silence, "what time is it", 2 s silence, "play some jazz", as 16 kHz WAV."""
    folder = tmp_path_factory.mktemp("listener")
    first = speak("what time is it", folder / "a.wav")
    second = speak("play some jazz", folder / "b.wav")
    out = folder / "two.wav"
    subprocess.run(
        [
            "sox",
            "-n",
            "-r",
            "22050",
            "-c",
            "1",
            "-b",
            "16",
            str(folder / "s.wav"),
            "trim",
            "0",
            "1",
        ],
        check=True,
    )
    silence = folder / "s.wav"
    subprocess.run(
        ["sox", str(silence), str(first), str(silence), str(silence), str(second), str(out)],
        check=True,
    )
    return out


def utterances(path: Path, **settings: object) -> list:  # type: ignore[type-arg]
    listener = Listener(ListenerSettings(**settings))  # type: ignore[arg-type]
    return list(listener.utterances(FileSource(path).frames()))


def test_two_commands_become_two_utterances(two_commands: Path) -> None:
    found = utterances(two_commands)
    assert len(found) == 2
    first, second = found
    assert 0.6 < first.start_s < 1.05 and 1.6 < first.end_s < 2.3
    assert 3.8 < second.start_s < 4.4
    assert not first.truncated and first.audio.dtype.name == "int16"


def test_white_noise_at_10db_snr_still_splits(two_commands: Path, tmp_path: Path) -> None:
    noisy = tmp_path / "noisy.wav"
    subprocess.run(
        f"sox {two_commands} -p synth whitenoise vol 0.03 | sox -m {two_commands} - {noisy}",
        shell=True,
        check=True,
    )
    assert len(utterances(noisy)) == 2


def test_silence_and_hum_give_no_utterance(tmp_path: Path) -> None:
    quiet = tmp_path / "quiet.wav"
    subprocess.run(
        [
            "sox",
            "-n",
            "-r",
            "16000",
            "-c",
            "1",
            "-b",
            "16",
            str(quiet),
            "synth",
            "4",
            "sine",
            "60",
            "vol",
            "0.02",
        ],
        check=True,
    )
    assert utterances(quiet) == []


def test_long_talk_is_cut_at_the_maximum(tmp_path: Path) -> None:
    talk = speak(
        "and mister john dashwood had then leisure to consider how much there might be prudently in his power to do for them",
        tmp_path / "long.wav",
    )
    found = utterances(talk, max_utterance_s=2.0)
    assert found[0].truncated and found[0].duration_s <= 2.05
    assert len(found) >= 2


def test_speech_from_the_first_sample_is_kept(tmp_path: Path) -> None:
    found = utterances(speak("what time is it", tmp_path / "t.wav"))
    assert len(found) == 1 and found[0].start_s == 0.0 and found[0].duration_s > 0.7


def test_barge_in_callback_fires_when_speech_starts(two_commands: Path) -> None:
    starts: list[int] = []
    listener = Listener(ListenerSettings(), on_speech_start=lambda: starts.append(1))
    list(listener.utterances(FileSource(two_commands).frames()))
    assert len(starts) == 2


class Recorder:
    """An observer that writes down what it is told, in order."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.frames: list[np.ndarray] = []
        self.heard: list[np.ndarray] = []

    def speech_started(self, frames: list[np.ndarray]) -> None:
        self.events.append("started")
        self.frames = list(frames)

    def speech_frame(self, frame: np.ndarray) -> None:
        self.frames.append(frame)

    def utterance_ended(self, utterance: Utterance) -> None:
        self.events.append("ended")
        self.heard.append(np.concatenate(self.frames))

    def utterance_dropped(self) -> None:
        self.events.append("dropped")


@pytest.fixture(scope="module")
def paused_command(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Silence, "hey assistant", a pause shorter than the end-of-speech silence, a command."""
    folder = tmp_path_factory.mktemp("paused")
    wake = speak("hey assistant", folder / "a.wav")
    command = speak("what time is it", folder / "b.wav")
    pause, lead = folder / "pause.wav", folder / "lead.wav"
    for path, seconds in ((pause, "0.1"), (lead, "1")):
        subprocess.run(
            ["sox", "-n", "-r", "22050", "-c", "1", "-b", "16", str(path), "trim", "0", seconds],
            check=True,
        )
    out = folder / "paused.wav"
    subprocess.run(
        ["sox", str(lead), str(wake), str(pause), str(command), str(lead), str(out)], check=True
    )
    return out


@pytest.mark.parametrize("max_utterance_s", [15.0, 1.0])
def test_the_observer_is_given_every_frame_of_each_utterance_in_order(
    paused_command: Path, two_commands: Path, max_utterance_s: float
) -> None:
    for path in (paused_command, two_commands):
        recorder = Recorder()
        listener = Listener(ListenerSettings(max_utterance_s=max_utterance_s), observer=recorder)
        found = list(listener.utterances(FileSource(path).frames()))
        assert found and recorder.events == ["started", "ended"] * len(found)
        for utterance, heard in zip(found, recorder.heard, strict=True):
            assert np.array_equal(heard, utterance.audio)


def test_a_pause_that_may_end_an_utterance_gives_its_audio_first(two_commands: Path) -> None:
    """`pause_audio` is set once per pause long enough to end an utterance, before the end is
    declared, and is the utterance's audio exactly when the pause is its end."""
    listener = Listener(ListenerSettings())
    early: list[tuple[int, np.ndarray]] = []
    ended: list[tuple[int, Utterance]] = []
    for index, frame in enumerate(FileSource(two_commands).frames()):
        utterance = listener.push(frame)
        if listener.pause_audio is not None:
            early.append((index, listener.pause_audio))
        if utterance is not None:
            ended.append((index, utterance))
    assert len(ended) == 2 and len(early) == 2
    for (early_index, audio), (end_index, utterance) in zip(early, ended, strict=True):
        assert np.array_equal(audio, utterance.audio)
        assert end_index - early_index >= 5  # 150 ms or more before the end is declared


def test_a_complete_command_ends_at_the_short_pause(two_commands: Path) -> None:
    """`complete` is asked from COMPLETE_PAUSE_MS of pause on, with the frames before the pause;
    True ends the utterance there, False leaves it to the trailing silence."""
    from assistant.audio.listener import COMPLETE_PAUSE_MS

    asked: list[int] = []

    def complete(frames: int) -> bool:
        asked.append(frames)
        return len(asked) == 1  # the first utterance only

    listener = Listener(ListenerSettings())
    listener.complete = complete
    found = list(listener.utterances(FileSource(two_commands).frames()))
    assert [u.silence_s for u in found] == [COMPLETE_PAUSE_MS / 1000, 0.48]
    default = utterances(two_commands)
    assert found[0].end_s == default[0].end_s and found[0].start_s == default[0].start_s
    assert np.array_equal(found[0].audio, default[0].audio), "the same audio, only sooner"
    assert found[1].end_s == default[1].end_s
    assert asked[0] == round((found[0].end_s - found[0].start_s) / 0.03)


def test_frames_skipped_before_calibration_are_never_heard(two_commands: Path) -> None:
    """A push-to-talk button not yet pressed (or the first reply playing) skips frames before the
    noise floor is known: they calibrate, but "what time is it" in them is no utterance, and they
    are not kept (the button may stay up for an hour)."""
    listener = Listener(ListenerSettings())
    frames = list(FileSource(two_commands).frames())
    skipped_until = int(2.5 / 0.03)  # "what time is it" is over by 2.3 s
    for frame in frames[:skipped_until]:
        listener.skip(frame)
    assert listener.noise_floor_rms is not None and not listener._head
    found = [u for u in (listener.push(frame) for frame in frames[skipped_until:]) if u is not None]
    flushed = listener.flush()
    found += [flushed] if flushed is not None else []
    assert len(found) == 1 and 3.8 < found[0].start_s < 4.4, found
