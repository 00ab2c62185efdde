"""`assistant skill check`: schema errors with file:line, sample lint, collisions between skills."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant.cli.main import main
from assistant.config import NluSettings
from assistant.home import Home
from assistant.nlu.understand import Nlu
from assistant.skills.catalog import BUNDLED_SKILLS, discover
from assistant.skills.lint import find_collisions, lint_samples, load_for_check
from assistant.skills.scaffold import create_skill

FIXTURES = Path(__file__).parent / "fixtures" / "skills"
COLLIDE = FIXTURES / "collide"


@pytest.fixture(autouse=True)
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Home:
    monkeypatch.setenv("ASSISTANT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ASSISTANT_NLU__ENGINE", "lexical")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return Home(tmp_path / "home").ensure()


def lexical(home: Home):  # type: ignore[no-untyped-def]
    return lambda catalog: Nlu(catalog, NluSettings(engine="lexical"), home)


def test_planted_collision_is_found_in_both_directions(environment: Home) -> None:
    alpha, findings = load_for_check(COLLIDE / "lights_alpha")
    assert alpha is not None and findings == []
    installed = discover([BUNDLED_SKILLS, COLLIDE])
    collisions = find_collisions(alpha, installed, lexical(environment))
    pairs = {(c.utterance, c.expected, c.rival) for c in collisions}
    assert ("turn on the lights", "lights_alpha.lights_on", "lights_beta.lamp_power") in pairs
    assert ("turn on the light", "lights_beta.lamp_power", "lights_alpha.lights_on") in pairs
    # Only the planted pair: the other actions of both skills are phrased apart.
    assert {c.utterance for c in collisions} == {"turn on the lights", "turn on the light"}


def test_no_collision_without_the_rival(environment: Home) -> None:
    alpha, _ = load_for_check(COLLIDE / "lights_alpha")
    assert alpha is not None
    assert find_collisions(alpha, discover([BUNDLED_SKILLS]), lexical(environment)) == []


def test_check_command_prints_both_skills_and_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ASSISTANT_RUNTIME__EXTRA_PATHS", json.dumps([str(COLLIDE)]))
    assert main(["skill", "check", str(COLLIDE / "lights_alpha")]) == 1
    out = capsys.readouterr().out
    assert "lights_alpha.lights_on" in out and "lights_beta.lamp_power" in out
    assert "2 collision(s)" in out


def test_lint_reports_weak_samples_with_file_and_line() -> None:
    package, errors = load_for_check(FIXTURES / "lint_weak")
    assert package is not None and errors == []
    found = {(f.where.rsplit("/", 1)[-1], f.severity, f.message.split(" ")[0]) for f in lint_samples(package)}
    messages = " | ".join(str(f) for f in lint_samples(package))
    assert "sample 'water the garden' of action 'water' repeats 1 phrasing(s) already given earlier" in messages
    assert "action 'feed' has 1 distinct phrasing(s)" in messages
    assert "entity 'colour' is defined but no sample uses {colour}" in messages
    assert ("water.py:8", "error", "answer") in found
    assert ("en.json:8", "warning", "action") in found


def test_schema_error_names_file_and_line(tmp_path: Path) -> None:
    folder = create_skill("broken_one", tmp_path).path
    manifest = folder / "skill.json"
    manifest.write_text(manifest.read_text().replace('"version": "0.1.0"', '"version": "one"'))
    package, findings = load_for_check(folder)
    assert package is None
    assert findings[0].severity == "error"
    line = next(n for n, text in enumerate(manifest.read_text().splitlines(), 1) if '"version"' in text)
    assert findings[0].where == f"{manifest}:{line}"
    assert "field version" in findings[0].message


def test_undefined_entity_is_an_error(tmp_path: Path) -> None:
    folder = tmp_path / "lint_weak"
    shutil.copytree(FIXTURES / "lint_weak", folder)
    locale = folder / "locales" / "en.json"
    locale.write_text(locale.read_text().replace("water {plant}", "water {flower}"))
    package, findings = load_for_check(folder)
    assert package is None
    assert "entity {flower} is not defined" in findings[0].message


def test_check_is_clean_for_a_fresh_scaffold(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = create_skill("plant_care", tmp_path).path
    assert main(["skill", "check", str(folder)]) == 0
    assert "plant_care: no problems" in capsys.readouterr().out


def test_check_of_a_folder_without_manifest_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["skill", "check", str(tmp_path)]) == 1
    assert "no skill.json here" in capsys.readouterr().out
