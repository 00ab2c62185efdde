"""The music_player skill's phrases: a table of requests, worded unlike the samples, and where they go."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

TABLE_FILE = Path(__file__).resolve().parents[1] / "skills" / "music_player" / "tests" / "tests.json"
TABLE: list[dict[str, Any]] = json.loads(TABLE_FILE.read_text(encoding="utf-8"))["tests"]
"""Rows of utterance, expected action and (when given) the exact entities; also run by `assistant skill test`."""


def test_the_table_covers_every_spoken_action() -> None:
    spoken = {row["action"] for row in TABLE}
    manifest = json.loads((TABLE_FILE.parents[1] / "skill.json").read_text(encoding="utf-8"))
    assert spoken == {name for name, spec in manifest["actions"].items() if not spec.get("internal")}


@pytest.fixture(scope="module")
def nlu(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from assistant.config import NluSettings
    from assistant.home import Home
    from assistant.nlu.understand import Nlu
    from assistant.skills.catalog import BUNDLED_SKILLS, discover

    home = Home(tmp_path_factory.mktemp("home")).ensure()
    return Nlu(discover([BUNDLED_SKILLS]), NluSettings(engine="lexical"), home)


@pytest.mark.parametrize("row", TABLE, ids=[row["utterance"] for row in TABLE])
def test_music_routing(nlu: Any, row: dict[str, Any]) -> None:
    result = nlu.parse(row["utterance"], datetime.now().astimezone(), context_skill="music_player")
    assert result.label == f"music_player.{row['action']}", (result.label, result.ranking[:3])
    if "entities" in row:
        assert result.entities == row["entities"]
