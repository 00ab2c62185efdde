"""The command line as a user runs it: machine contract, exit codes, --help everywhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.cli.main import build_parser
from conftest import json_lines, run_cli

CONTRACT = {"text", "skill", "action", "confidence", "entities", "reply"}


def test_ask_json_prints_one_object_with_the_contract(home_dir: Path) -> None:
    result = run_cli("ask", "--json", "what time is it", home=home_dir)
    assert result.returncode == 0, result.stderr
    [turn] = json_lines(result.stdout)
    assert CONTRACT <= turn.keys()
    assert (turn["skill"], turn["action"]) == ("system", "time")
    assert isinstance(turn["entities"], dict)


def test_chat_json_answers_each_line_in_order_and_exits_0(home_dir: Path) -> None:
    lines = ["hello", "what's the date", "say that again", "purple monkey dishwasher", "thanks"]
    result = run_cli("chat", "--json", home=home_dir, stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    turns = [t for t in json_lines(result.stdout) if "event" not in t]
    assert [t["text"] for t in turns] == lines
    assert [t["action"] for t in turns] == ["greet", "date", "repeat", "not_understood", "thanks"]
    assert turns[2]["reply"] == turns[1]["reply"]
    assert all(CONTRACT <= t.keys() for t in turns)


def test_chat_plain_text_without_terminal(home_dir: Path) -> None:
    result = run_cli("chat", home=home_dir, stdin="what's the date\n")
    assert result.returncode == 0
    assert result.stdout.strip().startswith(("Today is", "It's"))


def test_no_arguments_starts_the_chat(home_dir: Path) -> None:
    result = run_cli(home=home_dir, stdin="hello\n")
    assert result.returncode == 0
    assert result.stdout.strip()


def test_skill_list_json(home_dir: Path) -> None:
    result = run_cli("skill", "list", "--json", home=home_dir)
    assert result.returncode == 0
    data = json.loads(result.stdout)
    system = next(s for s in data["skills"] if s["id"] == "system")
    assert {"id", "version", "description", "actions"} <= system.keys()
    assert "time" in system["actions"]


def test_history_and_logs_stay_under_the_home(home_dir: Path) -> None:
    run_cli("ask", "hello", home=home_dir)
    assert (home_dir / "logs").is_dir()
    assert (home_dir / "data").is_dir()


def _commands(parser, prefix=()):  # type: ignore[no-untyped-def]
    for action in parser._subparsers._group_actions if parser._subparsers else []:
        for name, sub in action.choices.items():
            yield (*prefix, name)
            yield from _commands(sub, (*prefix, name))


@pytest.mark.parametrize("command", [(), *sorted(set(_commands(build_parser())))], ids=lambda c: " ".join(c) or "assistant")
def test_every_command_has_help(command: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args([*command, "--help"])
    assert exited.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_unknown_command_is_a_usage_error(home_dir: Path) -> None:
    result = run_cli("frobnicate", home=home_dir)
    assert result.returncode == 2


def test_doctor_reports_without_crashing(home_dir: Path) -> None:
    result = run_cli("doctor", "--json", home=home_dir)
    checks = json.loads(result.stdout)
    assert {c["name"] for c in checks} >= {"python", "skills", "voice", "wake word model", "voice activity", "skill sandbox"}
    assert all(c["ok"] or c["fix"] for c in checks)
    # Only what the assistant cannot work without fails the exit status: no microphone or
    # no Vosk model here is fine.
    failed = [c["name"] for c in checks if not c["ok"] and not c["optional"]]
    assert result.returncode == (1 if failed else 0), failed


def test_doctor_names_a_broken_wake_word_model(home_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "mine.json").write_text("{not json", encoding="utf-8")
    result = run_cli("doctor", home=home_dir, env={"ASSISTANT_LISTENER__WAKE_WORD_MODEL": str(tmp_path / "mine.json")})
    assert result.returncode == 1
    assert "!!  wake word model:" in result.stdout and "mine.json" in result.stdout
