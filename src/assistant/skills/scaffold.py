"""`assistant skill new`: write a small skill package that loads, answers and tests at once."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from assistant import __version__
from assistant.errors import SkillError
from assistant.skills.package import MANIFEST

SKILL_ID = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"


@dataclass(frozen=True)
class Scaffold:
    """What `create_skill` wrote."""

    skill_id: str
    path: Path
    files: tuple[Path, ...]


def create_skill(name: str, parent: Path, author: str = "you") -> Scaffold:
    """Write the skill `name` (lower_snake_case) as `parent/name`; refuse to overwrite."""
    if not SKILL_ID.match(name) or len(name) > 64:
        raise SkillError(
            f"{name!r} is not a valid skill id: use lower_snake_case letters and digits, "
            "starting with a letter (e.g. coffee_timer)"
        )
    target = parent / name
    if target.exists():
        raise SkillError(f"{target} already exists; choose another name or --dir")
    title = name.replace("_", " ")
    files = _files(name, title, author)
    written = []
    for relative, text in files.items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return Scaffold(skill_id=name, path=target, files=tuple(written))


def _files(skill_id: str, title: str, author: str) -> dict[str, str]:
    manifest = {
        "$schema": (SCHEMA_DIR / "skill.schema.json").as_uri(),
        "id": skill_id,
        "version": "0.1.0",
        "name": title.capitalize(),
        "description": f"Says hello and counts how often it was asked ({title}).",
        "author": author,
        "license": "MIT",
        "min_assistant_version": __version__,
        "permissions": [],
        "python_dependencies": [],
        "settings": {
            "type": "object",
            "properties": {"greeting": {"type": "string", "default": "Hello", "description": "The first word of the reply."}},
        },
        "actions": {
            "hello": {"type": "logic", "description": "Greets and counts the calls in the skill's memory."},
            "about": {"type": "dialog", "answer": "about"},
        },
    }
    locale = {
        "$schema": (SCHEMA_DIR / "locale.schema.json").as_uri(),
        "entities": {"person": {"type": "wildcard", "examples": ["Ada", "my sister", "the team"]}},
        "actions": {
            "hello": {
                "samples": [
                    f"[start|open|run] [the|] {title}",
                    f"{title} [please|]",
                    f"say hello [with|from] [the|] {title}",
                    f"[ask|use] [the|] {title} to greet {{person}}",
                ]
            },
            "about": {
                "samples": [
                    f"what is [the|] {title}",
                    f"what does [the|] {title} do",
                    f"tell me about [the|] {title}",
                ]
            },
        },
        "answers": {
            "hello": ["{greeting} from {name}! That makes {count} so far."],
            "hello_person": ["{greeting}, {person}, from {name}! That makes {count} so far."],
            "about": [f"The {title} skill is a starting point: edit locales/en.json and actions/hello.py."],
        },
    }
    tests = {
        "tests": [
            {"utterance": f"start the {title}", "action": "hello", "reply_contains": "from"},
            {"utterance": f"{title} please", "action": "hello"},
            {
                "utterance": f"ask the {title} to greet Ada",
                "action": "hello",
                "entities": {"person": "Ada"},
                "reply_contains": "Ada",
            },
            {"utterance": f"tell me about the {title}", "action": "about", "reply_contains": title},
        ]
    }
    return {
        MANIFEST: _json(manifest),
        "locales/en.json": _json(locale),
        "actions/hello.py": _ACTION.format(title=title),
        "tests/tests.json": _json(tests),
        f"tests/test_{skill_id}.py": _PYTEST.format(title=title, skill_id=skill_id),
        "README.md": _README.format(title=title, skill_id=skill_id),
    }


def _json(document: object) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


_ACTION = '''"""Greets (someone, when a person is named) and counts the calls in the skill's memory."""

from assistant.skills.sdk import Request, Response


def run(request: Request) -> Response:
    count = int(request.memory.get("count", 0)) + 1
    request.memory.set("count", count)
    fields = {{"greeting": request.settings.get("greeting", "Hello"), "name": "{title}", "count": count}}
    person = request.entities.get("person")
    if person:
        return request.reply("hello_person", person=person, data={{"count": count}}, **fields)
    return request.reply("hello", data={{"count": count}}, **fields)
'''

_PYTEST = '''"""Tests of the {title} skill, run by `assistant skill test` with the real NLU and brain.

The `ask` fixture sends one utterance through the brain and returns the `Turn`.
"""


def test_hello_counts_calls(ask):
    first = ask("start the {title}")
    second = ask("run {title}")
    assert (first.skill, first.action) == ("{skill_id}", "hello")
    assert first.reply.data["count"] + 1 == second.reply.data["count"]


def test_about_needs_no_code(ask):
    turn = ask("what does the {title} do")
    assert turn.action == "about"
    assert "starting point" in turn.reply.text
'''

_README = """# {title}

A skill for the offline assistant, made with `assistant skill new {skill_id}`.

    assistant skill check .     # schema, samples, collisions with installed skills
    assistant skill test .      # tests/tests.json and tests/test_*.py
    assistant skill pack .      # writes {skill_id}-VERSION.skill
"""
