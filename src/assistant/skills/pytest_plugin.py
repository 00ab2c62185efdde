"""Pytest fixtures for a skill's own tests (`assistant skill test` loads this plugin).

`ask(text) -> Turn` sends one utterance through the real NLU and brain over the bundled
skills plus the skill under test; each test function starts a fresh conversation.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.config import load_config
from assistant.home import Home
from assistant.skills.skilltest import SKILL_ENV, Harness


@pytest.fixture(scope="session")
def skill_harness() -> Iterator[Harness]:
    """The assistant over the skill named by `$ASSISTANT_SKILL_UNDER_TEST`."""
    folder = os.environ.get(SKILL_ENV)
    if not folder:
        pytest.skip(f"${SKILL_ENV} is not set; run these tests with `assistant skill test`")
    user_home = Home.from_env()
    config = load_config(user_home.config_file)
    with Harness(Path(folder), config, models_dir=user_home.models) as harness:
        yield harness


@pytest.fixture
def ask(skill_harness: Harness) -> Callable[[str], Any]:
    """Send an utterance (one conversation per test); returns the `Turn` (skill, action, entities, reply)."""
    session = skill_harness.session()
    return session.handle  # type: ignore[no-any-return]
