"""Shared fixtures: a temporary assistant home, an in-process app, the CLI as a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def home_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty ASSISTANT_HOME for this test, set in the environment."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("ASSISTANT_HOME", str(home))
    for name in list(os.environ):
        if name.startswith("ASSISTANT_") and "__" in name:
            monkeypatch.delenv(name)
    return home


@pytest.fixture
def lexical_app(home_dir: Path) -> Iterator[Any]:
    """The assistant with the lexical matcher (no model), built in this process."""
    from assistant.config import load_config
    from assistant.home import Home
    from assistant.runtime import Assistant

    home = Home(home_dir).ensure()
    config = load_config(home.config_file, environ={"ASSISTANT_NLU__ENGINE": "lexical"})
    app = Assistant(home, config)
    yield app
    app.close()


def cli_environ(home: Path, env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a CLI run: this one without settings overrides, its own home, lexical NLU."""
    environ = {k: v for k, v in os.environ.items() if not (k.startswith("ASSISTANT_") and "__" in k)}
    environ.update({"ASSISTANT_HOME": str(home), "HF_HUB_OFFLINE": "1", "ASSISTANT_NLU__ENGINE": "lexical"})
    environ.update(env or {})
    return environ


def run_cli(
    *args: str,
    home: Path,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run `python -m assistant ARGS` as a user would, with its own home."""
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=cli_environ(home, env),
        timeout=timeout,
        cwd=REPO,
    )


def json_lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def write_skill(
    root: Path,
    skill_id: str,
    actions: dict[str, dict[str, Any]],
    *,
    samples: dict[str, list[str]] | None = None,
    entities: dict[str, Any] | None = None,
    answers: dict[str, Any] | None = None,
    code: dict[str, str] | None = None,
    manifest_extra: dict[str, Any] | None = None,
) -> Path:
    """Write a small skill package under `root` and return its folder."""
    folder = root / skill_id
    (folder / "locales").mkdir(parents=True, exist_ok=True)
    (folder / "actions").mkdir(exist_ok=True)
    manifest = {
        "id": skill_id,
        "version": "1.0.0",
        "name": skill_id.replace("_", " ").title(),
        "description": f"Test skill {skill_id}.",
        "author": "tests",
        "license": "MIT",
        "min_assistant_version": "0.1.0",
        "actions": actions,
        **(manifest_extra or {}),
    }
    (folder / "skill.json").write_text(json.dumps(manifest, indent=2))
    locale = {
        "entities": entities or {},
        "actions": {name: {"samples": texts} for name, texts in (samples or {}).items()},
        "answers": answers or {},
    }
    (folder / "locales" / "en.json").write_text(json.dumps(locale, indent=2))
    for name, source in (code or {}).items():
        (folder / "actions" / f"{name}.py").write_text(source)
    return folder


@pytest.fixture
def sound_server() -> Iterator[Any]:
    """A private PulseAudio daemon with a null speaker and microphone (see tests/sound_server.py).

    Skipped, with the reason, only where PulseAudio cannot start.
    """
    import tempfile

    from sound_server import SoundServerUnavailable, start_sound_server

    # A short folder: the daemon's socket path must fit in 108 bytes.
    with tempfile.TemporaryDirectory(prefix="pulse-") as folder:
        try:
            server = start_sound_server(Path(folder))
        except SoundServerUnavailable as error:
            pytest.skip(str(error))
        try:
            yield server
        finally:
            server.close()


DEFAULT = {"ASSISTANT_NLU__ENGINE": "transformer"}
"""The settings a user gets: the transformer classifier (tests elsewhere may use faster engines)."""


_trained: Path | None = None


def trained_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `models` folder of a home whose default classifier `assistant train` trained: trained
    once per run (about 35 s), the first time it is asked for; copy it, never change it."""
    global _trained
    if _trained is None:
        home = tmp_path_factory.mktemp("trained-once")
        result = run_cli("train", home=home, env=DEFAULT, timeout=1200)
        assert result.returncode == 0, result.stderr
        # What it left is whole: a start answers with it at once, training nothing more.
        result = run_cli("ask", "--json", "hello", home=home, env=DEFAULT)
        assert result.returncode == 0 and "training" not in result.stderr, result.stderr
        assert json.loads(result.stdout)["action"] == "greet", result.stdout
        _trained = home / "models"
    return _trained


def home_with_trained_models(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """A new home whose default classifier is trained (a copy of the run's `trained_models`)."""
    home = tmp_path_factory.mktemp(name)
    shutil.copytree(trained_models(tmp_path_factory), home / "models")
    return home


@pytest.fixture(scope="module")
def trained_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home of the module's own whose default classifier is trained."""
    return home_with_trained_models(tmp_path_factory, "default-home")
