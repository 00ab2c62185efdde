"""Regenerate the manifest and locale reference in docs/skills.md from the JSON Schemas.

    python scripts/gen_skill_docs.py           # rewrite the generated part
    python scripts/gen_skill_docs.py --check   # exit 1 when the doc is out of date
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SCHEMAS = REPO / "src" / "assistant" / "skills" / "schemas"
DOC = REPO / "docs" / "skills.md"
BEGIN = "<!-- BEGIN GENERATED REFERENCE: scripts/gen_skill_docs.py -->"
END = "<!-- END GENERATED REFERENCE -->"


def describe_type(spec: dict[str, Any]) -> str:
    """A short human form of a property's type: `string`, `one of: a, b`, `list of string`."""
    if "enum" in spec:
        return "one of: " + ", ".join(f"`{value}`" for value in spec["enum"])
    if "oneOf" in spec:
        return " or ".join(describe_type(option) for option in spec["oneOf"])
    kind = spec.get("type", "any")
    if kind == "array":
        items = spec.get("items", {})
        return f"list of {describe_type(items)}" if items else "list"
    if kind == "object" and isinstance(spec.get("additionalProperties"), dict) and "properties" not in spec:
        return f"table of name → {describe_type(spec['additionalProperties'])}"
    return str(kind)


def constraints(spec: dict[str, Any]) -> str:
    notes = []
    for key, label in (("pattern", "pattern"), ("minLength", "min length"), ("maxLength", "max length"),
                       ("minItems", "min items"), ("minProperties", "min entries"),
                       ("exclusiveMinimum", "more than"), ("maximum", "at most")):
        if key in spec:
            value = spec[key]
            notes.append(f"{label} `{value}`" if key == "pattern" else f"{label} {value}")
    if spec.get("uniqueItems"):
        notes.append("no repeats")
    if "default" in spec:
        notes.append(f"default `{json.dumps(spec['default'])}`")
    if spec.get("items", {}).get("enum"):
        notes.append("items: " + ", ".join(f"`{v}`" for v in spec["items"]["enum"]))
    return "; ".join(notes)


def table(title: str, schema: dict[str, Any], level: str = "###") -> list[str]:
    """A Markdown table of `schema`'s properties, then one table per nested object."""
    required = set(schema.get("required", []))
    lines = [f"{level} {title}", ""]
    if schema.get("propertyNames", {}).get("pattern"):
        lines += [f"Names match `{schema['propertyNames']['pattern']}`.", ""]
    lines += ["| Field | Type | Required | Description | Constraints |", "|---|---|---|---|---|"]
    nested: list[tuple[str, dict[str, Any]]] = []
    for name, spec in schema.get("properties", {}).items():
        if name == "$schema":
            continue
        description = spec.get("description", "").replace("|", "\\|").replace("<", "&lt;")
        lines.append(
            f"| `{name}` | {describe_type(spec)} | {'yes' if name in required else 'no'} "
            f"| {description} | {constraints(spec).replace('|', chr(92) + '|')} |"
        )
        inner = spec.get("additionalProperties")
        if isinstance(inner, dict) and inner.get("properties"):
            nested.append((f"{title.split(' ')[0]} → `{name}` → *name*", {**inner, "propertyNames": spec.get("propertyNames", {})}))
    lines.append("")
    for nested_title, nested_schema in nested:
        lines += table(nested_title, nested_schema, level + "#")
    return lines


def render(skill_schema: dict[str, Any], locale_schema: dict[str, Any]) -> str:
    """The generated reference section, markers included."""
    lines = [BEGIN, "", "## Reference (generated from the JSON Schemas)", ""]
    for schema, file_name in ((skill_schema, "skill.json"), (locale_schema, "locales/<lang>.json")):
        lines += [f"*{schema['title']}* — {schema['description']}", ""]
        lines += table(f"`{file_name}`", schema)
    lines.append(END)
    return "\n".join(lines)


def updated(document: str, reference: str) -> str:
    if BEGIN not in document or END not in document:
        raise SystemExit(f"{DOC}: the markers {BEGIN!r} and {END!r} are missing")
    head, _, rest = document.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return head + reference + tail


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report whether the doc is up to date")
    args = parser.parse_args(argv)
    schemas = [json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8")) for name in ("skill", "locale")]
    current = DOC.read_text(encoding="utf-8")
    fresh = updated(current, render(*schemas))
    if args.check:
        if fresh != current:
            print(f"{DOC} is out of date; run: python scripts/gen_skill_docs.py", file=sys.stderr)
            return 1
        print(f"{DOC} is up to date")
        return 0
    DOC.write_text(fresh, encoding="utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
