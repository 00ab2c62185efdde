"""A fresh home, every way in (issue 23): `ask`, a piped `chat --json`, `listen --input` and
`serve --wyoming` answer within the 10 s a newcomer waits, before the intent classifier is
trained, and say that it trains and about how long; the training job outlives the command, and
the next start loads what it left (through onnxruntime, not torch)."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from assistant.nlu import trainjob

REPO = Path(__file__).resolve().parents[1]
FIRST_ANSWER_S = 10.0
"""The issue's requirement: a fresh home answers within this, on a loaded test machine too."""
TRAINING_S = 900.0
"""Generous: the job yields the processor (nice 10) to whatever else the machine runs."""
TRAINING_SAID = re.compile(r"training the intent classifier on \d+ samples in the background \(about \d+ s\)")
TIME_REPLY = re.compile(r"\d{1,2}:\d\d")

pytestmark = pytest.mark.slow


def environ(home: Path) -> dict[str, str]:
    """A user's: the default configuration (the transformer classifier), this checkout's code."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    return env | {
        "ASSISTANT_HOME": str(home),
        "ASSISTANT_NLU__ENGINE": "transformer",
        "PYTHONPATH": str(REPO / "src"),
        "HF_HUB_OFFLINE": "1",
    }


def cache(home: Path) -> Path:
    return home / "models" / "nlu"


def trained(home: Path) -> bool:
    return any(cache(home).glob("transformer-*/meta.json"))


def training(home: Path) -> bool:
    return cache(home).is_dir() and trainjob.running(cache(home))


def wait_for_training(home: Path) -> None:
    deadline = time.monotonic() + TRAINING_S
    while training(home) and time.monotonic() < deadline:
        time.sleep(1)
    assert not training(home), f"the training job still runs after {TRAINING_S:.0f} s"


@pytest.fixture
def fresh_home(tmp_path: Path) -> Iterator[Path]:
    """An empty home; a training job still running at the end is stopped (by its pid, in the lock)."""
    home = tmp_path / "home"
    home.mkdir()
    yield home
    if training(home):
        pid = int((cache(home) / trainjob.LOCK_NAME).read_text())
        os.killpg(pid, signal.SIGKILL)  # the job leads a session of its own
        deadline = time.monotonic() + 30
        while training(home) and time.monotonic() < deadline:
            time.sleep(0.2)


class Lines:
    """A stream's lines as they come, read on a thread, with the seconds since `started` of each."""

    def __init__(self, stream: IO[str], started: float):
        self.started = started
        self.seen: list[str] = []
        self._lines: queue.Queue[tuple[float, str] | None] = queue.Queue()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._lines.put((time.monotonic() - self.started, line.rstrip("\n")))
        self._lines.put(None)

    def until(self, wanted: Any, timeout_s: float) -> tuple[float, str]:
        """(seconds since the start, the line) of the next line for which `wanted(line)` is true,
        waiting at most `timeout_s` from now."""
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                item = self._lines.get(timeout=left)
            except queue.Empty:
                break
            if item is None:
                break
            self.seen.append(item[1])
            if wanted(item[1]):
                return item
        raise AssertionError(f"no such line within {timeout_s:.0f} s; got {self.seen[-20:]}")


def is_turn(line: str) -> bool:
    return line.startswith("{") and "event" not in json.loads(line)


def is_event(name: str, text: str = "") -> Any:
    def wanted(line: str) -> bool:
        event = json.loads(line) if line.startswith("{") else {}
        return bool(event.get("event") == name and text in event.get("text", ""))

    return wanted


