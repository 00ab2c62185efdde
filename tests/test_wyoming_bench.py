"""`wyoming-bench` (PyPI, a test dependency) against `assistant serve --wyoming`, a real server
process in its default voice (Piper): speech-to-text and text-to-speech, streaming and not, as
the benchmark's own client does them. A few clips only; the timed comparison with the reference
servers is scripts/bench_wyoming_reference.py."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest

from sound_server import stop
from wyoming_support import REPO, piper_spoken

pytest.importorskip("wyoming_bench")
pytestmark = pytest.mark.slow

SAID = ["What's the weather like tomorrow?", "Set a timer for ten minutes.", "What time is it?"]
REPLIES = [
    "It's ten past four.",
    "OK, I'll remind you to water the plants at six in the evening. Is there anything else?",
]


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    environ |= {
        "ASSISTANT_HOME": str(tmp_path_factory.mktemp("home")),
        "ASSISTANT_NLU__ENGINE": "lexical",  # a quicker start; the bench asks no questions
        "PYTHONPATH": str(REPO / "src"),
        "HF_HUB_OFFLINE": "1",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "assistant", "serve", "--no-wake",
         "--wyoming", f"tcp://127.0.0.1:{port}"],
        env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        for line in server.stdout:  # one line once the models are loaded and it listens
            if "Wyoming on" in line:
                break
        else:
            pytest.fail(f"the server exited with {server.wait()} before listening")
        yield port
    finally:
        stop(server, 30)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """wav + txt pairs, as wyoming-bench reads them: sentences said by the Piper voice."""
    folder = tmp_path_factory.mktemp("corpus")
    for number, text in enumerate(SAID, 1):
        samples, rate = piper_spoken(text)
        with wave.open(str(folder / f"said_{number}.wav"), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(rate)
            out.writeframes(samples.astype("<i2").tobytes())
        (folder / f"said_{number}.txt").write_text(text + "\n", encoding="utf-8")
    return folder


def test_wyoming_bench_transcribes_each_clip(port: int, corpus: Path) -> None:
    from wyoming.asr import Transcribe
    from wyoming_bench.stt.bench import bench_stt_server
    from wyoming_bench.stt.corpus import load_corpus

    measured = asyncio.run(
        bench_stt_server(
            "127.0.0.1", port, load_corpus(corpus), ["non_streaming", "streaming"],
            Transcribe(language="en"), rounds=1, warmup=0, verbose=False, chunk_samples=1024,
            chunk_delay=0.0, connect_timeout=10, read_timeout=120, trailing_silence=0.5,
        )
    )  # fmt: skip
    # Whole transcripts: like wyoming-faster-whisper, the server sends no transcript-chunk
    # events, so wyoming-bench finds no streaming mode to measure and says so.
    assert {m.mode for m in measured} == {"non_streaming"}
    assert all(m.ok for m in measured), [m.error for m in measured]
    assert len(measured) == len(SAID)
    errors = sum(m.sub + m.ins + m.del_ for m in measured)
    assert errors <= 1, [(m.reference, m.hypothesis) for m in measured]  # one misheard word at most


@pytest.mark.parametrize("mode", ["non_streaming", "streaming"])
def test_wyoming_bench_hears_each_reply_in_one_audio_stream(port: int, mode: str) -> None:
    from wyoming_bench.tts.bench import bench_server

    measured = asyncio.run(
        bench_server(
            "127.0.0.1", port, REPLIES, [mode], None, None, rounds=1, warmup=0, verbose=False,
            chunk_delay=0.0, connect_timeout=10, read_timeout=120, unique=True,
        )
    )  # fmt: skip
    assert [m.mode for m in measured] == [mode] * len(REPLIES)
    assert all(m.ok for m in measured), [m.error for m in measured]
    for reply, m in zip(REPLIES, measured, strict=True):
        assert m.sample_rate == 22050 and m.n_audio_cycles == 1, m  # Piper, one stream
        assert m.audio_duration_s > 0.05 * len(reply.split()), m
        assert m.ttft_s is not None and m.total_s is not None and m.ttft_s <= m.total_s

