"""End-to-end benchmark of `assistant listen` as users get it, through a private sound server.

A private PulseAudio daemon (tests/sound_server.py) stands in for the sound card: spoken
commands are played into its null "microphone" sink, whose monitor is the default source that
`assistant listen --json` records; what the assistant says goes to the null "speaker" sink. The
listen process runs in the default configuration (transformer classifier, Piper voice, "hey
jarvis" wake word model) in a home trained first (or `--home`, already trained).

Per condition (a voice, with or without "Hey Jarvis", and a noise), each command of
scripts/bench_listen_sentences.json is spoken and then each non-command; the turn events tell
what the assistant did and with which values. Reported as markdown tables (or `--json`):

- commands: right = the expected skill.action AND the expected values, as the skill received
  them (the turn's entities: durations in seconds, moments as ISO times compared by hour and
  minute, or as an offset from the turn, text lower-cased without punctuation);
- non-commands: acted on = a turn whose action is not system.not_understood / not_heard;
- end of speech -> first reply audio, from the recordings: both sink monitors are recorded by
  two `parec` processes for the whole run; they are aligned by clicks played at once into both
  sinks through a combine sink (before and after the listen process runs; the clicks show the
  offset between the recordings, and that it does not drift). The end of the played speech is
  found in the microphone recording (the played file's samples arrive unchanged: its first
  loud sample locates it, its known length gives the end of speech), the first reply sample
  is the first loud one on the speaker after that;
- the listen process's CPU time, peak memory (VmHWM) and the load average.

Conditions are written to `--out` (default /tmp/bench_listen) one JSON file each as they
finish; a run with the same `--out` skips those done (so a full run can be split or resumed;
`--report`, with the same selection options, prints the tables of what is there). Each utterance
plays in real time and waits for the answer: about 20 s each on a loaded two-core machine, so
one condition of 48 commands + 42 non-commands takes about 30 minutes and the full run (3
voices x 3 noises) about 4 to 5 hours: split it with --voices/--noise (one process per
condition, the same --out) and resume it after a stop.

    PYTHONPATH=src HF_HUB_OFFLINE=1 python scripts/bench_listen.py --quick
    PYTHONPATH=src HF_HUB_OFFLINE=1 python scripts/bench_listen.py --voices piper --noise none
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "scripts"))

import voice_corpus  # noqa: E402

from sound_server import MICROPHONE, SPEAKER, SoundServer, start_sound_server  # noqa: E402

RATE = 16000
SENTENCES = REPO / "scripts" / "bench_listen_sentences.json"
NOT_ACTED = {"not_understood", "not_heard"}
WAKE = "Hey Jarvis, "
SNR_DB = 10.0
PAD_S = 0.3
LOUD_MIC = 200
LOUD_SPEAKER = 800
QUIET_S = 1.2
"""The speaker is done when its last this many seconds were silent."""
VOICES = {
    # name -> (voice_corpus voice, wake word said)
    "piper": ("piper", True),
    "en-us": ("en-us", False),
    "en-gb": ("en-gb", False),
    "en-us+f3": ("en-us+f3", False),
    "piper-fast": ("piper-fast", False),
}
QUICK_COMMANDS = [
    "set a pasta timer for 8 minutes",
    "wake me up at 6:30 am",
    "what time is it in Tokyo",
    "set the volume to 40 percent",
    "remind me on friday to take the bins out",
    "play the road trip playlist",
]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def norm(text: Any) -> str:
    return " ".join(re.sub(r"[^\w\s:]", " ", str(text).lower()).split())


# ---------------------------------------------------------------- expected values


def check_values(expected: dict[str, Any], entities: dict[str, Any], turn_at: datetime) -> list[str]:
    """What is wrong with `entities` (the turn's) against `expected` (empty: all right)."""
    wrong = []
    for keys, want in expected.items():
        names = keys.split("|")
        got = next((entities[name] for name in names if entities.get(name) is not None), None)
        if got is None:
            wrong.append(f"{keys} missing")
        elif not value_matches(want, got, turn_at):
            wrong.append(f"{keys}={got!r} (want {want!r})")
    return wrong


def value_matches(want: Any, got: Any, turn_at: datetime) -> bool:
    if isinstance(want, dict) and "seconds" in want:
        return _number(got) is not None and abs(_number(got) - want["seconds"]) < 0.5  # type: ignore[operator]
    if isinstance(want, dict):
        try:
            moment = datetime.fromisoformat(str(got))
        except ValueError:
            return False
        local = moment.astimezone(turn_at.tzinfo)
        if "in_s" in want:
            return abs((moment - turn_at).total_seconds() - want["in_s"]) <= max(8.0, 0.02 * want["in_s"])
        ok = True
        if "clock" in want:
            hour, minute = (int(part) for part in want["clock"].split(":"))
            if len(want["clock"].split(":")[0]) == 1:  # no am/pm said: either half of the day
                ok &= local.hour % 12 == hour % 12 and local.minute == minute
            else:
                ok &= (local.hour, local.minute) == (hour, minute)
        if "weekday" in want:
            ok &= local.strftime("%A").lower() == want["weekday"]
        if "days" in want:
            ok &= local.date() == (turn_at + timedelta(days=want["days"])).date()
        return ok
    if isinstance(want, int | float):
        number = _number(got)
        return number is not None and abs(number - want) < 1e-6
    return norm(got) == norm(want)


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------- the listen process


@dataclass
class Listen:
    """`assistant listen --json` and the events it printed, each with the time it was read."""

    process: subprocess.Popen[str]
    events: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            with self.lock:
                self.events.append((time.monotonic(), event))

    def since(self, mark: int) -> list[dict[str, Any]]:
        with self.lock:
            return [event for _, event in self.events[mark:]]


def listen_environment(server: SoundServer, home: Path) -> dict[str, str]:
    env = {k: v for k, v in server.environment.items() if not (k.startswith("ASSISTANT_") and "__" in k)}
    env.update(ASSISTANT_HOME=str(home), HF_HUB_OFFLINE="1", PYTHONPATH=str(REPO / "src"))
    return env


def train_home(home: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not (k.startswith("ASSISTANT_") and "__" in k)}
    env.update(ASSISTANT_HOME=str(home), HF_HUB_OFFLINE="1", PYTHONPATH=str(REPO / "src"))
    log(f"training the default classifier in {home} (once)...")
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "assistant", "train"], env=env, check=True, cwd=REPO)
    log(f"trained in {time.monotonic() - started:.0f} s")


