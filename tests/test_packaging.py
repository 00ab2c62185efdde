"""The assistant as users install it: a wheel built from the repository, run outside the checkout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment holding the assistant only as the wheel; returns its bin folder."""
    root = tmp_path_factory.mktemp("wheel")
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    dist = root / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(dist), str(REPO)],
        check=True,
        capture_output=True,
        env=clean,
    )
    [wheel] = dist.glob("assistant-*.whl")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=clean)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
        env=clean,
    )
    # Its dependencies come from this environment (nothing to download), added after the wheel
    # so that pip did not take this environment's editable install for it. A path in a .pth
    # file is added without running that folder's own .pth files: the editable one stays out.
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = venv / "lib" / version / "site-packages"
    paths = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (site / "dependencies.pth").write_text("\n".join(paths) + "\n")
    return venv / "bin"


def run_installed(bin_dir: Path, *args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_") and k != "PYTHONPATH"}
    environ.update(ASSISTANT_HOME=str(home), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    return subprocess.run(
        [str(bin_dir / "assistant"), *args], cwd=cwd, env=environ, capture_output=True, text=True, timeout=600
    )


def test_the_wheel_carries_the_skills_and_settings(installed: Path, tmp_path: Path) -> None:
    found = subprocess.run(
        [str(installed / "python"), "-c", "import assistant.bundled as b; print(b.BUNDLED_SKILLS, b.DEFAULT_CONFIG)"],
        cwd=tmp_path, capture_output=True, text=True, env={"PATH": os.environ["PATH"]}, check=True,
    ).stdout  # fmt: skip
    assert str(REPO) not in found, f"the installed assistant reads the checkout: {found}"
    result = run_installed(installed, "skill", "list", "--json", cwd=tmp_path, home=tmp_path / "home")
    assert result.returncode == 0, result.stderr
    skills = json.loads(result.stdout)
    ids = sorted(s["id"] for s in (skills["skills"] if isinstance(skills, dict) else skills))
    assert ids == ["music_player", "question_answering", "reminders", "summarization", "system", "web_scraper"]


@pytest.mark.slow
def test_the_wheel_answers_in_the_default_configuration(installed: Path, tmp_path: Path) -> None:
    """The transformer classifier, trained on a fresh home, from a folder outside the checkout."""
    result = run_installed(installed, "ask", "--json", "what time is it", cwd=tmp_path, home=tmp_path / "home")
    assert result.returncode == 0, result.stderr
    turn = json.loads(result.stdout.splitlines()[-1])
    assert (turn["skill"], turn["action"]) == ("system", "time")
    assert any(ch.isdigit() for ch in turn["reply"])
    shown = run_installed(installed, "config", "show", cwd=tmp_path, home=tmp_path / "home")
    assert "engine" in shown.stdout and "transformer" in shown.stdout
