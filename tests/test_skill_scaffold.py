"""`assistant skill new` writes a skill that loads, lints clean and passes its own tests; `skill test` runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.cli.main import main
from assistant.config import load_config
from assistant.errors import SkillError, SkillLoadError
from assistant.skills.lint import lint_samples
from assistant.skills.package import load_package
from assistant.skills.scaffold import create_skill
from assistant.skills.skilltest import Harness, load_table, run_case, run_pytest


@pytest.fixture(autouse=True)
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ASSISTANT_NLU__ENGINE", "lexical")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_scaffold_writes_a_loadable_lint_clean_skill(tmp_path: Path) -> None:
    made = create_skill("coffee_timer", tmp_path)
    assert made.path == tmp_path / "coffee_timer"
    names = {str(p.relative_to(made.path)) for p in made.files}
    assert {"skill.json", "locales/en.json", "actions/hello.py", "tests/tests.json", "tests/test_coffee_timer.py"} <= names
    package = load_package(made.path)
    assert (package.id, package.version, sorted(package.actions)) == ("coffee_timer", "0.1.0", ["about", "hello"])
    assert lint_samples(package) == []
    schema = json.loads((made.path / "skill.json").read_text())["$schema"]
    assert Path(schema.removeprefix("file://")).is_file()


@pytest.mark.parametrize("name", ["CoffeeTimer", "9lives", "coffee-timer", "a__b", ""])
def test_scaffold_refuses_bad_ids(tmp_path: Path, name: str) -> None:
    with pytest.raises(SkillError, match="not a valid skill id"):
        create_skill(name, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_scaffold_never_overwrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    create_skill("coffee_timer", tmp_path)
    marker = tmp_path / "coffee_timer" / "actions" / "hello.py"
    marker.write_text("# mine\n")
    assert main(["skill", "new", "coffee_timer", "--dir", str(tmp_path)]) == 1
    assert "already exists" in capsys.readouterr().err
    assert marker.read_text() == "# mine\n"


def test_the_table_passes_with_the_real_nlu_and_brain(tmp_path: Path) -> None:
    folder = create_skill("coffee_timer", tmp_path).path
    config = load_config(None)
    with Harness(folder, config) as harness:
        results = [run_case(harness, case) for case in load_table(folder, "coffee_timer")]
    assert [r.failures for r in results] == [()] * 4
    assert results[2].entities == {"person": "Ada"}
    assert "ada" in results[2].reply.lower()


def test_a_wrong_expectation_is_reported(tmp_path: Path) -> None:
    folder = create_skill("coffee_timer", tmp_path).path
    table = tmp_path / "coffee_timer" / "tests" / "tests.json"
    table.write_text(json.dumps({"tests": [
        {"utterance": "what time is it", "action": "hello"},
        {"utterance": "start the coffee timer", "action": "hello", "reply_contains": "goodbye"},
        {"utterance": "what time is it", "action": "system.time"},
    ]}))
    with Harness(folder, load_config(None)) as harness:
        results = [run_case(harness, case) for case in load_table(folder, "coffee_timer")]
    assert results[0].failures[0].startswith("went to system.time")
    assert "lacks 'goodbye'" in results[1].failures[0]
    assert results[2].passed


def test_a_malformed_table_names_the_field(tmp_path: Path) -> None:
    folder = create_skill("coffee_timer", tmp_path).path
    (folder / "tests" / "tests.json").write_text('{"tests": [{"utterance": "hi"}]}')
    with pytest.raises(SkillLoadError, match=r"tests\.json: field tests/0: 'action' is a required property"):
        load_table(folder, "coffee_timer")


def test_pytest_files_run_with_the_ask_fixture(tmp_path: Path) -> None:
    folder = create_skill("coffee_timer", tmp_path).path
    (folder / "tests" / "test_broken.py").write_text(
        "def test_wrong(ask):\n    assert ask('start the coffee timer').action == 'about'\n"
    )
    result = run_pytest(folder)
    assert result.returncode == 1, result.output
    assert "2 passed" in result.output and "1 failed" in result.output
    assert "test_wrong" in result.output


def test_skill_test_command_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = create_skill("coffee_timer", tmp_path).path
    assert main(["skill", "test", str(folder), "--no-pytest"]) == 0
    assert "table: 4/4 passed" in capsys.readouterr().out
    table = folder / "tests" / "tests.json"
    table.write_text(table.read_text().replace('"action": "about"', '"action": "hello"'))
    assert main(["skill", "test", str(folder), "--no-pytest"]) == 1
    out = capsys.readouterr().out
    assert "FAIL 'tell me about the coffee timer' -> coffee_timer.about" in out
    assert "table: 3/4 passed" in out
