"""The system skill: a table of utterances phrased unlike its samples routes to the right action."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

# (utterance, expected action, expected entities)
TABLE: list[tuple[str, str, dict[str, Any]]] = [
    ("hello assistant!", "greet", {}),
    ("hey there, how are you", "greet", {}),
    ("good evening to you", "greet", {}),
    ("hiya", "greet", {}),
    ("how are you doing today?", "greet", {}),
    ("morning!", "greet", {}),
    ("thanks a bunch", "thanks", {}),
    ("thank you very much indeed", "thanks", {}),
    ("cheers mate", "thanks", {}),
    ("that was helpful, thanks", "thanks", {}),
    ("ok bye now", "goodbye", {}),
    ("see you later alligator", "goodbye", {}),
    ("good night assistant", "goodbye", {}),
    ("what is your name?", "about", {}),
    ("who are you exactly", "about", {}),
    ("are you a robot or a human", "about", {}),
    ("what kind of stuff can you do", "help", {}),
    ("what things can you do for me", "help", {}),
    ("what can i ask you to do", "help", {}),
    ("list all your skills", "help", {}),
    ("help me please", "help", {}),
    ("what time is it right now", "time", {}),
    ("could you tell me the time", "time", {}),
    ("what's the current time", "time", {}),
    ("time please", "time", {}),
    ("do you know what time it is?", "time", {}),
    ("what is today's date", "date", {}),
    ("what day is it today?", "date", {}),
    ("what date is it today", "date", {}),
    ("tell me the date please", "date", {}),
    ("what month are we in", "date", {}),
    ("can you say that again please", "repeat", {}),
    ("repeat that please", "repeat", {}),
    ("sorry, what did you say?", "repeat", {}),
    ("i did not catch that", "repeat", {}),
    ("come again?", "repeat", {}),
    ("never mind that", "cancel", {}),
    ("forget about it", "cancel", {}),
    ("cancel it", "cancel", {}),
    ("please stop that", "cancel", {}),
    ("no thank you", "cancel", {}),
    ("abort abort", "cancel", {}),
]


@pytest.fixture(scope="module")
def nlu(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from assistant.config import NluSettings
    from assistant.home import Home
    from assistant.nlu.understand import Nlu
    from assistant.skills.catalog import BUNDLED_SKILLS, discover

    home = Home(tmp_path_factory.mktemp("home")).ensure()
    catalog = discover([BUNDLED_SKILLS])
    return Nlu(catalog, NluSettings(engine="lexical"), home)


def test_table_is_large_enough() -> None:
    assert len(TABLE) >= 40


@pytest.mark.parametrize(("utterance", "action", "entities"), TABLE, ids=[row[0] for row in TABLE])
def test_system_routing(nlu, utterance: str, action: str, entities: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    result = nlu.parse(utterance, datetime.now().astimezone())
    assert result.label == f"system.{action}", (result.label, result.ranking[:3])
    assert result.entities == entities