def start_listen(server: SoundServer, home: Path, wake_word: bool, log_path: Path) -> Listen:
    command = [sys.executable, "-m", "assistant", "listen", "--json", *([] if wake_word else ["--no-wake-word"])]
    process = subprocess.Popen(
        command,
        env=listen_environment(server, home),
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=log_path.open("w"),
        text=True,
    )
    listen = Listen(process)
    threading.Thread(target=listen.read, daemon=True).start()
    # Its "ready" event: the microphone open and heard. (It opens the sound server before the
    # models load: waiting for that, the first request was said while it loaded, and lost.)
    deadline = time.monotonic() + 600
    while not any(event.get("event") == "ready" for event in listen.since(0)):
        if process.poll() is not None:
            raise SystemExit(f"listen exited: {log_path.read_text()[-2000:]}")
        if time.monotonic() > deadline:
            process.kill()
            raise SystemExit("listen was not ready in 10 minutes")
        time.sleep(0.1)
    time.sleep(2.0)  # the listener measures the room's noise first
    return listen


def process_figures(pid: int) -> dict[str, float]:
    """CPU seconds (user + system, with children) and VmHWM in MB of a running process."""
    figures: dict[str, float] = {}
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        match = re.search(r"VmHWM:\s+(\d+) kB", status)
        if match:
            figures["peak_mb"] = int(match.group(1)) / 1024
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        figures["cpu_s"] = (int(stat[11]) + int(stat[12])) / ticks
        figures["children_cpu_s"] = (int(stat[13]) + int(stat[14])) / ticks
    except OSError:
        pass
    return figures


# ---------------------------------------------------------------- one condition


@dataclass
class Said:
    kind: str  # "command", "non_command" or "cleanup"
    text: str
    file_end_s: float  # end of speech within the played file
    file_onset: int  # first loud sample of the played file
    played_at: float  # monotonic, when paplay started
    expected: dict[str, Any] = field(default_factory=dict)
    turn: dict[str, Any] | None = None
    turn_at: str = ""
    events: list[dict[str, Any]] = field(default_factory=list)
    result: dict[str, Any] = field(default_factory=dict)


