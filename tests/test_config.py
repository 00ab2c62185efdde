"""Configuration: defaults, layering, environment, validation errors with exit code 2."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant.config import DEFAULT_CONFIG, Settings, load_config
from assistant.errors import ConfigError
from conftest import run_cli


def test_defaults_load_and_name_their_source(tmp_path: Path) -> None:
    loaded = load_config(tmp_path / "absent.toml", environ={})
    assert loaded.settings.nlu.engine == "transformer"
    assert loaded.sources["nlu.engine"] == str(DEFAULT_CONFIG)


def test_user_file_then_extra_file_then_environment(tmp_path: Path) -> None:
    user = tmp_path / "config.toml"
    user.write_text('[runtime]\ntimeout_s = 4\n[nlu]\nengine = "lexical"\n')
    extra = tmp_path / "extra.toml"
    extra.write_text("[runtime]\ntimeout_s = 5\n")
    loaded = load_config(user, extra, environ={"ASSISTANT_RUNTIME__MAX_FAILURES": "7"})
    assert loaded.settings.runtime.timeout_s == 5
    assert loaded.settings.nlu.engine == "lexical"
    assert loaded.settings.runtime.max_failures == 7
    assert loaded.sources["runtime.timeout_s"] == str(extra)
    assert loaded.sources["nlu.engine"] == str(user)
    assert loaded.sources["runtime.max_failures"] == "environment variable ASSISTANT_RUNTIME__MAX_FAILURES"


def test_environment_values_are_typed(tmp_path: Path) -> None:
    loaded = load_config(
        tmp_path / "none.toml",
        environ={"ASSISTANT_MUSIC__FOLDERS": '["/a", "/b"]', "ASSISTANT_WEB__ALLOW_PRIVATE_NETWORKS": "true"},
    )
    assert loaded.settings.music.folders == ["/a", "/b"]
    assert loaded.settings.web.allow_private_networks is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[no_such_section]\nfoo = 1\n", r"unknown section \[no_such_section\]"),
        ("[nlu]\ncolour = 'red'\n", r"unknown key 'colour' in \[nlu\]"),
        ("[runtime]\ntimeout_s = 'soon'\n", r"\[runtime\] timeout_s"),
        ("[runtime]\ntimeout_s = -1\n", r"\[runtime\] timeout_s: Input should be greater than 0"),
        ("[nlu]\nengine = 'magic'\n", r"\[nlu\] engine"),
        ("[nlu\nengine = 1\n", r"not valid TOML"),
    ],
)
def test_bad_settings_name_file_and_key(tmp_path: Path, text: str, expected: str) -> None:
    user = tmp_path / "config.toml"
    user.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(user, environ={})
    assert re.search(expected, str(caught.value)), str(caught.value)
    assert str(user) in str(caught.value)


def test_missing_config_argument_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_config(None, tmp_path / "nope.toml", environ={})


def test_default_file_documents_every_setting() -> None:
    text = DEFAULT_CONFIG.read_text()
    lines = text.splitlines()
    for section, field in Settings.model_fields.items():
        if section == "skills":
            continue
        assert f"[{section}]" in text, f"[{section}] missing from default.toml"
        for key in field.annotation.model_fields:  # type: ignore[union-attr]
            index = next(
                (i for i, line in enumerate(lines) if re.match(rf"#?\s*{key}\s*=", line)), None
            )
            assert index is not None, f"{section}.{key} missing from default.toml"
            assert lines[index - 1].lstrip().startswith("#"), f"{section}.{key} has no comment"


def test_chat_exits_2_on_unknown_section(home_dir: Path) -> None:
    (home_dir / "config.toml").write_text("[no_such_section]\nfoo = 1\n")
    result = run_cli("chat", "--json", home=home_dir, stdin="hello\n")
    assert result.returncode == 2
    assert "no_such_section" in result.stderr
    assert "Traceback" not in result.stderr


def test_every_command_checks_the_configuration(home_dir: Path) -> None:
    (home_dir / "config.toml").write_text("[runtime]\ntimeout_s = 'x'\n")
    for args in (["ask", "hi"], ["skill", "list"], ["config", "show"]):
        result = run_cli(*args, home=home_dir)
        assert result.returncode == 2, args
        assert "timeout_s" in result.stderr


def test_skill_settings_are_checked_against_the_manifest(home_dir: Path) -> None:
    (home_dir / "config.toml").write_text("[skills.system]\nclock_24h = 'yes'\n")
    result = run_cli("ask", "what time is it", home=home_dir)
    assert result.returncode == 2
    assert "skills.system" in result.stderr and "clock_24h" in result.stderr


def test_config_show_lists_values_and_sources(home_dir: Path) -> None:
    (home_dir / "config.toml").write_text("[tts]\nrate_wpm = 150\n")
    result = run_cli("config", "show", home=home_dir)
    assert result.returncode == 0
    line = next(line for line in result.stdout.splitlines() if line.startswith("tts.rate_wpm"))
    assert "150" in line and "config.toml" in line


DEEP_ARRAY = "[" * 50_000 + "]" * 50_000


@pytest.mark.parametrize("where", ["home", "--config"])
def test_deeply_nested_toml_is_a_configuration_error_naming_the_file(home_dir: Path, where: str) -> None:
    config = home_dir / "config.toml" if where == "home" else home_dir / "extra.toml"
    config.write_text(f"[music]\nfolders = {DEEP_ARRAY}\n")
    args = ["config", "show"] if where == "home" else ["--config", str(config), "config", "show"]
    result = run_cli(*args, home=home_dir)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and "RecursionError" not in result.stderr
    assert str(config) in result.stderr and "nested too deeply" in result.stderr
    assert len(result.stderr) < 1000


def test_deeply_nested_environment_value_is_an_error_naming_the_variable(home_dir: Path) -> None:
    result = run_cli("config", "show", home=home_dir, env={"ASSISTANT_MUSIC__FOLDERS": DEEP_ARRAY})
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert "environment variable ASSISTANT_MUSIC__FOLDERS: [music] folders" in result.stderr
    assert len(result.stderr) < 1000


def test_bad_list_item_names_the_file_it_came_from(home_dir: Path) -> None:
    (home_dir / "config.toml").write_text("[music]\nfolders = [1, 2]\n")
    result = run_cli("config", "show", home=home_dir)
    assert result.returncode == 2
    assert f"{home_dir / 'config.toml'}: [music] folders[0]: Input should be a valid string" in result.stderr
    assert "defaults" not in result.stderr


def test_bad_list_item_names_the_environment_variable_it_came_from(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "none.toml", environ={"ASSISTANT_MUSIC__FOLDERS": "[1, 2]"})
    assert "environment variable ASSISTANT_MUSIC__FOLDERS: [music] folders[1]" in str(caught.value)
    assert "defaults" not in str(caught.value)


def test_unknown_section_in_the_environment_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"environment variable ASSISTANT_NOPE__X: unknown section \[nope\]"):
        load_config(tmp_path / "none.toml", environ={"ASSISTANT_NOPE__X": "1"})


def test_wyoming_allow_is_checked_when_the_configuration_loads(home_dir: Path) -> None:
    (home_dir / "config.toml").write_text('[wyoming]\nallow = ["127.0.0.1", "not-an-ip"]\n')
    result = run_cli("config", "show", home=home_dir)
    assert result.returncode == 2
    assert f"{home_dir / 'config.toml'}: [wyoming] allow:" in result.stderr
    assert "'not-an-ip' is not an IP address or CIDR network" in result.stderr


def test_wyoming_allow_takes_addresses_and_networks(tmp_path: Path) -> None:
    user = tmp_path / "config.toml"
    entries = ["127.0.0.1", "::1", "192.168.1.0/24", "10.0.0.1/8", "fe80::/10"]
    user.write_text(f"[wyoming]\nallow = {entries!r}\n".replace("'", '"'))
    assert load_config(user, environ={}).settings.wyoming.allow == entries
