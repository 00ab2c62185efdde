"""`assistant listen / transcribe / say / devices / models`, run through the real command line."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from assistant.cli import main as cli_main
from assistant.cli import models as models_cli
from assistant.cli import voice as voice_cli

SPEECH = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "speech"
needs_speech = pytest.mark.skipif(
    not SPEECH.is_dir(), reason=f"{SPEECH} (shared speech clips) is absent"
)


@pytest.fixture
def assistant(home_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """Run `assistant ARGS` in this process; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("ASSISTANT_NLU__ENGINE", "lexical")
    monkeypatch.setenv("ASSISTANT_TTS__ENGINE", "espeak")
    modules = cli_main._command_modules()
    if voice_cli not in modules:  # until the command line lists the voice commands itself
        monkeypatch.setattr(cli_main, "_command_modules", lambda: [*modules, voice_cli, models_cli])

    def run(*args: str) -> tuple[int, str, str]:
        code = cli_main.main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def speak(text: str, path: Path) -> Path:
    subprocess.run(["espeak-ng", "-w", str(path), text], check=True)
    return path


def say(text: str, path: Path) -> Path:
    """`text` in the default (Piper) voice, which the "hey jarvis" model hears reliably."""
    from assistant.config import TtsSettings
    from assistant.tts import make_synthesizer

    speech = make_synthesizer(TtsSettings(engine="piper")).synthesize(text)
    soundfile.write(str(path), speech.samples, speech.sample_rate_hz)
    return path


@needs_speech
@pytest.mark.slow
def test_transcribe_a_human_clip(assistant) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = assistant("transcribe", str(SPEECH / "pocketsphinx_librivox_0880.wav"), "--json")
    result = json.loads(out)
    assert (
        code == 0
        and result["engine"] == "whisper"
        and result["duration_s"] == pytest.approx(2.99, abs=0.02)
    )
    assert "not an ill" in result["text"].lower() or "young man" in result["text"].lower()


@pytest.mark.parametrize("content", [b"", b"plain text, not sound\n" * 10])
def test_bad_input_is_one_clear_line(assistant, tmp_path: Path, content: bytes) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.wav"
    bad.write_bytes(content)
    for command in (["transcribe", str(bad)], ["listen", "--input", str(bad), "--output", "null"]):
        code, out, err = assistant(*command)
        assert code == 1 and out == ""
        assert err.startswith(f"assistant: {bad}:") and "Traceback" not in err