class Condition:
    def __init__(self, server: SoundServer, folder: Path, voice: str, noise: str, seed: int):
        self.server = server
        self.folder = folder
        self.voice, self.wake_word = VOICES[voice]
        self.noise = noise
        self.rng = np.random.default_rng(seed)
        self.said: list[Said] = []

    def audio(self, text: str) -> tuple[np.ndarray, float, int]:
        speech = voice_corpus.speak((WAKE if self.wake_word else "") + text, self.voice)
        if self.noise == "babble":
            speech = voice_corpus.mix(speech, voice_corpus.babble(len(speech) / RATE + 1, self.rng), SNR_DB)
        elif self.noise == "music":
            speech = voice_corpus.mix(speech, voice_corpus.music(len(speech) / RATE + 1, self.rng), SNR_DB)
        pad = voice_corpus.silence(PAD_S)
        samples = np.concatenate([pad, speech, pad])
        loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > LOUD_MIC)
        return samples, PAD_S + len(speech) / RATE, int(loud[0]) if len(loud) else 0

    def say(self, listen: Listen, speaker_raw: Path, kind: str, text: str, expected: dict[str, Any]) -> Said:
        import soundfile

        samples, end_s, onset = self.audio(text)
        wav = self.folder / "say.wav"
        soundfile.write(wav, samples, RATE)
        with listen.lock:
            mark = len(listen.events)
        said = Said(kind, text, end_s, onset, time.monotonic(), expected)
        self.said.append(said)
        self.server.play(wav, MICROPHONE)
        played = time.monotonic()
        # A turn comes after the transcript; nothing may come when the wake word was missed.
        turn = None
        while time.monotonic() < played + 60:
            events = listen.since(mark)
            turns = [e for e in events if "event" not in e]
            turn = next((e for e in turns if e.get("action")), None)
            finished = sum(e.get("event") == "speech_finished" for e in events)
            settled = finished <= len(turns) + sum(e.get("event") == "error" for e in events)
            quiet_for = time.monotonic() - max([played] + [at for at, _ in listen.events[mark:]])
            if turn is not None or listen.process.poll() is not None:
                break
            if settled and quiet_for > (4 if finished else 12):
                break  # every utterance heard has been dealt with (or none was heard)
            time.sleep(0.1)
        said.turn = turn
        said.turn_at = datetime.now().astimezone().isoformat()
        if turn is not None and turn.get("speech"):
            wait_loud(speaker_raw, 20)  # the reply is queued for the speaker when the turn is printed
        wait_quiet(speaker_raw, 40)
        said.events = listen.since(mark)
        return said

    def run(self, listen: Listen, speaker_raw: Path, items: list[tuple[str, str, dict[str, Any]]]) -> None:
        for index, (kind, text, expected) in enumerate(items):
            said = self.say(listen, speaker_raw, kind, text, expected)
            turn = said.turn or {}
            log(f"  [{index + 1}/{len(items)}] {kind}: {text!r} -> heard "
                f"{(turn.get('transcript') or {}).get('text')!r}: {turn.get('skill')}.{turn.get('action')} "
                f"{json.dumps(turn.get('entities'))}")  # fmt: skip
            if turn.get("expects_reply"):  # a question back: answer it away before the next one
                self.say(listen, speaker_raw, "cleanup", "never mind", {})
            time.sleep(0.5)


def speaker_tail(raw: Path, seconds: float) -> np.ndarray:
    size = raw.stat().st_size
    need = int(seconds * RATE) * 2
    with raw.open("rb") as handle:
        handle.seek(max(0, size - need - size % 2))
        return np.frombuffer(handle.read(), dtype=np.int16).astype(np.int32)


def wait_loud(raw: Path, timeout_s: float) -> None:
    """Until the speaker has played something loud in the last half second."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        tail = speaker_tail(raw, 0.5)
        if len(tail) and np.abs(tail).max() >= LOUD_SPEAKER:
            return
        time.sleep(0.05)


def wait_quiet(raw: Path, timeout_s: float) -> None:
    """Until the speaker recording's last QUIET_S seconds are silent."""
    deadline = time.monotonic() + timeout_s
    time.sleep(QUIET_S)
    while time.monotonic() < deadline:
        tail = speaker_tail(raw, QUIET_S)
        if len(tail) and np.abs(tail).max() < LOUD_SPEAKER:
            return
        time.sleep(0.3)


