"""The chat on a real (pseudo-)terminal: prompt, answer, Ctrl-C clears the line, Ctrl-D quits, history kept."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from conftest import REPO


class _Terminal:
    """Reads a pseudo-terminal; text after a match is kept for the next wait, so no prompt is lost between reads."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.pending = b""

    def wait_for(self, needle: bytes, timeout: float = 120) -> bytes:
        deadline = time.monotonic() + timeout
        while needle not in self.pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{needle!r} not seen; got {self.pending[-500:]!r}")
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if ready:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                self.pending += chunk
        if needle not in self.pending:
            raise AssertionError(f"{needle!r} not seen before the terminal closed; got {self.pending[-500:]!r}")
        end = self.pending.index(needle) + len(needle)
        seen, self.pending = self.pending[:end], self.pending[end:]
        return seen


def _start(home: Path) -> tuple[subprocess.Popen[bytes], int]:
    controller, terminal = pty.openpty()
    env = {**os.environ, "ASSISTANT_HOME": str(home), "ASSISTANT_NLU__ENGINE": "lexical", "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "assistant", "chat"],
        stdin=terminal, stdout=terminal, stderr=terminal, env=env, cwd=REPO, close_fds=True,
        start_new_session=True,  # the pty is its controlling terminal, as in a real one
    )
    os.close(terminal)
    return process, controller


def test_repl_answers_and_quits_on_ctrl_d(home_dir: Path) -> None:
    process, fd = _start(home_dir)
    terminal = _Terminal(fd)
    try:
        terminal.wait_for(b"you>")
        os.write(fd, b"what's the date\r")
        terminal.wait_for(str(datetime.now().year).encode())
        terminal.wait_for(b"you>")
        os.write(fd, b"half typed line")
        os.write(fd, b"\x03")  # Ctrl-C clears the line, the chat goes on
        terminal.wait_for(b"you>")
        os.write(fd, b"\x04")  # Ctrl-D quits
        assert process.wait(timeout=60) == 0  # about a second; a guard against a hang, not a timing
    finally:
        if process.poll() is None:
            process.kill()
        os.close(fd)
    history = (home_dir / "chat_history").read_text()
    assert "what's the date" in history
    assert "half typed line" not in history
