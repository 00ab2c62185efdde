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
