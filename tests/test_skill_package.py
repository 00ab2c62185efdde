"""Skill packages: the bundled ones validate; each malformed case is skipped with file and field named."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from assistant.skills.catalog import BUNDLED_SKILLS, discover
from assistant.skills.package import load_package, schema
from conftest import run_cli, write_skill

GOOD_ACTIONS = {"hello": {"type": "dialog", "answer": "hi"}}
GOOD_SAMPLES = {"hello": ["say hello"]}
GOOD_ANSWERS = {"hi": ["Hello."]}


def test_bundled_skills_validate_and_name_their_schema() -> None:
    folders = [p for p in BUNDLED_SKILLS.iterdir() if (p / "skill.json").exists()]
    assert folders
    for folder in folders:
        manifest = json.loads((folder / "skill.json").read_text())
        assert manifest["$schema"].endswith("skill.schema.json")
        assert (folder / manifest["$schema"]).resolve().exists(), folder
        jsonschema.validate(manifest, schema("skill"))
        for locale_file in (folder / "locales").glob("*.json"):
            locale = json.loads(locale_file.read_text())
            assert (locale_file.parent / locale["$schema"]).resolve().exists(), locale_file
            jsonschema.validate(locale, schema("locale"))
        package = load_package(folder, bundled=True)
        assert package.id == folder.name


def _good(root: Path, skill_id: str = "good_one") -> Path:
    return write_skill(root, skill_id, GOOD_ACTIONS, samples=GOOD_SAMPLES, answers=GOOD_ANSWERS)


def _bad_json(root: Path) -> tuple[Path, str]:
    folder = _good(root, "bad_json")
    (folder / "skill.json").write_text('{\n  "id": "bad_json",\n  "version": 1.0.0\n}')
    return folder, "skill.json:3"


def _missing_field(root: Path) -> tuple[Path, str]:
    folder = _good(root, "missing_field")
    manifest = json.loads((folder / "skill.json").read_text())
    del manifest["version"]
    (folder / "skill.json").write_text(json.dumps(manifest))
    return folder, "'version' is a required property"


def _undefined_entity(root: Path) -> tuple[Path, str]:
    folder = write_skill(
        root, "undefined_entity", GOOD_ACTIONS, samples={"hello": ["say hello to {person}"]}, answers=GOOD_ANSWERS
    )
    return folder, "entity {person} is not defined"


def _duplicate_action(root: Path) -> tuple[Path, str]:
    folder = _good(root, "duplicate_action")
    text = (folder / "skill.json").read_text()
    text = text.replace('"actions": {', '"actions": {\n    "hello": {"type": "logic"},', 1)
    (folder / "skill.json").write_text(text)
    return folder, "key 'hello' appears twice"


def _missing_module(root: Path) -> tuple[Path, str]:
    folder = write_skill(
        root, "missing_module", {"work": {"type": "logic"}}, samples={"work": ["do the work"]}
    )
    return folder, "logic action 'work' has no module"


def _bad_id(root: Path) -> tuple[Path, str]:
    folder = _good(root, "bad_id")
    manifest = json.loads((folder / "skill.json").read_text())
    manifest["id"] = "Bad-Id"
    (folder / "skill.json").write_text(json.dumps(manifest))
    return folder, "field id"


def _bad_sample_syntax(root: Path) -> tuple[Path, str]:
    folder = write_skill(root, "bad_syntax", GOOD_ACTIONS, samples={"hello": ["say [hello|hi"]}, answers=GOOD_ANSWERS)
    return folder, "unclosed '['"


def _bad_regex(root: Path) -> tuple[Path, str]:
    folder = write_skill(
        root,
        "bad_regex",
        GOOD_ACTIONS,
        samples={"hello": ["say {code}"]},
        entities={"code": {"type": "regex", "pattern": "[a-z"}},
        answers=GOOD_ANSWERS,
    )
    return folder, "entities/code: bad pattern"


def _unknown_locale_action(root: Path) -> tuple[Path, str]:
    folder = write_skill(
        root, "stray_action", GOOD_ACTIONS, samples={**GOOD_SAMPLES, "ghost": ["boo"]}, answers=GOOD_ANSWERS
    )
    return folder, "actions/ghost: action not declared"


DEEP_ARRAY = "[" * 50_000 + "]" * 50_000


def _deep_manifest(root: Path) -> tuple[Path, str]:
    folder = _good(root, "deep_manifest")
    text = (folder / "skill.json").read_text()
    (folder / "skill.json").write_text(text.replace("{", '{"deep": ' + DEEP_ARRAY + ",", 1))
    return folder, "skill.json: invalid JSON: arrays or objects nested more than 64 levels deep"


def _deep_locale(root: Path) -> tuple[Path, str]:
    folder = _good(root, "deep_locale")
    (folder / "locales" / "en.json").write_text(DEEP_ARRAY)
    return folder, "en.json: invalid JSON: arrays or objects nested more than 64 levels deep"


def _nested_65_levels(root: Path) -> tuple[Path, str]:
    # Deep enough to refuse, shallow enough for the parser: the bound, not the recursion limit, says no.
    folder = _good(root, "nested_65")
    text = (folder / "skill.json").read_text()
    (folder / "skill.json").write_text(text.replace("{", '{"deep": ' + "[" * 64 + "]" * 64 + ",", 1))
    return folder, "nested more than 64 levels deep"


CASES = [
    _bad_json,
    _missing_field,
    _undefined_entity,
    _duplicate_action,
    _missing_module,
    _bad_id,
    _bad_sample_syntax,
    _bad_regex,
    _unknown_locale_action,
    _deep_manifest,
    _deep_locale,
    _nested_65_levels,
]


@pytest.mark.parametrize("make", CASES, ids=[c.__name__.strip("_") for c in CASES])
def test_malformed_skill_is_skipped_with_file_and_field(tmp_path: Path, make) -> None:  # type: ignore[no-untyped-def]
    _good(tmp_path, "neighbour")
    folder, expected = make(tmp_path)
    catalog = discover([tmp_path])
    assert "neighbour" in catalog.skills, "the valid skill next to it must still load"
    assert folder.name not in catalog.skills
    [problem] = catalog.problems
    assert str(folder) in problem.path
    assert expected in str(problem), str(problem)


def test_later_roots_override_earlier_ones(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    _good(first, "same")
    folder = _good(second, "same")
    assert discover([first, second]).skills["same"].path == folder


def test_disabled_skills_are_not_loaded(tmp_path: Path) -> None:
    _good(tmp_path, "quiet")
    assert "quiet" not in discover([tmp_path], disabled=["quiet"]).skills


def test_installing_a_deeply_nested_manifest_is_a_clean_error(tmp_path: Path) -> None:
    folder, expected = _deep_manifest(tmp_path / "work")
    home = tmp_path / "home"
    home.mkdir()
    result = run_cli("skill", "install", str(folder), home=home)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "RecursionError" not in result.stderr
    assert f"{folder} (skill.json): invalid JSON: arrays or objects nested more than 64 levels deep" in result.stderr
    assert not (home / "skills" / "deep_manifest").exists()
