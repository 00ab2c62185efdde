"""docs/skills.md: the reference part matches the JSON Schemas (regenerate with scripts/gen_skill_docs.py)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "gen_skill_docs.py"


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_skill_docs", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def property_names(schema: dict[str, Any]) -> set[str]:
    names = set(schema.get("properties", {})) - {"$schema"}
    for spec in schema.get("properties", {}).values():
        inner = spec.get("additionalProperties")
        if isinstance(inner, dict):
            names |= property_names(inner)
    return names


def test_the_doc_is_up_to_date() -> None:
    done = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr + "\nrun: python scripts/gen_skill_docs.py"


def test_every_schema_field_is_documented() -> None:
    gen = generator()
    schemas = [json.loads((gen.SCHEMAS / f"{n}.schema.json").read_text()) for n in ("skill", "locale")]
    reference = gen.render(*schemas)
    for schema in schemas:
        for name in property_names(schema):
            assert f"| `{name}` |" in reference, name


def test_a_schema_change_makes_the_doc_stale() -> None:
    gen = generator()
    skill, locale = (json.loads((gen.SCHEMAS / f"{n}.schema.json").read_text()) for n in ("skill", "locale"))
    current = gen.DOC.read_text()
    skill["properties"]["homepage"] = {"type": "string", "description": "Where the skill lives."}
    fresh = gen.updated(current, gen.render(skill, locale))
    assert fresh != current
    assert "| `homepage` | string | no | Where the skill lives. |" in fresh
    assert fresh.startswith(current.partition(gen.BEGIN)[0])
