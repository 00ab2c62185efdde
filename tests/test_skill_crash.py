"""A skill whose action kills its worker is disabled after `[runtime] max_failures` crashes, and re-enabled by command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.cli.main import main
from assistant.config import load_config
from assistant.home import Home
from assistant.runtime import Assistant
from assistant.skills.runner import DisabledSkills

CRASHY = Path(__file__).parent / "fixtures" / "skills" / "crashy"
MAX_FAILURES = 2


@pytest.fixture(autouse=True)
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ASSISTANT_NLU__ENGINE", "lexical")
    monkeypatch.setenv("ASSISTANT_RUNTIME__MAX_FAILURES", str(MAX_FAILURES))
    monkeypatch.setenv("ASSISTANT_RUNTIME__EXTRA_PATHS", json.dumps([str(CRASHY.parent)]))


def make_app() -> Assistant:
    home = Home.from_env().ensure()
    return Assistant(home, load_config(home.config_file))


def test_crashing_skill_is_disabled_then_reenabled(capsys: pytest.CaptureFixture[str]) -> None:
    app = make_app()
    assert app.settings.runtime.max_failures == MAX_FAILURES
    disabled = DisabledSkills(app.home.data / "disabled_skills.json")
    brain = app.open_session()
    try:
        for _ in range(MAX_FAILURES):
            turn = brain.handle("crashy explode")
            assert (turn.skill, turn.action) == ("crashy", "explode")
            assert "ran into a problem" in turn.reply.text
            assert "exit code 3" in turn.reply.data["error"]
        assert "crashy" in disabled.load()
        turn = brain.handle("crashy explode")
        assert "assistant skill enable crashy" in turn.reply.text
        assert "disabled after repeated failures" in turn.reply.data["error"]
        assert "crashy" not in make_app().catalog()  # a new start leaves it out
    finally:
        app.close()

    assert main(["skill", "enable", "crashy"]) == 0
    assert "skill crashy enabled" in capsys.readouterr().out
    assert "crashy" not in disabled.load()

    app = make_app()
    try:
        turn = app.open_session().handle("crashy explode")
        assert turn.skill == "crashy"
        assert "ran into a problem" in turn.reply.text  # it runs (and crashes) again: not refused
        assert "disabled" not in turn.reply.data["error"]
    finally:
        app.close()


def test_skill_test_harness_reports_every_crash_without_disabling() -> None:
    from assistant.skills.skilltest import Case, Harness, run_case

    config = load_config(None)
    with Harness(CRASHY, config) as harness:
        results = [run_case(harness, Case("crashy explode", "crashy.explode", reply_contains="problem")) for _ in range(MAX_FAILURES + 1)]
    assert all(result.passed for result in results), [r.failures for r in results]
    assert not (Home.from_env().data / "disabled_skills.json").exists()
