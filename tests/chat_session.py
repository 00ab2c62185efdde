"""`assistant chat --json` with the default transformer classifier, trained once per test run.

The first caller trains the classifier in a home of its own; every test then gets a fresh
home with a copy of the trained model, so tests share no reminders, timers or music state.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from conftest import home_with_trained_models, run_cli

TRANSFORMER = {"ASSISTANT_NLU__ENGINE": "transformer"}
CONFIG = '[audio]\noutput = "null"\n[tts]\nengine = "null"\n'


def trained_home(tmp_path_factory: Any, name: str) -> Path:
    """A new assistant home whose classifier is already trained (training happens once per run)."""
    home = home_with_trained_models(tmp_path_factory, name)
    (home / "config.toml").write_text(CONFIG)
    return home


@dataclass
class Session:
    """One run of `chat --json`: its turns, and the wall-clock window they happened in."""

    turns: list[dict[str, Any]]
    started: datetime
    finished: datetime
    notifications: list[dict[str, Any]]


def chat(
    home: Path, lines: list[str], env: Mapping[str, str] | None = None, timeout: float = 600
) -> Session:
    """Say `lines` one per line to `assistant chat --json`; returns the turns, in order."""
    started = datetime.now(UTC)
    result = run_cli(
        "chat",
        "--json",
        home=home,
        stdin="".join(line + "\n" for line in lines),
        env={**TRANSFORMER, **(env or {})},
        timeout=timeout,
    )
    finished = datetime.now(UTC)
    assert result.returncode == 0, result.stderr[-3000:]
    objects = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    turns = [o for o in objects if "event" not in o]
    notes = [o for o in objects if "event" in o]
    assert [t["text"] for t in turns] == lines, result.stdout[-3000:]
    return Session(turns, started, finished, notes)
