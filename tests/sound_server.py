"""A real sound server for the tests: a private PulseAudio daemon with a null speaker and a null microphone.

No sound card is needed. Two null sinks stand in for the hardware:
- "speaker" is the default sink: what the assistant plays goes there, and
  `record_speaker()` records its monitor;
- "microphone" is a sink whose monitor is the default source: what
  `play_into_microphone()` plays there is what the assistant hears.
Programs find the daemon through PULSE_SERVER; ALSA programs (PortAudio, so
sounddevice) reach it through the ALSA pulse plugin (`libasound2-plugins`),
whose default device becomes PulseAudio when one is running.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

RATE_HZ = 16000
SPEAKER = "speaker"
MICROPHONE = "microphone"

_SCRIPT = """
load-module module-native-protocol-unix auth-anonymous=1 socket={socket}
load-module module-null-sink sink_name={speaker} rate=22050 channels=1
load-module module-null-sink sink_name={microphone} rate=16000 channels=1
set-default-sink {speaker}
set-default-source {microphone}.monitor
"""


class SoundServerUnavailable(RuntimeError):
    """PulseAudio is not installed or would not start here; the message says why."""


@dataclass
class SoundServer:
    """A running private PulseAudio daemon; `environment` reaches it."""

    folder: Path
    process: subprocess.Popen[bytes]
    environment: dict[str, str]
    _recorders: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def pactl(self, *args: str) -> str:
        return subprocess.run(
            ["pactl", *args], env=self.environment, capture_output=True, text=True, check=True, timeout=10
        ).stdout

    def add_sink(self, name: str, description: str | None = None) -> None:
        """Another null sink (a speaker of that name; its monitor a source), 16 kHz mono."""
        properties = [f"sink_properties='device.description=\"{description}\"'"] if description else []
        self.pactl("load-module", "module-null-sink", f"sink_name={name}", "rate=16000", "channels=1", *properties)

    def microphone_listeners(self) -> int:
        """How many programs are recording from the microphone now."""
        return self.listeners(f"{MICROPHONE}.monitor")

    def listeners(self, source: str) -> int:
        """How many programs are recording from `source` now."""
        sources = self.pactl("list", "short", "sources").splitlines()
        index = next(line.split("\t")[0] for line in sources if f"\t{source}\t" in line)
        outputs = self.pactl("list", "short", "source-outputs").splitlines()
        return sum(1 for line in outputs if line.split("\t")[1] == index)

    def play_into_microphone(self, wav: Path) -> None:
        """Play a sound file to the microphone and wait until it has been played."""
        self.play(wav, MICROPHONE)

    def play(self, wav: Path, sink: str) -> None:
        """Play a sound file to `sink` and wait until it has been played."""
        subprocess.run(["paplay", f"--device={sink}", str(wav)], env=self.environment, check=True, timeout=120)

    def record_speaker(self, path: Path) -> subprocess.Popen[bytes]:
        """Start recording what the speaker plays as raw 16 kHz int16 mono into `path`."""
        return self.record(f"{SPEAKER}.monitor", path)

    def record_microphone(self, path: Path) -> subprocess.Popen[bytes]:
        """Start recording what the microphone hears as raw 16 kHz int16 mono into `path`."""
        return self.record(f"{MICROPHONE}.monitor", path)

    def record(self, source: str, path: Path, latency_ms: int = 100) -> subprocess.Popen[bytes]:
        """Start recording `source` as raw 16 kHz int16 mono into `path`; the file grows about
        every `latency_ms` (so it can be read while recording)."""
        with path.open("wb") as out:
            recorder = subprocess.Popen(
                ["parec", f"--device={source}", "--format=s16le", f"--rate={RATE_HZ}", "--channels=1",
                 f"--latency-msec={latency_ms}"],
                stdout=out,
                env=self.environment,
            )  # fmt: skip
        self._recorders.append(recorder)
        return recorder

    def stop_recording(self, recorder: subprocess.Popen[bytes], path: Path) -> np.ndarray:
        """Stop a recorder from `record_speaker` and return what it heard."""
        recorder.send_signal(signal.SIGINT)
        recorder.wait(timeout=10)
        return np.frombuffer(path.read_bytes(), dtype=np.int16)

    def close(self) -> None:
        for recorder in self._recorders:
            if recorder.poll() is None:
                recorder.kill()
                recorder.wait()
        stop(self.process, 10)


def start_sound_server(folder: Path, timeout_s: float = 15.0) -> SoundServer:
    """Start a private PulseAudio daemon under `folder`; `SoundServerUnavailable` when it cannot."""
    for program in ("pulseaudio", "pactl", "paplay", "parec"):
        if shutil.which(program) is None:
            raise SoundServerUnavailable(
                f"{program} is not installed (apt-get install pulseaudio pulseaudio-utils libasound2-plugins)"
            )
    runtime = folder / "run"
    runtime.mkdir(parents=True, exist_ok=True)
    runtime.chmod(0o700)
    socket = runtime / "native"
    script = folder / "default.pa"
    script.write_text(_SCRIPT.format(socket=socket, speaker=SPEAKER, microphone=MICROPHONE))
    environment = {
        **os.environ,
        "XDG_RUNTIME_DIR": str(runtime),
        "PULSE_RUNTIME_PATH": str(runtime / "pulse"),
        "PULSE_SERVER": f"unix:{socket}",
        "PULSE_STATE_PATH": str(folder / "state"),
    }
    log = (folder / "pulseaudio.log").open("wb")
    # As root PulseAudio only warns that it is not meant to run so; --system=false keeps it
    # a private per-test daemon, -n skips the machine's default.pa (no hardware modules).
    process = subprocess.Popen(
        [
            "pulseaudio",
            "--daemonize=no",
            "--exit-idle-time=-1",
            "--system=false",
            "--disallow-exit",
            "--use-pid-file=false",
            "--log-target=stderr",
            "-n",
            "-F",
            str(script),
        ],
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = SoundServer(folder, process, environment)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        probe = subprocess.run(["pactl", "info"], env=environment, capture_output=True, text=True)
        if probe.returncode == 0 and f"Default Sink: {SPEAKER}" in probe.stdout:
            return server
        time.sleep(0.2)
    server.close()
    tail = (folder / "pulseaudio.log").read_text(errors="replace").strip().splitlines()[-3:]
    raise SoundServerUnavailable(f"PulseAudio did not start: {' / '.join(tail) or 'no output'}")


def stop(process: subprocess.Popen[Any], timeout_s: float) -> None:
    """Ask `process` to end; kill it if it has not within `timeout_s`."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
