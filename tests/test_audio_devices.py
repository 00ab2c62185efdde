"""assistant.audio.devices through a real PulseAudio (tests/sound_server.py) with two more named
speakers, "kitchen" and "desk": `devices` lists the server's names, `say` plays to the one it is
told and `listen` records from the one it is told; without a sound server, one sentence says what
to do; ALSA's own messages go to the log, not to the terminal."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import REPO, cli_environ, json_lines, run_cli

SILENT = 100
"""Peak of a recording that got nothing (a null sink's monitor is exactly 0)."""


@pytest.fixture
def rooms(sound_server: Any) -> Any:
    """The sound server with a "kitchen" (described "Kitchen Speaker") and a "desk" speaker."""
    sound_server.add_sink("kitchen", "Kitchen Speaker")
    sound_server.add_sink("desk")
    return sound_server


def on_server(server: Any, home: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """`assistant ARGS` reaching `server` (as the user's session would) and nothing else."""
    return run_cli(*args, home=home, env={**server.environment, **(env or {})}, timeout=timeout)


def devices(server: Any, home: Path) -> list[dict[str, Any]]:
    result = on_server(server, home, "devices", "--json")
    assert result.returncode == 0, result.stderr
    listing = json.loads(result.stdout)
    assert listing["sound_server"]["name"].startswith("PulseAudio"), listing
    return listing["devices"]  # type: ignore[no-any-return]


def test_devices_are_the_servers_sources_and_sinks_by_name(rooms: Any, home_dir: Path) -> None:
    listed = devices(rooms, home_dir)
    speakers = {d["name"]: d for d in listed if d["outputs"]}
    microphones = {d["name"]: d for d in listed if d["inputs"]}
    # Not PortAudio's "pulse" and "default", each counted as an input and an output.
    assert set(speakers) == {"speaker", "microphone", "kitchen", "desk"}, listed
    assert set(microphones) == {f"{s}.monitor" for s in speakers}, listed
    assert speakers["kitchen"]["description"] == "Kitchen Speaker"
    assert speakers["speaker"]["default"] and not speakers["desk"]["default"]
    assert microphones["microphone.monitor"]["default"] and microphones["desk.monitor"]["monitor"]
    assert len({d["index"] for d in listed}) == len(listed)  # one number each

    shown = on_server(rooms, home_dir, "devices")
    assert shown.returncode == 0, shown.stderr
    assert "sound server: PulseAudio" in shown.stdout
    lines = shown.stdout.splitlines()
    assert any(line.split()[:3] == [str(speakers["kitchen"]["index"]), "kitchen", "Kitchen"] for line in lines), shown.stdout
    assert "pulse" not in shown.stdout.split()


def test_doctor_names_the_server_and_counts_its_devices(rooms: Any, home_dir: Path) -> None:
    result = on_server(rooms, home_dir, "doctor", "--json")
    check = next(c for c in json.loads(result.stdout) if c["name"] == "audio devices")
    assert check["ok"], check
    # Every source here is a speaker's monitor: none is counted as a microphone.
    assert check["detail"].startswith("PulseAudio "), check
    assert "0 microphone(s) and 4 speaker monitor(s), 4 speaker(s)" in check["detail"], check
    assert "default microphone microphone.monitor, speaker speaker" in check["detail"], check


def test_assistant_alone_on_a_terminal_names_the_servers_microphone(rooms: Any, home_dir: Path) -> None:
    """`assistant` with no command, typed at a terminal: it listens, and says on which microphone
    by the server's description (here the default source, a speaker's monitor), not "pulse"."""
    import os
    import pty

    controller, terminal = pty.openpty()
    env = {**cli_environ(home_dir), **rooms.environment, "ASSISTANT_HOME": str(home_dir)}
    process = subprocess.Popen([sys.executable, "-m", "assistant"], stdin=terminal, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)  # fmt: skip
    os.close(terminal)
    try:
        assert process.stderr is not None
        first = process.stderr.readline()
    finally:
        process.kill()
        process.wait()
        os.close(controller)
    assert first.startswith("assistant: listening on Monitor of"), first
    assert "pulse" not in first.split(), first


def record_each(server: Any, folder: Path, sinks: list[str]) -> dict[str, tuple[Any, Path]]:
    recorders = {}
    for sink in sinks:
        path = folder / f"{sink}.raw"
        recorders[sink] = (server.record(f"{sink}.monitor", path), path)
    time.sleep(0.5)  # the recorders are connected
    return recorders


def peaks(server: Any, recorders: dict[str, tuple[Any, Path]]) -> dict[str, int]:
    time.sleep(0.5)  # the last of the sound leaves the null sinks
    return {sink: int(np.abs(server.stop_recording(*rec).astype(np.int32)).max(initial=0)) for sink, rec in recorders.items()}


@pytest.mark.slow  # the Piper voice
@pytest.mark.parametrize("how", ["name", "description", "number", "setting", "portaudio-name"])
def test_say_plays_to_the_speaker_it_is_told(rooms: Any, home_dir: Path, tmp_path: Path, how: str) -> None:
    numbers = {d["name"]: d["index"] for d in devices(rooms, home_dir) if d["outputs"]}
    # PortAudio's own "pulse", as set before the server's names were listed: the server's default.
    target = {"description": "kitchen", "number": "kitchen", "portaudio-name": "speaker"}.get(how, "desk")
    option = {"name": "desk", "description": "kitchen speaker", "number": str(numbers["kitchen"]), "setting": "speaker",
              "portaudio-name": "pulse"}[how]  # fmt: skip
    env = {"ASSISTANT_AUDIO__OUTPUT": "desk"} if how == "setting" else {}
    recorders = record_each(rooms, tmp_path, ["speaker", "kitchen", "desk"])
    said = on_server(rooms, home_dir, "say", "--output", option, "Hello from the assistant.", env=env)
    played = peaks(rooms, recorders)
    assert said.returncode == 0, said.stderr
    assert played[target] > 3000, played
    assert all(peak < SILENT for sink, peak in played.items() if sink != target), played


def test_an_unknown_speaker_is_named_with_what_to_do(rooms: Any, home_dir: Path) -> None:
    said = on_server(rooms, home_dir, "say", "--output", "garage", "hello")
    assert said.returncode == 1
    lines = said.stderr.strip().splitlines()
    assert len(lines) == 1, said.stderr
    assert lines[0].startswith("assistant: no speaker is named or numbered 'garage' on PulseAudio"), lines
    assert "`assistant devices` lists them" in lines[0] and "--output FILE.wav" in lines[0], lines


@pytest.mark.slow  # the speech recognisers
@pytest.mark.parametrize("how", ["option", "setting"])
def test_listen_records_from_the_microphone_it_is_told(rooms: Any, home_dir: Path, tmp_path: Path, how: str) -> None:
    command = tmp_path / "command.wav"
    subprocess.run(["espeak-ng", "-s", "150", "-w", str(command), "tell me about yourself"], check=True)
    microphone = ["--input", "desk.monitor"] if how == "option" else []
    setting = {"ASSISTANT_AUDIO__INPUT": "desk.monitor"} if how == "setting" else {}
    listen = subprocess.Popen(
        [sys.executable, "-m", "assistant", "listen", *microphone, "--no-wake-word", "--once", "--json"],
        env=cli_environ(home_dir, {**rooms.environment, **setting}),
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while rooms.listeners("desk.monitor") == 0:
            assert listen.poll() is None, listen.communicate()[1][-2000:]
            assert time.monotonic() < deadline, "listen did not open the desk's monitor"
            time.sleep(0.25)
        assert rooms.listeners("microphone.monitor") == 0  # not the default microphone
        time.sleep(1.5)  # the listener measures the room's noise first
        rooms.play(command, "desk")
        out, err = listen.communicate(timeout=120)
    finally:
        if listen.poll() is None:
            listen.kill()
            listen.communicate()
    assert listen.returncode == 0, err[-2000:]
    turn = json_lines(out)[-1]
    assert (turn["skill"], turn["action"]) == ("system", "about"), turn
    # The reply was played on the default speaker; PortAudio's ALSA underruns and the like
    # went to the log, not to the terminal.
    assert "ALSA lib" not in err, err[-2000:]


def test_alsa_messages_go_to_the_log_not_the_terminal(tmp_path: Path) -> None:
    # A device ALSA does not know makes libasound complain ("Unknown PCM ...") on stderr.
    program = """
import ctypes, logging, sys
logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(name)s %(message)s")
if sys.argv[1] == "quiet":
    from assistant.audio.devices import quiet_alsa
    quiet_alsa()
asound = ctypes.CDLL("libasound.so.2")
pcm = ctypes.c_void_p()
assert asound.snd_pcm_open(ctypes.byref(pcm), b"no_such_device", 0, 0) < 0
"""
    loud = subprocess.run([sys.executable, "-c", program, "loud"], capture_output=True, text=True, cwd=REPO)
    quiet = subprocess.run([sys.executable, "-c", program, "quiet"], capture_output=True, text=True, cwd=REPO)
    assert "no_such_device" in loud.stderr or "Unknown PCM" in loud.stderr, loud  # what users saw
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
    assert "assistant.audio.alsa ALSA" in quiet.stdout and "Unknown PCM" in quiet.stdout, quiet.stdout


@pytest.fixture
def no_sound_server(tmp_path: Path) -> dict[str, str]:
    """PULSE_SERVER at a socket nothing listens on; skipped where ALSA has sound cards of its own."""
    cards = Path("/proc/asound/cards")
    if cards.exists() and "no soundcards" not in cards.read_text():
        pytest.skip("this machine has sound cards: PortAudio plays without a sound server")
    return {"PULSE_SERVER": f"unix:{tmp_path}/no-server"}


@pytest.mark.parametrize("command", [["devices"], ["devices", "--json"], ["say", "hello"], ["listen", "--once"]])
def test_no_sound_server_is_one_sentence_with_the_fix(no_sound_server: dict[str, str], home_dir: Path, command: list[str]) -> None:
    result = run_cli(*command, home=home_dir, env=no_sound_server)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"assistant: no sound server is running (nothing answers at PULSE_SERVER={no_sound_server['PULSE_SERVER']})"), lines
    instead = "--input FILE" if command[0] == "listen" else "--output FILE.wav"
    assert "pulseaudio --start" in lines[0] and instead in lines[0], lines
    assert result.stdout == ""


def test_doctor_says_there_is_no_sound_server(no_sound_server: dict[str, str], home_dir: Path) -> None:
    result = run_cli("doctor", home=home_dir, env=no_sound_server)
    lines = result.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if "audio devices" in line)
    assert lines[at].startswith("--  audio devices: no sound server is running"), lines[at]
    assert "pulseaudio --start" in lines[at + 1], lines[at + 1]
