"""The skill runtime: misbehaving actions never take the assistant down."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from assistant.brain import Brain
from assistant.config import NluSettings
from assistant.events import Progress
from assistant.home import Home
from assistant.nlu.understand import Nlu
from assistant.session import Session
from assistant.skills.catalog import BUNDLED_SKILLS, discover
from assistant.skills.runner import SkillRunner
from conftest import write_skill

ANSWERS = {"ok": ["All good."]}

CODE = {
    "fine": "from assistant.skills.sdk import Response\ndef run(request):\n    return Response(text='fine ' + str(request.memory.get('n', 0)))\n",
    "boom": "def run(request):\n    raise ValueError('the flux capacitor is empty')\n",
    "hang": "import time\ndef run(request):\n    time.sleep(60)\n",
    "leave": "import sys\ndef run(request):\n    sys.exit(3)\n",
    "crash": "import os\ndef run(request):\n    os._exit(9)\n",
    "count": (
        "from assistant.skills.sdk import Response\n"
        "def run(request):\n"
        "    n = request.memory.get('n', 0) + 1\n"
        "    request.memory.set('n', n)\n"
        "    request.say('counting')\n"
        "    return Response(text=f'count {n}')\n"
    ),
    "wrong": "def run(request):\n    return 42\n",
}
SAMPLES = {
    "fine": ["are you fine"],
    "boom": ["blow up the flux capacitor"],
    "hang": ["hang forever please"],
    "leave": ["leave the building"],
    "crash": ["crash the worker process"],
    "count": ["count one more"],
    "wrong": ["return a wrong value"],
}


@pytest.fixture
def brain(tmp_path: Path):  # type: ignore[no-untyped-def]
    skills = tmp_path / "skills"
    write_skill(
        skills,
        "unruly",
        {name: {"type": "logic"} for name in CODE},
        samples=SAMPLES,
        answers=ANSWERS,
        code=CODE,
        manifest_extra={"timeout_s": 2},
    )
    home = Home(tmp_path / "home").ensure()
    catalog = discover([BUNDLED_SKILLS, skills])
    runner = SkillRunner(home, {}, timeout_s=2, max_failures=100)
    said: list[str] = []

    class Interim:
        def emit(self, event: Any) -> None:
            if isinstance(event, Progress):
                said.append(event.text)

    session = Session("test", Brain(catalog, Nlu(catalog, NluSettings(engine="lexical"), home), runner, lambda s: {}), Interim())
    session.said = said  # type: ignore[attr-defined]
    session.runner = runner  # type: ignore[attr-defined]
    session.catalog = catalog  # type: ignore[attr-defined]
    yield session
    runner.close()


@pytest.mark.parametrize(
    ("utterance", "expected"),
    [
        ("blow up the flux capacitor", "Sorry, the Unruly skill ran into a problem"),
        ("hang forever please", "Sorry, the Unruly skill took too long"),
        ("leave the building", "Sorry, the Unruly skill ran into a problem"),
        ("crash the worker process", "Sorry, the Unruly skill ran into a problem"),
        ("return a wrong value", "Sorry, the Unruly skill ran into a problem"),
    ],
)
def test_misbehaving_action_gets_an_apology_and_the_next_utterance_works(brain, utterance: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    turn = brain.handle(utterance)
    assert turn.skill == "unruly"
    assert turn.reply.text.startswith(expected), turn.reply.text
    assert brain.handle("are you fine").reply.text.startswith("fine")
    assert brain.handle("what time is it").action == "time"


def test_a_hung_action_does_not_block_later_requests(brain) -> None:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    brain.handle("hang forever please")
    assert time.monotonic() - started < 10
    assert brain.handle("count one more").reply.text == "count 1"


def test_memory_persists_and_interim_messages_arrive(brain) -> None:  # type: ignore[no-untyped-def]
    assert brain.handle("count one more").reply.text == "count 1"
    brain.handle("crash the worker process")
    assert brain.handle("count one more").reply.text == "count 2", "memory survives a worker crash"
    assert brain.said == ["counting", "counting"]


def test_worker_process_is_restarted_after_a_crash(brain, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    brain.handle("are you fine")
    first = brain.runner._workers["unruly"].process.pid
    brain.handle("crash the worker process")
    brain.handle("are you fine")
    second = brain.runner._workers["unruly"].process.pid
    assert first != second
    assert os.getpid() not in (first, second)


def test_repeated_failures_disable_the_skill(tmp_path: Path) -> None:
    skills = tmp_path / "skills"
    write_skill(skills, "flaky", {"crash": {"type": "logic"}}, samples={"crash": ["crash the worker process"]}, code={"crash": CODE["crash"]})
    home = Home(tmp_path / "home").ensure()
    catalog = discover([BUNDLED_SKILLS, skills])
    runner = SkillRunner(home, {}, timeout_s=5, max_failures=2)
    brain = Session("test", Brain(catalog, Nlu(catalog, NluSettings(engine="lexical"), home), runner, lambda s: {}))
    try:
        brain.handle("crash the worker process")
        brain.handle("crash the worker process")
        reply = brain.handle("crash the worker process").reply.text
        assert "assistant skill enable flaky" in reply
        assert "flaky" in runner.disabled.load()
        runner.disabled.set("flaky", False)
        assert "ran into a problem" in brain.handle("crash the worker process").reply.text
    finally:
        runner.close()


def test_warming_up_starts_every_worker_and_a_crash_is_still_handled(brain) -> None:  # type: ignore[no-untyped-def]
    runner = brain.runner
    skills = list(brain.catalog.skills.values())
    runner.disabled.set("system", True)
    runner.warm(skills).join()
    time.sleep(1)  # they outlive the thread that asked for them
    started = dict(runner._workers)
    assert set(started) == {skill.id for skill in skills} - {"system"}
    assert all(worker.alive() for worker in started.values())
    warm = started["unruly"].pid
    assert brain.handle("crash the worker process").reply.text.startswith("Sorry")
    assert brain.handle("count one more").reply.text == "count 1"
    assert runner._workers["unruly"].process.pid != warm
