"""Reading one skill package folder: manifest, locales, action modules, all validated.

Every problem is a `SkillLoadError` naming the file (and line or field) at fault.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from assistant import __version__
from assistant.errors import SkillLoadError
from assistant.nlu.samples import SampleSyntaxError, slots_in, validate

MANIFEST = "skill.json"
BUILTIN_TYPES = ("number", "percentage", "duration", "datetime", "url")
MAX_JSON_DEPTH = 64
"""Deepest nesting of arrays and objects in a skill's JSON files; real ones stay under ten.
Deeper documents would exhaust the interpreter's recursion limit in the parser or the schema check."""


@dataclass(frozen=True)
class EntityDef:
    """How to recognise one entity; `type` is enum, regex, wildcard or a built-in."""

    name: str
    type: str
    values: dict[str, list[str]] = field(default_factory=dict)
    pattern: str | None = None
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class ActionDef:
    name: str
    type: str
    """"logic" (code in actions/<name>.py) or "dialog" (answers only)."""
    samples: tuple[str, ...]
    answer: str | None = None
    required_entities: dict[str, str] = field(default_factory=dict)
    follow_up: bool = False
    answers_ring: bool = False
    """Heard without the wake word while a notification of the skill rings ("stop", "snooze")."""
    internal: bool = False


@dataclass(frozen=True)
class SkillPackage:
    """A validated skill package."""

    id: str
    version: str
    name: str
    description: str
    path: Path
    manifest: dict[str, Any]
    language: str
    actions: dict[str, ActionDef]
    entities: dict[str, EntityDef]
    answers: dict[str, list[str]]
    bundled: bool = False

    @property
    def permissions(self) -> list[str]:
        return list(self.manifest.get("permissions", []))

    @property
    def dependencies(self) -> list[str]:
        return list(self.manifest.get("python_dependencies", []))

    @property
    def timeout_s(self) -> float | None:
        value = self.manifest.get("timeout_s")
        return float(value) if value is not None else None

    @property
    def memory_mb(self) -> int | None:
        """The memory its worker may use, when the manifest asks for other than `[runtime] skill_memory_mb`."""
        value = self.manifest.get("memory_mb")
        return int(value) if value is not None else None

    def default_settings(self) -> dict[str, Any]:
        schema = self.manifest.get("settings") or {}
        return {
            key: spec["default"]
            for key, spec in (schema.get("properties") or {}).items()
            if isinstance(spec, dict) and "default" in spec
        }

    def entity(self, name: str) -> EntityDef:
        """The definition of `name`; built-in type names are implicitly defined."""
        if name in self.entities:
            return self.entities[name]
        return EntityDef(name=name, type=name)


@cache
def schema(name: str) -> dict[str, Any]:
    """A JSON Schema shipped in the package: "skill" or "locale"."""
    text = resources.files("assistant.skills").joinpath("schemas", f"{name}.schema.json").read_text()
    return json.loads(text)


