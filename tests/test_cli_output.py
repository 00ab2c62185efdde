"""What the command line prints: nothing from a skill reaches the terminal raw, and chat reads a pipe as it answers."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from assistant.cli.chat import LINES_READ_AHEAD
from assistant.cli.output import Printer, json_text
from assistant.events import Notification, Progress, TurnEvent
from conftest import REPO, cli_environ, json_lines, run_cli, write_skill

RAW = ("\x1b", "\x07", "\x9b", "\u202e")
"""ESC, BEL, the one-character CSI and RIGHT-TO-LEFT OVERRIDE: each can hide or rewrite what follows."""

REPLY = "Tick\x1b[2J\x07\x9b31m \u202etock"
SAID = "Working\x1b]0;owned\x07 \u202eon it"
TRICK_CODE = (
    "from assistant.skills.sdk import Response\n"
    "def run(request):\n"
    f"    request.say({SAID!r})\n"
    f"    return Response(text={REPLY!r})\n"
)


def assert_nothing_raw(output: str) -> None:
    found = [char for char in RAW if char in output]
    assert not found, f"{found!r} printed raw in {output!r}"


@pytest.fixture
def trick_clock(tmp_path: Path) -> Path:
    """A skill whose name hides what follows it and whose reply tries to clear the screen."""
    return write_skill(
        tmp_path / "work",
        "trick_clock",
        {"tell": {"type": "logic"}},
        samples={"tell": ["what does the trick clock say"]},
        code={"tell": TRICK_CODE},
        manifest_extra={"name": "Clock\x1b[8m", "description": "Tells the time\u202e. \x9b8m"},
    )


def test_a_hostile_skill_is_installed_listed_and_heard_with_nothing_raw(home_dir: Path, trick_clock: Path) -> None:
    installed = run_cli("skill", "install", str(trick_clock), "--yes", home=home_dir)
    assert installed.returncode == 0, installed.stderr
    assert_nothing_raw(installed.stdout + installed.stderr)
    lines = installed.stdout.splitlines()
    assert lines[0].startswith("Clock\\u001b[8m (trick_clock 1.0.0)")
    # The permissions are the last thing said before the question (here: before the result).
    assert lines[-2] == "  permissions: none" and lines[-1].startswith("installed trick_clock")

    listed = run_cli("skill", "list", home=home_dir)
    assert_nothing_raw(listed.stdout + listed.stderr)
    assert "Tells the time\\u202e. \\u009b8m" in listed.stdout

    listed_json = run_cli("skill", "list", "--json", home=home_dir)
    assert_nothing_raw(listed_json.stdout)
    assert "\\u202e" in listed_json.stdout
    rows = {row["id"]: row for row in json.loads(listed_json.stdout)["skills"]}
    assert rows["trick_clock"]["name"] == "Clock\x1b[8m"  # escaped, not lost

    chat = run_cli("chat", home=home_dir, stdin="what does the trick clock say\n")
    assert chat.returncode == 0, chat.stderr
    assert_nothing_raw(chat.stdout + chat.stderr)
    assert "Working\\u001b]0;owned\\u0007 \\u202eon it" in chat.stdout
    assert "Tick\\u001b[2J\\u0007\\u009b31m \\u202etock" in chat.stdout

    chat_json = run_cli("chat", "--json", home=home_dir, stdin="what does the trick clock say\n")
    assert chat_json.returncode == 0, chat_json.stderr
    assert_nothing_raw(chat_json.stdout + chat_json.stderr)
    assert "\\u009b" in chat_json.stdout and "\\u202e" in chat_json.stdout
    *progress, turn = json_lines(chat_json.stdout)
    assert [event["text"] for event in progress] == [SAID]
    assert (turn["skill"], turn["reply"]) == ("trick_clock", REPLY)


def test_the_printer_shows_every_event_safely(tmp_path: Path) -> None:
    turn = TurnEvent("hi", "s", "a", 1.0, {}, "line one\nline\x1b[2K two", None, False)
    events = [turn, Progress("wait\x9b"), Notification(skill="s", text="ring\u202e")]
    for as_json in (False, True):
        path = tmp_path / f"out-{as_json}.txt"
        with path.open("w", encoding="utf-8") as stream:
            printer = Printer(as_json=as_json, stream=stream)
            for event in events:
                printer.emit(event)
        shown = path.read_text(encoding="utf-8")
        assert_nothing_raw(shown)
        if not as_json:  # a reply keeps its lines
            assert shown.splitlines()[:2] == ["line one", "line\\u001b[2K two"]
    assert json_text({"word": "é 日本 \x9b"}) == '{"word": "é 日本 \\u009b"}'


def test_chat_reads_a_piped_backlog_only_as_fast_as_it_answers(home_dir: Path) -> None:
    """A pipe of long lines waits in the pipe: the chat holds a few lines, not the backlog."""
    line, count = b"a" * 100_000 + b"\n", 150
    chat = subprocess.Popen(
        [sys.executable, "-m", "assistant", "chat", "--json"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=cli_environ(home_dir),
        cwd=REPO,
    )
    assert chat.stdin is not None and chat.stdout is not None
    answered = [0]

    def count_answers() -> None:
        assert chat.stdout is not None
        while chunk := chat.stdout.read1(1 << 16):
            answered[0] += chunk.count(b"\n")

    counter = threading.Thread(target=count_answers)
    counter.start()
    most_ahead = 0
    try:
        for written in range(1, count + 1):
            chat.stdin.write(line)
            chat.stdin.flush()  # returns once the pipe has room: the chat read what came before
            most_ahead = max(most_ahead, written - answered[0])
        chat.stdin.close()
        assert chat.wait(timeout=300) == 0
    finally:
        chat.kill()
        counter.join(timeout=60)
    assert answered[0] == count
    # Read ahead, one being answered, one being read, the pipe's own buffer, and slack for
    # the counting thread; an unbounded reader runs a hundred lines ahead.
    assert most_ahead <= LINES_READ_AHEAD + 10, most_ahead