def click_offsets(server: SoundServer, folder: Path) -> None:
    """Three clicks into both sinks at once (through a combine sink): they align the recordings."""
    import soundfile

    click = np.zeros(RATE // 2, np.int16)
    click[RATE // 4 : RATE // 4 + 80] = 20000
    soundfile.write(folder / "click.wav", click, RATE)
    for _ in range(3):
        server.play(folder / "click.wav", "both")
        time.sleep(0.3)


def clicks(samples: np.ndarray, start: int, stop: int) -> list[int]:
    found: list[int] = []
    for index in np.flatnonzero(np.abs(samples[start:stop].astype(np.int32)) > 15000):
        if not found or start + index - found[-1] > RATE // 4:
            found.append(int(start + index))
    return found


def pair_clicks(mic: list[int], speaker: list[int]) -> list[tuple[int, int]]:
    """Each click in the microphone with the speaker's nearest within 0.1 s (the speaker may also
    be saying something loud then: a timer that rings)."""
    pairs = []
    for at in mic:
        near = [s for s in speaker if abs(s - at) < RATE // 10]
        if near:
            pairs.append((at, min(near, key=lambda s: abs(s - at))))
    return pairs


def analyse(said: list[Said], mic: np.ndarray, speaker: np.ndarray, recorded_at: float, offset: int) -> None:
    """Fill each `said.result` with the end of speech and the first reply sample (recording times)."""
    for item in said:
        guess = int((item.played_at - recorded_at) * RATE)
        start = max(0, guess - RATE // 2)
        loud = np.flatnonzero(np.abs(mic[start : guess + 5 * RATE].astype(np.int32)) > LOUD_MIC)
        if not len(loud):
            continue
        begin = start + int(loud[0]) - item.file_onset
        end = begin + int(item.file_end_s * RATE)
        after = end + offset
        reply = np.flatnonzero(np.abs(speaker[after : after + 40 * RATE].astype(np.int32)) > LOUD_SPEAKER)
        item.result["speech_end_s"] = round(after / RATE, 3)  # in the speaker recording's time
        if len(reply) and item.turn is not None:
            item.result["first_audio_s"] = round((after + int(reply[0])) / RATE, 3)
            item.result["latency_s_reported"] = item.turn.get("latency_s")  # listen's own figure
            item.result["timings"] = item.turn.get("timings")
            rung = any(e.get("event") == "notification" for e in item.events)
            item.result["rung_meanwhile"] = rung  # a timer or reminder spoke too: not a latency


def score(item: Said) -> None:
    turn = item.turn or {}
    action = f"{turn.get('skill')}.{turn.get('action')}" if turn else "(no turn)"
    item.result.update(action=action, heard=(turn.get("transcript") or {}).get("text"), entities=turn.get("entities"))
    item.result["events"] = [  # what listen printed meanwhile, in short
        e.get("event") or f"turn:{e.get('skill')}.{e.get('action')}:{(e.get('transcript') or {}).get('text')!r}"
        for e in item.events
    ]
    if item.kind == "command":
        at = datetime.fromisoformat(item.turn_at)
        wrong = check_values(item.expected["values"], turn.get("entities") or {}, at) if turn else ["no turn"]
        item.result.update(
            expected=item.expected["action"],
            right_action=action == item.expected["action"],
            wrong_values=wrong,
            right=action == item.expected["action"] and not wrong,
        )
    elif item.kind == "non_command":
        item.result["acted_on"] = bool(turn) and turn.get("action") not in NOT_ACTED


def run_condition(args: argparse.Namespace, server: SoundServer, home: Path, voice: str, noise: str,
                  items: list[tuple[str, str, dict[str, Any]]], out: Path) -> dict[str, Any]:  # fmt: skip
    folder = Path(tempfile.mkdtemp(prefix="bench-listen-"))
    mic_raw, speaker_raw = folder / "mic.raw", folder / "speaker.raw"
    mic_rec = server.record_microphone(mic_raw)
    speaker_rec = server.record_speaker(speaker_raw)
    recorded_at = time.monotonic()
    time.sleep(0.5)
    click_offsets(server, folder)
    condition = Condition(server, folder, voice, noise, seed=zlib.crc32(f"{voice}-{noise}".encode()))
    wake = condition.wake_word
    log(f"condition {voice} ({'hey jarvis' if wake else '--no-wake-word'}), noise {noise}: starting listen")
    load_before = os.getloadavg()
    listen = start_listen(server, home, wake, folder / "listen.log")
    started = time.monotonic()
    cpu_start = process_figures(listen.process.pid).get("cpu_s", 0.0)
    condition.run(listen, speaker_raw, items)
    figures = process_figures(listen.process.pid)
    load_after = os.getloadavg()
    wall = time.monotonic() - started
    listen.process.terminate()
    try:
        listen.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        listen.process.kill()
    time.sleep(0.5)
    tail_at = int((time.monotonic() - recorded_at - 0.3) * RATE)
    click_offsets(server, folder)
    time.sleep(0.5)
    mic = server.stop_recording(mic_rec, mic_raw)
    speaker = server.stop_recording(speaker_rec, speaker_raw)
    first = RATE * 3
    head = pair_clicks(clicks(mic, 0, first), clicks(speaker, 0, first))
    tail = pair_clicks(clicks(mic, tail_at, len(mic)), clicks(speaker, tail_at, len(speaker)))
    offsets = [s - m for m, s in head + tail]
    # The clicks before listen starts align the recordings; those after show any drift.
    offset = int(np.median([s - m for m, s in head])) if head else 0
    analyse(condition.said, mic, speaker, recorded_at, offset)
    for item in condition.said:
        score(item)
    result = {
        "voice": voice, "noise": noise, "wake_word": wake, "snr_db": SNR_DB if noise != "none" else None,
        "items": [{"kind": s.kind, "text": s.text, **s.result} for s in condition.said],
        "alignment_offsets_samples": offsets, "listen_cpu_s": round(figures.get("cpu_s", 0.0) - cpu_start, 1),
        "listen_startup_cpu_s": round(cpu_start, 1), "listen_wall_s": round(wall, 1),
        "peak_mb": round(figures.get("peak_mb", 0.0)), "load": [round(load_before[0], 2), round(load_after[0], 2)],
        "when": datetime.now().astimezone().isoformat(timespec="seconds"),
    }  # fmt: skip
    out.write_text(json.dumps(result, indent=1))
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    else:
        log(f"  recordings kept in {folder}")
    return result


# ---------------------------------------------------------------- report


def percentile(values: list[float], q: float) -> str:
    return f"{np.percentile(values, q):.2f}" if values else "-"


def summary(result: dict[str, Any]) -> dict[str, Any]:
    items = result["items"]
    commands = [i for i in items if i["kind"] == "command"]
    others = [i for i in items if i["kind"] == "non_command"]
    latencies = [i["first_audio_s"] - i["speech_end_s"] for i in items
                 if "first_audio_s" in i and not i.get("rung_meanwhile")]  # fmt: skip
    return {
        "condition": f"{result['voice']}{' (hey jarvis)' if result['wake_word'] else ''}, {result['noise']}",
        "commands": len(commands), "right": sum(i["right"] for i in commands),
        "right_action": sum(i["right_action"] for i in commands),
        "non_commands": len(others), "acted_on": sum(i["acted_on"] for i in others),
        "latencies": latencies, "reported": [i["latency_s_reported"] for i in items if i.get("latency_s_reported")],
        "cpu_s": result["listen_cpu_s"], "wall_s": result["listen_wall_s"],
        "peak_mb": result["peak_mb"], "load": result["load"], "offsets": result["alignment_offsets_samples"],
    }  # fmt: skip


def report(results: list[dict[str, Any]]) -> str:
    lines = ["| condition | commands right | right action | non-commands acted on | first audio p50 / p95 s (n) "
             "| listen's latency_s p50 / p95 | listen CPU s / wall s | peak MB | load 1-min | alignment (samples) |",
             "|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    every: list[float] = []
    for result in results:
        s = summary(result)
        every += s["latencies"]
        lines.append(
            f"| {s['condition']} | {s['right']}/{s['commands']} | {s['right_action']}/{s['commands']} "
            f"| {s['acted_on']}/{s['non_commands']} | {percentile(s['latencies'], 50)} / "
            f"{percentile(s['latencies'], 95)} ({len(s['latencies'])}) "
            f"| {percentile(s['reported'], 50)} / {percentile(s['reported'], 95)} | {s['cpu_s']} / {s['wall_s']} "
            f"| {s['peak_mb']} | {s['load'][0]} -> {s['load'][1]} | {s['offsets']} |"
        )
    lines.append(f"\nAll conditions: first audio p50 {percentile(every, 50)} s, p95 {percentile(every, 95)} s "
                 f"over {len(every)} answered utterances.\n")  # fmt: skip
    lines += ["| condition | said | heard | action (expected) | values wrong |", "|---|---|---|---|---|"]
    for result in results:
        name = summary(result)["condition"]
        for item in result["items"]:
            if item["kind"] == "command" and not item["right"]:
                lines.append(f"| {name} | {item['text']} | {item.get('heard')} | {item['action']} "
                             f"({item['expected']}) | {'; '.join(item['wrong_values'])} |")  # fmt: skip
    lines += ["", "| condition | non-command acted on | heard | action |", "|---|---|---|---|"]
    for result in results:
        name = summary(result)["condition"]
        for item in result["items"]:
            if item["kind"] == "non_command" and item["acted_on"]:
                lines.append(f"| {name} | {item['text']} | {item.get('heard')} | {item['action']} |")
    return "\n".join(lines)


# ---------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 6 commands, 4 non-commands, 2 conditions")
    parser.add_argument("--voices", default="piper,en-us,en-gb",
                        help=f"comma-separated, of {', '.join(VOICES)} (piper says 'Hey Jarvis' first; the others "
                             "are heard with --no-wake-word)")  # fmt: skip
    parser.add_argument("--noise", default="none,babble,music", help="comma-separated: none, babble, music")
    parser.add_argument("--commands", type=int, default=None, help="how many commands (default all)")
    parser.add_argument("--non-commands", type=int, default=None, help="how many non-commands (default all)")
    parser.add_argument("--home", type=Path, help="an assistant home whose classifier is trained (default: a new one)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/bench_listen"), help="where results go (resumable)")
    parser.add_argument("--report", action="store_true", help="print the tables of what --out holds, run nothing")
    parser.add_argument("--keep", action="store_true", help="keep the recordings")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()

    data = json.loads(SENTENCES.read_text())
    commands = data["commands"]
    non_commands = data["non_commands"]
    voices = args.voices.split(",")
    noises = args.noise.split(",")
    if args.quick:
        commands = [c for c in commands if c["text"] in QUICK_COMMANDS]
        non_commands = non_commands[::12][:4]
        voices, noises = (["piper", "en-us"], ["none", "babble"]) if args.voices == parser.get_default("voices") \
            else (voices, noises)  # fmt: skip
    commands = commands[: args.commands] if args.commands is not None else commands
    non_commands = non_commands[: args.non_commands] if args.non_commands is not None else non_commands
    for name in voices:
        if name not in VOICES:
            parser.error(f"unknown voice {name!r}")
    for name in noises:
        if name not in ("none", "babble", "music"):
            parser.error(f"unknown noise {name!r}")
    items = [("command", c["text"], c) for c in commands] + [("non_command", t, {}) for t in non_commands]
    tag = f"c{len(commands)}-n{len(non_commands)}"
    args.out.mkdir(parents=True, exist_ok=True)
    pairs = [(v, n) for v in voices for n in noises]
    if args.quick and args.voices == parser.get_default("voices"):
        pairs = [("piper", "none"), ("en-us", "babble")]
    files = {pair: args.out / f"{pair[0]}-{pair[1]}-{tag}.json" for pair in pairs}

    if not args.report:
        home_folder = None
        home = args.home
        if home is None:
            home_folder = tempfile.mkdtemp(prefix="bench-listen-home-")
            home = Path(home_folder)
            train_home(home)
        with tempfile.TemporaryDirectory(prefix="pulse-") as folder:
            server = start_sound_server(Path(folder))
            try:
                server.pactl("load-module", "module-combine-sink", "sink_name=both",
                             f"slaves={MICROPHONE},{SPEAKER}", "channels=1", f"rate={RATE}")  # fmt: skip
                for pair, path in files.items():
                    if path.exists():
                        log(f"{path} is there: skipped")
                        continue
                    run_condition(args, server, home, pair[0], pair[1], items, path)
            finally:
                server.close()
        if home_folder is not None:
            shutil.rmtree(home_folder, ignore_errors=True)
    results = [json.loads(path.read_text()) for path in files.values() if path.exists()]
    if args.json:
        print(json.dumps({"results": results, "summary": [summary(r) for r in results]}))
    else:
        print(report(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