def read_json(path: Path) -> Any:
    """Parse a JSON file; duplicate keys and syntax errors are reported with their line."""

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                raise SkillLoadError(str(path), f"key {key!r} appears twice in one object")
            result[key] = value
        return result

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SkillLoadError(str(path), "file is missing") from None
    except (OSError, UnicodeDecodeError) as error:
        raise SkillLoadError(str(path), f"cannot read: {error}") from None
    too_deep = f"invalid JSON: arrays or objects nested more than {MAX_JSON_DEPTH} levels deep; flatten them"
    try:
        document = json.loads(text, object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as error:
        raise SkillLoadError(f"{path}:{error.lineno}", f"invalid JSON: {error.msg} (column {error.colno})") from None
    except RecursionError:
        raise SkillLoadError(str(path), too_deep) from None
    if _nesting_exceeds(document, MAX_JSON_DEPTH):
        raise SkillLoadError(str(path), too_deep)
    return document


def _nesting_exceeds(document: Any, limit: int) -> bool:
    """Whether arrays and objects nest deeper than `limit` (walked without recursion)."""
    stack = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth > limit:
                return True
            stack.extend((item, depth + 1) for item in (value.values() if isinstance(value, dict) else value))
    return False


def check_schema(path: Path, document: Any, schema_name: str) -> None:
    """Raise `SkillLoadError` for the first schema violation, naming the field and its line."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema(schema_name))
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        where = "/".join(str(part) for part in error.absolute_path) or "(top level)"
        line = _line_of(path, list(error.absolute_path))
        location = f"{path}:{line}" if line else str(path)
        message = error.message if len(error.message) <= 300 else f"{error.message[:300]}… (cut)"
        raise SkillLoadError(location, f"field {where}: {message}")


def _line_of(path: Path, field_path: list[Any]) -> int | None:
    """Best-effort line number of the last named key of `field_path` in the file."""
    keys = [part for part in field_path if isinstance(part, str)]
    if not keys:
        return None
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    needle = f'"{keys[-1]}"'
    for number, line in enumerate(lines, start=1):
        if needle in line:
            return number
    return None


def load_package(path: Path, language: str = "en", bundled: bool = False) -> SkillPackage:
    """Load and validate the skill folder at `path`."""
    manifest_path = path / MANIFEST
    manifest = read_json(manifest_path)
    check_schema(manifest_path, manifest, "skill")
    if manifest["id"] != path.name and bundled:
        raise SkillLoadError(str(manifest_path), f"field id: {manifest['id']!r} differs from the folder name {path.name!r}")
    if _version_tuple(manifest["min_assistant_version"]) > _version_tuple(__version__):
        raise SkillLoadError(
            str(manifest_path),
            f"field min_assistant_version: needs assistant {manifest['min_assistant_version']}, this is {__version__}",
        )

    locale_path = path / "locales" / f"{language}.json"
    locale = read_json(locale_path)
    check_schema(locale_path, locale, "locale")

    entities = {
        name: EntityDef(
            name=name,
            type=spec["type"],
            values={k: list(v) for k, v in (spec.get("values") or {}).items()},
            pattern=spec.get("pattern"),
            examples=tuple(spec.get("examples") or ()),
        )
        for name, spec in (locale.get("entities") or {}).items()
    }
    for entity in entities.values():
        _check_entity(locale_path, entity)
    answers = {
        key: [value] if isinstance(value, str) else list(value)
        for key, value in (locale.get("answers") or {}).items()
    }
    actions = _actions(path, manifest, locale, locale_path, entities, answers)
    return SkillPackage(
        id=manifest["id"],
        version=manifest["version"],
        name=manifest["name"],
        description=manifest["description"],
        path=path,
        manifest=manifest,
        language=language,
        actions=actions,
        entities=entities,
        answers=answers,
        bundled=bundled,
    )


def _check_entity(locale_path: Path, entity: EntityDef) -> None:
    field_name = f"field entities/{entity.name}"
    if entity.type == "enum" and not entity.values:
        raise SkillLoadError(str(locale_path), f"{field_name}: an enum needs 'values'")
    if entity.type == "regex":
        import re

        if not entity.pattern:
            raise SkillLoadError(str(locale_path), f"{field_name}: a regex needs 'pattern'")
        try:
            re.compile(entity.pattern)
        except re.error as error:
            raise SkillLoadError(str(locale_path), f"{field_name}: bad pattern: {error}") from None


def _actions(
    path: Path,
    manifest: dict[str, Any],
    locale: dict[str, Any],
    locale_path: Path,
    entities: dict[str, EntityDef],
    answers: dict[str, list[str]],
) -> dict[str, ActionDef]:
    declared: dict[str, Any] = manifest["actions"]
    phrased: dict[str, Any] = locale.get("actions") or {}
    for name in phrased:
        if name not in declared:
            raise SkillLoadError(str(locale_path), f"field actions/{name}: action not declared in {MANIFEST}")
    actions: dict[str, ActionDef] = {}
    for name, spec in declared.items():
        local = phrased.get(name) or {}
        samples = tuple(local.get("samples") or ())
        for index, sample in enumerate(samples):
            where = f"field actions/{name}/samples/{index}"
            try:
                validate(sample)
            except SampleSyntaxError as error:
                raise SkillLoadError(str(locale_path), f"{where}: {error}") from None
            for slot in slots_in(sample):
                if slot not in entities and slot not in BUILTIN_TYPES:
                    raise SkillLoadError(
                        str(locale_path), f"{where}: entity {{{slot}}} is not defined under 'entities'"
                    )
        required = dict(local.get("required_entities") or {})
        for entity_name, answer_key in required.items():
            if answer_key not in answers:
                raise SkillLoadError(
                    str(locale_path), f"field actions/{name}/required_entities/{entity_name}: no answer named {answer_key!r}"
                )
        if spec["type"] == "dialog":
            answer = spec.get("answer") or name
            if answer not in answers:
                raise SkillLoadError(str(locale_path), f"field answers: dialog action {name!r} needs an answer named {answer!r}")
        elif not (path / "actions" / f"{name}.py").is_file():
            raise SkillLoadError(str(path / "actions" / f"{name}.py"), f"logic action {name!r} has no module")
        if not samples and not spec.get("internal"):
            raise SkillLoadError(str(locale_path), f"field actions/{name}/samples: action {name!r} has no samples")
        actions[name] = ActionDef(
            name=name,
            type=spec["type"],
            samples=samples,
            answer=spec.get("answer") or (name if spec["type"] == "dialog" else None),
            required_entities=required,
            follow_up=bool(spec.get("follow_up")),
            answers_ring=bool(spec.get("answers_ring")),
            internal=bool(spec.get("internal")),
        )
    return actions


def _version_tuple(version: str) -> tuple[int, ...]:
    core = version.split("-")[0].split("+")[0]
    return tuple(int(part) for part in core.split("."))