@pytest.mark.slow
def test_say_into_a_file_and_read_it_back(assistant, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    reply = tmp_path / "say.wav"
    code, _, _ = assistant("say", "It is ten past five", "--output", str(reply), "--rate", "160")
    assert code == 0 and soundfile.info(str(reply)).duration > 1.0
    code, out, _ = assistant("transcribe", str(reply))
    assert code == 0 and "past five" in out.lower()


@pytest.mark.slow
# Once in a full CI run the grammar's verdict was "not in grammar" and Whisper's words were taken
# ("what time is it?"); it never happened here, alone, in the whole file or on a starved CPU. The
# transcript's details are printed if it happens again.
@pytest.mark.flaky(reruns=1)
def test_listen_once_answers_a_spoken_command(assistant, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    command = say("Hey Jarvis, what time is it?", tmp_path / "cmd.wav")
    reply = tmp_path / "reply.wav"
    code, out, err = assistant(
        "listen", "--input", str(command), "--once", "--json", "--output", str(reply)
    )
    assert code == 0, err
    events = [json.loads(line) for line in out.strip().splitlines()]
    assert events[0]["event"] == "wake" and events[0]["name"] == "Hey Jarvis"
    turn = events[-1]
    assert (turn["skill"], turn["action"]) == ("system", "time")
    assert (
        turn["text"] == "what time is it"
        and turn["transcript"]["text"] == "hey jarvis what time is it"
    ), turn["transcript"]
    assert (
        turn["transcript"]["engine"] == "pocketsphinx" and turn["transcript"]["in_grammar"] is True
    ), turn["transcript"]
    spoken = soundfile.read(str(reply), dtype="int16")[0]
    assert len(spoken) > 22050 and np.abs(spoken).max() > 3000


@pytest.mark.slow
def test_listen_free_speech_goes_to_whisper(assistant, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    question = speak("how far away is the moon from the earth", tmp_path / "q.wav")
    code, out, _ = assistant(
        "listen", "--input", str(question), "--once", "--json", "--no-wake-word", "--output", "null"
    )
    turn = json.loads(out.strip().splitlines()[-1])
    assert (
        code == 0
        and turn["transcript"]["engine"] == "whisper"
        and turn["transcript"]["in_grammar"] is False
    )
    assert (
        turn["text"].lower().startswith("how far away is the")
    )  # espeak's "moon" is often heard as "movement"


@pytest.mark.slow
def test_an_hour_long_input_stops_after_the_first_answer(assistant, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    command = say("Hey Jarvis, what time is it?", tmp_path / "cmd.wav")
    hour = tmp_path / "hour.flac"
    subprocess.run(["sox", str(command), "-r", "16000", str(tmp_path / "cmd16.wav")], check=True)
    with soundfile.SoundFile(
        str(hour), "w", samplerate=16000, channels=1, subtype="PCM_16"
    ) as handle:
        handle.write(soundfile.read(str(tmp_path / "cmd16.wav"), dtype="int16")[0])
        silence = np.zeros(16000 * 60, np.int16)
        for _ in range(60):
            handle.write(silence)
    code, out, _ = assistant("listen", "--input", str(hour), "--once", "--json", "--output", "null")
    assert code == 0 and json.loads(out.strip().splitlines()[-1])["action"] == "time"


@pytest.mark.slow
def test_listen_to_raw_pcm_on_stdin(
    assistant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    command = say("Hey Jarvis, what time is it?", tmp_path / "cmd.wav")
    raw = subprocess.run(
        [
            "sox",
            str(command),
            "-t",
            "raw",
            "-r",
            "16000",
            "-e",
            "signed",
            "-b",
            "16",
            "-c",
            "1",
            "-",
        ],
        check=True,
        capture_output=True,
    ).stdout
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))
    code, out, _ = assistant("listen", "--input", "-", "--once", "--json", "--output", "null")
    assert code == 0 and json.loads(out.strip().splitlines()[-1])["action"] == "time"


@pytest.mark.slow
def test_transcribing_an_hour_long_file_reads_only_the_start(assistant, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    subprocess.run(["espeak-ng", "-w", str(tmp_path / "a.wav"), "play some jazz"], check=True)
    subprocess.run(
        ["sox", str(tmp_path / "a.wav"), "-r", "16000", str(tmp_path / "a16.wav")], check=True
    )
    hour = tmp_path / "hour.flac"
    with soundfile.SoundFile(
        str(hour), "w", samplerate=16000, channels=1, subtype="PCM_16"
    ) as handle:
        handle.write(np.zeros(16000 * 20, np.int16))
        handle.write(soundfile.read(str(tmp_path / "a16.wav"), dtype="int16")[0])
        for _ in range(60):
            handle.write(np.zeros(16000 * 60, np.int16))
    code, out, _ = assistant("transcribe", str(hour), "--max-duration", "60", "--json")
    result = json.loads(out)
    assert code == 0 and result["truncated"] is True and result["duration_s"] == pytest.approx(60.0)
    assert result["text"].lower().startswith("play some")


@needs_speech
@pytest.mark.slow
def test_listen_to_a_human_voice(assistant) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = assistant("listen", "--input", str(SPEECH / "speechcommands_no_1000ms.wav"), "--once",
                             "--json", "--no-wake-word", "--output", "null")  # fmt: skip
    turn = json.loads(out.strip().splitlines()[-1])
    assert code == 0 and turn["transcript"]["text"].lower().strip(" .!") == "no"


def test_models_list_and_unknown_pull(assistant) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = assistant("models", "list", "--json")
    rows = json.loads(out)["models"]
    assert (
        code == 0
        and "vosk-small-en" in [r["name"] for r in rows]
        and not any(r["installed"] for r in rows)
    )
    code, _, err = assistant("models", "pull", "no-such-model")
    assert code == 1 and "no model named 'no-such-model'" in err


def test_devices_without_a_sound_card(assistant) -> None:  # type: ignore[no-untyped-def]
    code, out, err = assistant("devices", "--json")
    # A list where there is sound (test_audio_devices.py: a sound server's), else one sentence.
    if code == 0:
        assert isinstance(json.loads(out)["devices"], list)
    else:
        assert code == 1 and err.startswith("assistant: no sound server is running"), err


PROSE = (
    "The history of the river valley begins long before the first farms. Glaciers carved the "
    "hills, and the water that followed left a broad plain of silt. For centuries the valley was "
    "a place of passage rather than settlement. Traders moved salt and cloth along the banks, and "
    "the fords became small markets. When the mills arrived the town grew around them. The "
    "weavers worked long hours, and their children learned the trade early. In the evenings the "
    "square filled with music, and one old man would always say, I'd like to hear Miles Davis, "
    "though nobody there had a record of him. The railway changed everything again. Goods that "
    "had taken a week to reach the coast now took a day, and the mills could not compete with the "
    "factories in the cities. Many families left. Those who stayed turned the old buildings into "
    "workshops and homes, and the valley slowly became the quiet place it is today."
)


@pytest.mark.slow
def test_dictated_prose_in_a_file_is_not_taken_for_commands(assistant, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A long recording of other speech: without the wake word nothing in it is a command."""
    prose = tmp_path / "prose.wav"
    subprocess.run(["espeak-ng", "-s", "140", "-w", str(prose), PROSE], check=True)
    assert soundfile.info(str(prose)).duration > 60
    code, out, err = assistant("listen", "--input", str(prose), "--json", "--output", "null")
    assert code == 1 and "no request heard" in err
    assert [json.loads(line) for line in out.splitlines() if "skill" in line] == []


def test_listen_json_prints_partial_text(capsys: pytest.CaptureFixture[str]) -> None:
    """`listen --json` prints the words heard so far as `partial` lines; the plain printer keeps
    to what was heard and answered."""
    from assistant.cli.output import Printer
    from assistant.events import PartialTranscript, event_from_json

    voice_cli._ListenEvents(Printer(as_json=True), True).emit(PartialTranscript(text="what time"))
    line = json.loads(capsys.readouterr().out.strip())
    assert line == {"event": "partial", "text": "what time"}
    assert event_from_json(line) == PartialTranscript(text="what time")
    voice_cli._ListenEvents(Printer(as_json=False), False).emit(PartialTranscript(text="what time"))
    assert capsys.readouterr() == ("", "")


def test_listen_says_ready_once_when_the_first_frame_comes(capsys: pytest.CaptureFixture[str]) -> None:
    from assistant.events import Ready, event_from_json

    closed: list[bool] = []

    def microphone():  # type: ignore[no-untyped-def]
        try:
            for _ in range(3):
                yield np.zeros(480, np.int16)
        finally:
            closed.append(True)

    printed = voice_cli._ListenEvents(voice_cli.Printer(as_json=False), as_json=False)
    frames = voice_cli._announced(microphone(), printed, "Hey Jarvis", push_to_talk=False)
    assert capsys.readouterr().err == ""  # nothing until the microphone gives sound
    next(frames)
    assert capsys.readouterr().err == 'Listening: say "Hey Jarvis", then your request. Ctrl+C ends.\n'
    frames.close()
    assert closed == [True] and capsys.readouterr().err == ""
    ready = Ready(wake_word="Hey Jarvis")
    assert event_from_json(ready.to_json()) == ready
