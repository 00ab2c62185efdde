"""A room for wyoming-satellite, driven through its pipes: the microphone, the speaker, its events.

    python satellite_room.py mic ROOM      raw 16 kHz mono int16 PCM on stdout, as ROOM/plan.json says
    python satellite_room.py snd ROOM      the reply's PCM from stdin into ROOM/reply-N.raw
    python satellite_room.py event ROOM K  one line "K<TAB>stdin" appended to ROOM/events.log

The plan is a list of steps: {"say": "a.raw"} (in real time), {"burst": "a.raw", "seconds": S}
(that audio looped for S seconds, all at once: faster than real time), {"silence": S}, and
{"until": "detection", "count": N} (silence in real time until the Nth such event; for "reply",
then as long as that reply lasts, as if it were being heard; "playing": the speaker was given
the Nth reply's first audio). With "echo": GAIN in a step, the
speaker's output is mixed into the microphone at that gain while the step lasts (a room where
the speaker is audible to the microphone).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

RATE_HZ = 16000
CHUNK = 1024
SND_RATE_HZ = 22050
WAIT_S = 120.0


def events(room: Path, kind: str) -> list[str]:
    if kind == "playing":  # replies the speaker has begun to be given
        return [path.name for path in sorted(room.glob("reply-*.raw*"))]
    try:
        lines = (room / "events.log").read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    return [line.split("\t", 1)[1] if "\t" in line else "" for line in lines if line.split("\t")[0] == kind]


class Mic:
    def __init__(self, room: Path):
        self.room = room
        self.out = sys.stdout.buffer
        self.clock = time.monotonic()
        self.echo_gain = 0.0
        self.echo_heard: dict[str, int] = {}
        self._resampled: dict[str, tuple[int, np.ndarray]] = {}

    def write(self, samples: np.ndarray, realtime: bool = True) -> None:
        for start in range(0, len(samples), CHUNK):
            chunk = samples[start : start + CHUNK].astype(np.float64)
            if self.echo_gain:
                chunk = chunk + self.echo_gain * self.echo(len(chunk))
            self.out.write(np.clip(chunk, -32768, 32767).astype("<i2").tobytes())
            self.out.flush()
            if realtime:
                self.clock = max(self.clock, time.monotonic() - 0.5) + len(chunk) / RATE_HZ
                time.sleep(max(0.0, self.clock - time.monotonic()))

    def resampled(self, name: str, data: np.ndarray) -> np.ndarray:
        """The reply so far at 16 kHz, through a polyphase filter as a sound card's converter
        would (linear interpolation would add aliases that no echo canceller could model)."""
        from scipy.signal import resample_poly

        cached = self._resampled.get(name)
        if cached is None or cached[0] != len(data):
            converted = resample_poly(data.astype(np.float64), 320, 441) if len(data) else np.zeros(0)
            cached = self._resampled[name] = (len(data), converted)
        return cached[1]

    def echo(self, count: int) -> np.ndarray:
        """The next `count` samples of what the speaker is playing (zeros when silent)."""
        out = np.zeros(count)
        for path in sorted(self.room.glob("reply-*.raw*")):
            name = path.name.split(".")[0]  # the same reply while written and once complete
            done = self.echo_heard.get(name, 0)
            try:
                raw = path.read_bytes()
            except FileNotFoundError:  # renamed from .part meanwhile: read next time
                continue
            data = np.frombuffer(raw[: len(raw) // 2 * 2], "<i2")
            at_16k = self.resampled(name, data)
            part = at_16k[done : done + count]
            if len(part):
                out[: len(part)] += part
                self.echo_heard[name] = done + len(part)
                return out
        return out

    def run(self, plan: list[dict[str, object]]) -> None:
        silence = np.zeros(CHUNK, np.int16)
        with open(self.room / "events.log", "a", encoding="utf-8") as log:
            log.write("mic-start\t\n")  # once: a restarted microphone would replay the plan
        for step in plan:
            with open(self.room / "events.log", "a", encoding="utf-8") as log:
                log.write(f"step\t{json.dumps(step)}\n")
            self.echo_gain = float(step.get("echo", 0.0))  # type: ignore[arg-type]
            if "say" in step:
                self.write(np.fromfile(self.room / str(step["say"]), "<i2"))
            elif "burst" in step:
                loop = np.fromfile(self.room / str(step["burst"]), "<i2")
                total = int(float(step["seconds"]) * RATE_HZ)  # type: ignore[arg-type]
                for start in range(0, total, RATE_HZ * 10):
                    index = np.arange(start, min(total, start + RATE_HZ * 10)) % len(loop)
                    self.write(loop[index], realtime=False)
                self.clock = time.monotonic()
            elif "silence" in step:
                self.write(np.zeros(int(float(step["silence"]) * RATE_HZ), np.int16))  # type: ignore[arg-type]
            elif "until" in step:
                kind, count = str(step["until"]), int(step.get("count", 1))  # type: ignore[call-overload]
                deadline = time.monotonic() + WAIT_S
                while len(events(self.room, kind)) < count and time.monotonic() < deadline:
                    self.write(silence)
                if kind == "reply" and len(events(self.room, kind)) >= count:
                    seconds = int(events(self.room, kind)[count - 1]) / 2 / SND_RATE_HZ
                    self.write(np.zeros(int((seconds + 0.5) * RATE_HZ), np.int16))
        with open(self.room / "events.log", "a", encoding="utf-8") as log:
            log.write("mic-done\t\n")
        while True:  # a microphone never ends
            self.write(silence)


def snd(room: Path) -> None:
    index = len(list(room.glob("reply-*.raw*")))
    partial = room / f"reply-{index:02d}.raw.part"
    size = 0
    with open(partial, "wb") as out:
        while chunk := sys.stdin.buffer.read1(4096):
            out.write(chunk)
            out.flush()
            size += len(chunk)
    partial.rename(room / f"reply-{index:02d}.raw")
    with open(room / "events.log", "a", encoding="utf-8") as log:
        log.write(f"reply\t{size}\n")


def event(room: Path, kind: str) -> None:
    text = sys.stdin.read().replace("\n", " ").strip()
    with open(room / "events.log", "a", encoding="utf-8") as log:
        log.write(f"{kind}\t{text}\n")


if __name__ == "__main__":
    command, folder = sys.argv[1], Path(sys.argv[2])
    if command == "mic":
        try:
            Mic(folder).run(json.loads((folder / "plan.json").read_text(encoding="utf-8")))
        except BrokenPipeError:
            pass
    elif command == "snd":
        snd(folder)
    else:
        event(folder, sys.argv[3])
