"""`assistant skill test`: a skill's utterance table and pytest files, run against the real NLU and brain.

The skill under test is linked into a scratch home next to the bundled skills, so the
test sees the same understanding and runtime as the assistant, but not the user's data.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.config import LoadedConfig
from assistant.errors import SkillLoadError
from assistant.home import Home
from assistant.skills.package import load_package, read_json

TABLE = Path("tests") / "tests.json"
SKILL_ENV = "ASSISTANT_SKILL_UNDER_TEST"
"""The pytest plugin reads the skill folder from this variable."""

TABLE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["tests"],
    "additionalProperties": False,
    "properties": {
        "$schema": {"type": "string"},
        "tests": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["utterance", "action"],
                "additionalProperties": False,
                "properties": {
                    "utterance": {"type": "string", "minLength": 1},
                    "action": {"type": "string", "description": "action, or skill.action for another skill"},
                    "entities": {"type": "object"},
                    "reply_contains": {"type": "string"},
                },
            },
        },
    },
}


@dataclass(frozen=True)
class Case:
    """One row of `tests/tests.json`."""

    utterance: str
    label: str
    """Expected "skill.action"."""
    entities: dict[str, Any] | None = None
    """Expected entities (a subset check); None = not checked."""
    reply_contains: str | None = None
    """Text the reply must contain (case-insensitive)."""


@dataclass(frozen=True)
class CaseResult:
    case: Case
    label: str | None
    entities: dict[str, Any]
    reply: str
    failures: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass
class PytestResult:
    returncode: int
    output: str
    ran: bool = True


@dataclass
class TestReport:
    cases: list[CaseResult] = field(default_factory=list)
    pytest: PytestResult | None = None

    @property
    def passed(self) -> bool:
        table_ok = all(result.passed for result in self.cases)
        return table_ok and (self.pytest is None or self.pytest.returncode in (0, 5))


def load_table(skill_path: Path, skill_id: str) -> list[Case]:
    """The cases of `tests/tests.json`, [] when the file is absent."""
    path = skill_path / TABLE
    if not path.exists():
        return []
    document = read_json(path)
    _check_table(path, document)
    cases = []
    for row in document["tests"]:
        action = row["action"]
        label = action if "." in action else f"{skill_id}.{action}"
        cases.append(Case(row["utterance"], label, row.get("entities"), row.get("reply_contains")))
    return cases


def _check_table(path: Path, document: Any) -> None:
    import jsonschema

    errors = list(jsonschema.Draft202012Validator(TABLE_SCHEMA).iter_errors(document))
    if errors:
        error = errors[0]
        where = "/".join(str(part) for part in error.absolute_path) or "(top level)"
        raise SkillLoadError(str(path), f"field {where}: {error.message}")


class Harness:
    """An assistant over the bundled skills plus the skill under test, in a scratch home."""

    def __init__(self, skill_path: Path, config: LoadedConfig, models_dir: Path | None = None):
        from assistant.runtime import Assistant

        self.package = load_package(skill_path, config.settings.general.language)
        self._scratch = tempfile.TemporaryDirectory(prefix="assistant-skilltest-")
        home = Home(Path(self._scratch.name))
        if models_dir is not None and models_dir.is_dir():
            # Share trained classifiers and speech models with the real home: no retraining per run.
            home.root.mkdir(parents=True, exist_ok=True)
            (home.root / "models").symlink_to(models_dir.resolve(), target_is_directory=True)
        home.ensure()
        (home.skills / self.package.id).symlink_to(skill_path.resolve(), target_is_directory=True)
        self.app = Assistant(home, _never_disabling(config))
        problems = [p for p in self.app.catalog().problems if self.package.id in p.path]
        if problems:
            raise SkillLoadError(problems[0].path, problems[0].message)
        # Trains (or loads) the classifier once, before the cases; the home's threshold is
        # borrowed, which saves five extra fits per run.
        self.app.brain(calibrate=False)

    def session(self) -> Any:
        """A fresh conversation, sharing the trained brain and the workers."""
        return self.app.open_session()

    def close(self) -> None:
        self.app.close()
        self._scratch.cleanup()

    def __enter__(self) -> Harness:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _never_disabling(config: LoadedConfig) -> LoadedConfig:
    """The same settings, but a crashing skill is not switched off: each case reports its own failure."""
    runtime = config.settings.runtime.model_copy(update={"max_failures": 100})
    settings = config.settings.model_copy(update={"runtime": runtime})
    return LoadedConfig(settings=settings, sources=config.sources)


def run_case(harness: Harness, case: Case) -> CaseResult:
    """Send one utterance through a fresh conversation and compare with the expectation."""
    with harness.session() as session:
        turn = session.handle(case.utterance)
    label = f"{turn.skill}.{turn.action}" if turn.skill else None
    failures = []
    if label != case.label:
        failures.append(f"went to {label} ({turn.confidence:.2f}), expected {case.label}")
    for name, expected in (case.entities or {}).items():
        got = turn.entities.get(name)
        if _normal(got) != _normal(expected):
            failures.append(f"entity {name}: got {got!r}, expected {expected!r}")
    if case.reply_contains and case.reply_contains.lower() not in turn.reply.text.lower():
        failures.append(f"reply {turn.reply.text!r} lacks {case.reply_contains!r}")
    return CaseResult(case, label, dict(turn.entities), turn.reply.text, tuple(failures))


def _normal(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def run_pytest(skill_path: Path, environ: dict[str, str] | None = None) -> PytestResult:
    """Run the skill's `tests/test_*.py` in a pytest subprocess with the `ask` fixture."""
    tests = skill_path / "tests"
    if not any(tests.glob("test_*.py")):
        return PytestResult(0, "no pytest files", ran=False)
    env = dict(os.environ if environ is None else environ)
    env[SKILL_ENV] = str(skill_path.resolve())
    command = [
        sys.executable, "-m", "pytest", "-q", "-p", "assistant.skills.pytest_plugin",
        "-p", "no:cacheprovider", "--rootdir", str(skill_path.resolve()), str(tests.resolve()),
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=skill_path)
    return PytestResult(done.returncode, done.stdout + done.stderr)


def run_tests(skill_path: Path, config: LoadedConfig, models_dir: Path | None = None, with_pytest: bool = True) -> TestReport:
    """The table, then the pytest files; raises `SkillLoadError` when the skill does not load."""
    report = TestReport()
    with Harness(skill_path, config, models_dir) as harness:
        for case in load_table(skill_path, harness.package.id):
            report.cases.append(run_case(harness, case))
    if with_pytest:
        report.pytest = run_pytest(skill_path)
    return report
