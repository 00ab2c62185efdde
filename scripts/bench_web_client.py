"""Web client benchmark: page weight, first load, typed turns and spoken commands, in Chromium.

Starts `assistant serve --http` (a temporary home; the default settings, so the transformer
classifier is trained there first unless `--nlu lexical`), then drives Debian's Chromium with
Playwright and prints a markdown table:
- page weight: the bytes of `/` and every file it loads (no compression);
- first load: from navigation to the session's `hello` (status "connected"), fresh context each;
- typed turn round trip: "what time is it" sent on the page's WebSocket -> the turn shown (p50/p95);
- spoken command: end of speech in the fake microphone -> first reply audio in the page (p50/p95).
  The microphone is a WAV of `--spoken` commands ("Hey Jarvis, what time is it?", Piper voice)
  apart by silence; the end of each is where its samples fall quiet, placed on the page's clock
  by the microphone's first frame. The server's own figure (end of speech -> first reply audio
  ready, `after_speech_s` of the turn) is shown next to it.

    .venv/bin/python scripts/bench_web_client.py [--typed 20] [--spoken 8] [--loads 10] [--nlu lexical] [--home DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

COMMAND = "Hey Jarvis, what time is it?"
GAP_S = 5.0


def percentiles(values: list[float]) -> str:
    if not values:
        return "n/a"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{statistics.median(ordered):.0f} / {p95:.0f} ms (n={len(ordered)})"


def microphone(folder: Path, count: int) -> tuple[Path, list[float]]:
    """The WAV, and where each command's speech ends in it (seconds)."""
    import soundfile

    from assistant.audio.decode import resample
    from assistant.config import TtsSettings
    from assistant.tts import make_synthesizer

    speech = make_synthesizer(TtsSettings(engine="piper")).synthesize(COMMAND)
    said = resample(speech.samples, speech.sample_rate_hz, 16000)
    loud = np.flatnonzero(np.abs(said.astype(np.int32)) > 500)
    speech_end = (loud[-1] + 1) / 16000
    gap = np.zeros(int(GAP_S * 16000), np.int16)
    chunks, ends, at = [np.zeros(16000, np.int16)], [], 1.0
    for _ in range(count):
        chunks += [said, gap]
        ends.append(at + speech_end)
        at += len(said) / 16000 + GAP_S
    path = folder / "commands.wav"
    soundfile.write(path, np.concatenate(chunks), 16000, subtype="PCM_16")
    return path, ends


def start_server(home: Path, port: int, nlu: str) -> subprocess.Popen[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    environ.update({"ASSISTANT_HOME": str(home), "HF_HUB_OFFLINE": "1", "ASSISTANT_NLU__ENGINE": nlu})
    if nlu == "transformer":
        subprocess.run([sys.executable, "-m", "assistant", "train"], env=environ, check=True, cwd=REPO,
                       stdout=subprocess.DEVNULL)  # fmt: skip
    server = subprocess.Popen(
        [sys.executable, "-m", "assistant", "serve", "--http", f"tcp://127.0.0.1:{port}"],
        env=environ, cwd=REPO, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert server.stderr is not None
    for line in server.stderr:
        if "the web page on" in line:
            return server
    raise SystemExit(f"the server ended: {server.wait()}")


def page_weight(url: str) -> int:
    page = urllib.request.urlopen(url).read()
    files = re.findall(rb'(?:src|href)="(/static/[^"]+)"', page) + [b"/static/mic-worklet.js"]
    return len(page) + sum(len(urllib.request.urlopen(url.rstrip("/") + f.decode()).read()) for f in files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--typed", type=int, default=20)
    parser.add_argument("--spoken", type=int, default=8)
    parser.add_argument("--loads", type=int, default=10)
    parser.add_argument("--nlu", default="transformer", choices=["transformer", "lexical"])
    parser.add_argument("--port", type=int, default=18380)
    parser.add_argument("--home", type=Path, help="an assistant home to reuse (default: a new one)")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        wav, ends = microphone(folder, args.spoken)
        server = start_server(args.home or folder / "home", args.port, args.nlu)
        url = f"http://127.0.0.1:{args.port}/"
        try:
            weight = page_weight(url)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path="/usr/bin/chromium",
                    args=["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                          f"--use-file-for-fake-audio-capture={wav}%noloop",
                          "--autoplay-policy=no-user-gesture-required"],
                )  # fmt: skip
                loads = []
                for _ in range(args.loads):
                    context = browser.new_context(bypass_csp=True)
                    page = context.new_page()
                    started = time.perf_counter()
                    page.goto(url)
                    page.wait_for_selector("#status:has-text('connected')")
                    loads.append((time.perf_counter() - started) * 1000)
                    context.close()
                page = browser.new_page(bypass_csp=True)  # (wait_for_function evaluates strings)
                page.goto(url)
                page.wait_for_selector("#status:has-text('connected')")
                for number in range(args.typed):
                    page.fill("#text", "what time is it")
                    page.press("#text", "Enter")
                    page.wait_for_function(f"window.assistantStats.typed.length > {number}", timeout=60_000)
                typed = page.evaluate("window.assistantStats.typed")
                page.click("#hands-free")
                # Until the microphone's file is over (and the last reply came, or 20 s more).
                page.wait_for_function("window.assistantStats.micStart !== null")
                page.wait_for_timeout(int((ends[-1] + 1) * 1000))
                try:
                    page.wait_for_function(
                        f"window.assistantStats.replies.filter(r => r.audioAt).length >= {args.spoken}",
                        timeout=20_000,
                    )
                except Exception:
                    pass
                stats = page.evaluate("window.assistantStats")
                browser.close()
        finally:
            server.terminate()
            server.wait()
    if os.environ.get("BENCH_DEBUG"):
        print(stats, ends)
    spoken, server_side = [], []
    for reply in stats["replies"]:
        if reply["audioAt"] is None:
            continue
        # The command it answers: the one that ended nearest the utterance's end on the server's
        # clock (seconds of microphone audio it received).
        end = min(ends, key=lambda e: abs(e - float(reply["endS"])))
        spoken.append(reply["audioAt"] - (stats["micStart"] + end * 1000))
        server_side.append(reply["afterSpeechS"] * 1000)
    print(f"{len(spoken)} of {len(ends)} spoken commands answered")
    load = os.getloadavg()
    print(f"Chromium {subprocess.run(['/usr/bin/chromium', '--version'], capture_output=True, text=True).stdout.strip()}, "
          f"{os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f}, NLU {args.nlu}")  # fmt: skip
    print()
    print("| figure | value |")
    print("|---|---|")
    print(f"| page weight (HTML + JS + CSS + worklet, uncompressed) | {weight / 1024:.1f} KiB |")
    print(f"| first load: navigation -> session connected, p50 / p95 | {percentiles(loads)} |")
    print(f"| typed turn round trip (\"what time is it\"), p50 / p95 | {percentiles(typed)} |")
    print(f"| spoken command: end of speech -> first reply audio in the page, p50 / p95 | {percentiles(spoken)} |")
    print(f"| (the server's part: end of speech -> first reply audio ready) | {percentiles(server_side)} |")


if __name__ == "__main__":
    main()
