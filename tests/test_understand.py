"""The understanding stage over real skills: a first start trains behind the lexical matcher."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from assistant.bundled import BUNDLED_SKILLS
from assistant.config import NluSettings
from assistant.home import Home
from assistant.nlu.encoder import Encoder
from assistant.nlu.understand import Nlu
from assistant.skills.catalog import discover

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("skills")
    for skill in ("system", "reminders"):
        (root / skill).symlink_to(BUNDLED_SKILLS / skill, target_is_directory=True)
    return discover([root])


def test_a_first_start_answers_at_once_then_the_classifier_takes_over(catalog, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    home = Home(tmp_path).ensure()
    notices: list[str] = []
    now = datetime.now().astimezone()
    # No ONNX folder: the test does not wait for an export.
    nlu = Nlu(catalog, NluSettings(), home, on_notice=notices.append, encoder=Encoder(), background=True)
    assert nlu.engine == "lexical" and not nlu.ready.is_set()
    assert nlu.parse("what time is it", now).label == "system.time"
    assert len(notices) == 1 and "in the background" in notices[0]
    assert nlu.ready.wait(timeout=600)
    assert nlu.engine == "transformer", notices
    assert notices[-1] == "the intent classifier is trained and now understands requests"
    understood = nlu.parse("could you tell me what the time is", now)
    assert understood.label == "system.time" and understood.engine == "transformer"
    assert nlu.parse("order a pizza with extra cheese", now).label is None
    # The next start finds the trained classifier and does not train again.
    again = Nlu(catalog, NluSettings(), home, on_notice=notices.append, encoder=Encoder(), background=True)
    assert again.engine == "transformer" and again.ready.is_set()
    assert again.threshold == nlu.threshold


def test_an_answer_may_be_the_end_of_a_template() -> None:
    """`parse_for` reads an answer as a whole sample or as its end ("to stretch in 10 minutes" of
    "remind me to {task} {when}"), never as a lone free-text slot."""
    from zoneinfo import ZoneInfo

    from assistant.nlu.slots import TemplateIndex
    from assistant.skills.package import EntityDef

    now = datetime(2026, 3, 10, 8, 0, tzinfo=ZoneInfo("Europe/London"))
    entities = {"task": EntityDef(name="task", type="wildcard"), "when": EntityDef(name="when", type="datetime")}
    index = TemplateIndex()
    index.add("reminders", "set", ["remind me to {task} {when}", "{when} remind me to {task}", "remind me {task}"], entities)
    [whole] = index.match("to stretch in 10 minutes", now, tails=True)
    assert whole.entities["task"] == "stretch" and whole.entities["when"].startswith("2026-03-10T08:10")
    [time_only] = index.match("tomorrow at 9", now, tails=True)
    assert set(time_only.entities) == {"when"} and time_only.entities["when"].startswith("2026-03-11T09:00")
    assert index.match("turn off the bedroom light", now, tails=True) == []
    assert index.match("to stretch in 10 minutes", now) == []  # a whole sample only, without tails