def launch(args: list[str], home: Path, stdin: Any = subprocess.DEVNULL) -> tuple[subprocess.Popen[str], float]:
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "assistant", *args], env=environ(home), cwd=REPO, text=True,
        stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    return process, started


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_ask_answers_at_once_and_its_training_outlives_it(fresh_home: Path) -> None:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "assistant", "ask", "what time is it"],
        env=environ(fresh_home), cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert TIME_REPLY.search(result.stdout), result.stdout
    assert TRAINING_SAID.search(result.stderr), result.stderr
    assert elapsed < FIRST_ANSWER_S, f"the first answer took {elapsed:.1f} s"
    # Answered before the classifier was trained, and the job goes on after `ask` has exited.
    assert training(fresh_home) and not trained(fresh_home)

    wait_for_training(fresh_home)
    assert trained(fresh_home) and any((fresh_home / "models" / "onnx").glob("*/model.onnx"))
    again = subprocess.run(
        [sys.executable, "-m", "assistant", "ask", "what time is it"],
        env=environ(fresh_home), cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert again.returncode == 0 and TIME_REPLY.search(again.stdout), again.stderr
    assert "training" not in again.stderr, again.stderr
    log = (fresh_home / "logs" / "assistant.log").read_text()
    assert "intent classifier loaded from" in log and "loaded (onnx)" in log, log[-2000:]


def test_a_piped_chat_answers_at_once_then_the_trained_classifier_takes_over(fresh_home: Path) -> None:
    chat, started = launch(["chat", "--json"], fresh_home, stdin=subprocess.PIPE)
    try:
        assert chat.stdin is not None and chat.stdout is not None and chat.stderr is not None
        out, err = Lines(chat.stdout, started), Lines(chat.stderr, started)
        chat.stdin.write("what time is it\n")
        chat.stdin.flush()
        said_s, said = out.until(is_event("progress", "training the intent classifier"), 60)
        assert TRAINING_SAID.search(said), said
        answered_s, turn = out.until(is_turn, 60)
        assert answered_s < FIRST_ANSWER_S, f"the first answer took {answered_s:.1f} s"
        assert said_s <= answered_s
        assert json.loads(turn)["action"] == "time" and not trained(fresh_home)
        err.until(TRAINING_SAID.search, 5)  # a person reading the terminal sees it too

        # The chat goes on; the classifier the job trained takes over in this process.
        out.until(is_event("progress", "now understands requests"), TRAINING_S)
        chat.stdin.write("what time is it\n")
        chat.stdin.flush()
        assert json.loads(out.until(is_turn, 60)[1])["action"] == "time"
        chat.stdin.close()
        assert chat.wait(timeout=60) == 0
    finally:
        stop(chat)

    # A second start is as fast as any later one: the classifier and the ONNX export are there.
    again, started = launch(["chat", "--json"], fresh_home, stdin=subprocess.PIPE)
    try:
        assert again.stdin is not None and again.stdout is not None and again.stderr is not None
        out = Lines(again.stdout, started)
        again.stdin.write("what time is it\n")
        again.stdin.flush()
        answered_s, first = out.until(lambda line: True, 60)
        assert is_turn(first) and json.loads(first)["action"] == "time", first
        assert answered_s < FIRST_ANSWER_S, f"the second start's first answer took {answered_s:.1f} s"
        again.stdin.close()
        assert again.wait(timeout=60) == 0
        assert "training" not in again.stderr.read()
    finally:
        stop(again)
    log = (fresh_home / "logs" / "assistant.log").read_text().split("intent classifier loaded from")[-1]
    assert "loaded (onnx)" in log and "loaded (torch)" not in log, log[-2000:]


def spoken_command(path: Path) -> Path:
    """ "Hey Jarvis, what time is it?" in the default (Piper) voice, which the wake word model hears."""
    import soundfile

    from assistant.config import TtsSettings
    from assistant.tts import make_synthesizer

    speech = make_synthesizer(TtsSettings(engine="piper")).synthesize("Hey Jarvis, what time is it?")
    soundfile.write(str(path), speech.samples, speech.sample_rate_hz)
    return path


def test_listen_answers_a_spoken_command_at_once(fresh_home: Path, tmp_path: Path) -> None:
    command = spoken_command(tmp_path / "command.wav")
    listen, started = launch(
        ["listen", "--input", str(command), "--once", "--json", "--output", "null"], fresh_home
    )
    try:
        assert listen.stdout is not None and listen.stderr is not None
        out, err = Lines(listen.stdout, started), Lines(listen.stderr, started)
        said_s, said = out.until(is_event("progress", "training the intent classifier"), 60)
        answered_s, turn = out.until(is_turn, 60)
        assert answered_s < FIRST_ANSWER_S, f"the first answer took {answered_s:.1f} s"
        assert not trained(fresh_home)
        assert (json.loads(turn)["skill"], json.loads(turn)["action"]) == ("system", "time"), turn
        err.until(TRAINING_SAID.search, 5)
        assert listen.wait(timeout=60) == 0
    finally:
        stop(listen)


async def converse(port: int, text: str, deadline: float) -> Any:
    """Home Assistant's turn: a transcript with a conversation id, answered by `handled`; connects
    as soon as the server listens."""
    from wyoming.asr import Transcript
    from wyoming.client import AsyncTcpClient

    while True:
        try:
            async with AsyncTcpClient("127.0.0.1", port, connect_timeout=1, read_timeout=30) as client:
                await client.write_event(Transcript(text=text, context={"conversation_id": "first"}).event())
                while (event := await client.read_event()) is not None:
                    if event.type in {"handled", "not-handled", "not-recognized", "error"}:
                        return event
                raise AssertionError("the server closed the connection")
        except OSError:  # refused until it listens; TimeoutError is one too
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


def test_serve_answers_a_conversation_at_once(fresh_home: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server, started = launch(["serve", "--wyoming", f"tcp://127.0.0.1:{port}"], fresh_home)
    try:
        assert server.stderr is not None
        err = Lines(server.stderr, started)
        answer = asyncio.run(converse(port, "what time is it", started + 60))
        answered_s = time.monotonic() - started
        assert not trained(fresh_home)
        assert answer.type == "handled" and TIME_REPLY.search(answer.data["text"]), answer
        assert answered_s < FIRST_ANSWER_S, f"the first answer took {answered_s:.1f} s"
        err.until(TRAINING_SAID.search, 5)
        err.until(lambda line: "assistant serve: ready" in line, 5)
    finally:
        stop(server)


def test_serve_for_satellites_says_when_it_is_ready(fresh_home: Path) -> None:
    with socket.socket() as probe:  # a satellite's address with nobody there yet: the link retries
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server, started = launch(["serve", "--satellite", f"tcp://127.0.0.1:{port}"], fresh_home)
    try:
        assert server.stderr is not None
        err = Lines(server.stderr, started)
        err.until(lambda line: "loading the models" in line, 60)
        err.until(TRAINING_SAID.search, 60)
        ready_s, ready = err.until(lambda line: re.search(r"assistant serve: ready \(\d+\.\d s to load\)", line), 60)
        assert ready_s < FIRST_ANSWER_S, f"ready after {ready_s:.1f} s"
    finally:
        stop(server)
