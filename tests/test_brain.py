"""The brain: slot filling, questions and answers, repeat, cancel, context, not understood."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from assistant.brain import Brain
from assistant.config import NluSettings
from assistant.home import Home
from assistant.nlu.understand import Nlu
from assistant.session import Session
from assistant.skills.catalog import BUNDLED_SKILLS, discover
from assistant.skills.runner import SkillRunner
from conftest import write_skill

NOW = datetime(2026, 3, 10, 8, 0, tzinfo=ZoneInfo("Europe/London"))

CODE = {
    "order": (
        "from assistant.skills.sdk import Response\n"
        "def run(request):\n"
        "    e = request.entities\n"
        "    return Response(text=f\"{e['count']} {e['topping']} pizzas at {e.get('when', 'once')}\", data=e)\n"
    ),
    "choose": (
        "from assistant.skills.sdk import Question, Response\n"
        "def run(request):\n"
        "    if request.context.answer_to is None:\n"
        "        return Response(text='Margherita or Hawaiian?', question=Question('choose', {'options': ['margherita', 'hawaiian']}))\n"
        "    picked = [o for o in request.context.answer_to['options'] if o in request.utterance]\n"
        "    return Response(text=f'You chose {picked[0] if picked else \"nothing\"}.')\n"
    ),
    "next_one": "from assistant.skills.sdk import Response\ndef run(request):\n    return Response(text='next pizza')\n",
    "note": (
        "from assistant.skills.sdk import Response\n"
        "def run(request):\n"
        "    if request.entities['text'] == 'nothing at all':\n"
        "        return request.decline()\n"
        "    return Response(text='noted: ' + request.entities['text'])\n"
    ),
}


@pytest.fixture
def brain(tmp_path: Path):  # type: ignore[no-untyped-def]
    skills = tmp_path / "skills"
    write_skill(
        skills,
        "pizza",
        {
            "order": {"type": "logic"},
            "choose": {"type": "logic"},
            "next_one": {"type": "logic", "follow_up": True},
            "note": {"type": "logic"},
        },
        samples={
            "order": ["order {count} {topping} pizzas [{when}|]", "i want [a|] pizza", "order [a|some] pizza"],
            "choose": ["help me choose a pizza"],
            "next_one": ["[and|] the next one", "another one"],
            "note": ["make a pizza note [saying|that] {text}"],
        },
        entities={
            "count": {"type": "number"},
            "topping": {"type": "enum", "values": {"pepperoni": ["salami"], "mushroom": ["mushrooms", "funghi"]}},
            "when": {"type": "datetime"},
            "text": {"type": "wildcard", "examples": ["extra cheese please"]},
        },
        answers={"ask_count": ["How many pizzas?"], "ask_topping": ["Which topping?"]},
        code=CODE,
    )
    import json

    locale_file = skills / "pizza" / "locales" / "en.json"
    locale = json.loads(locale_file.read_text())
    locale["actions"]["order"]["required_entities"] = {"count": "ask_count", "topping": "ask_topping"}
    locale_file.write_text(json.dumps(locale))
    home = Home(tmp_path / "home").ensure()
    catalog = discover([BUNDLED_SKILLS, skills])
    assert not [p for p in catalog.problems if "pizza" in p.path], catalog.problems
    brain = Brain(
        catalog,
        Nlu(catalog, NluSettings(engine="lexical"), home),
        SkillRunner(home, {}, timeout_s=10),
        lambda s: {},
        clock=lambda: NOW,
    )
    # The tests talk through one session, as every way in does.
    yield Session("test", brain)
    brain.runner.close()


def test_template_entities_are_typed(brain) -> None:  # type: ignore[no-untyped-def]
    turn = brain.handle("order three salami pizzas tomorrow at 7 pm")
    assert (turn.skill, turn.action) == ("pizza", "order")
    assert turn.entities["count"] == 3
    assert turn.entities["topping"] == "pepperoni"
    assert turn.entities["when"].startswith("2026-03-11T19:00")


def test_missing_entities_are_asked_for_one_by_one(brain) -> None:  # type: ignore[no-untyped-def]
    first = brain.handle("i want a pizza")
    assert first.reply.text == "How many pizzas?"
    assert first.reply.question is not None
    second = brain.handle("two")
    assert second.reply.text == "Which topping?"
    third = brain.handle("mushrooms")
    assert third.reply.text == "2 mushroom pizzas at once"


def test_cancel_drops_a_pending_question(brain) -> None:  # type: ignore[no-untyped-def]
    brain.handle("order a pizza")
    turn = brain.handle("never mind")
    assert turn.action == "cancel"
    assert not brain.expecting_reply
    assert brain.handle("what time is it").action == "time"


def test_a_skill_question_takes_the_answer_without_matching(brain) -> None:  # type: ignore[no-untyped-def]
    assert brain.handle("help me choose a pizza").reply.text == "Margherita or Hawaiian?"
    assert brain.handle("hawaiian i guess").reply.text == "You chose hawaiian."


def test_free_text_slot_comes_out_whole(brain) -> None:  # type: ignore[no-untyped-def]
    turn = brain.handle("make a pizza note saying no olives on the left half, thanks!")
    assert turn.entities["text"] == "no olives on the left half, thanks"


def test_repeat_says_the_last_reply_again(brain) -> None:  # type: ignore[no-untyped-def]
    said = brain.handle("what's the date").reply.text
    assert brain.handle("say that again").reply.text == said


def test_follow_up_only_in_context(brain) -> None:  # type: ignore[no-untyped-def]
    assert brain.handle("and the next one").skill != "pizza"
    brain.handle("order 2 mushroom pizzas")
    turn = brain.handle("and the next one")
    assert (turn.skill, turn.action) == ("pizza", "next_one")


def test_nonsense_is_not_understood_and_offers_closest_things(brain) -> None:  # type: ignore[no-untyped-def]
    turn = brain.handle("purple monkey dishwasher")
    assert turn.action == "not_understood"
    assert "try" in turn.reply.text.lower()
    assert turn.reply.data["suggestions"]


def test_an_action_that_declines_is_answered_as_not_understood(brain) -> None:  # type: ignore[no-untyped-def]
    """A skill may say an utterance is not for it after all (a question with nothing to answer
    from): the user hears the not-understood answer with suggestions, not the skill's."""
    assert brain.handle("make a pizza note saying extra olives").reply.text == "noted: extra olives"
    turn = brain.handle("make a pizza note saying nothing at all")
    assert (turn.skill, turn.action) == ("system", "not_understood")
    assert turn.reply.text and turn.reply.data["suggestions"]
    assert brain.handle("repeat that").reply.text == turn.reply.text


def test_empty_input_is_handled(brain) -> None:  # type: ignore[no-untyped-def]
    assert brain.handle("   ").action == "not_heard"


def test_turn_json_has_the_machine_contract(brain) -> None:  # type: ignore[no-untyped-def]
    data = brain.handle("order 2 mushroom pizzas").to_json()
    assert {"text", "skill", "action", "confidence", "entities", "reply"} <= data.keys()
    assert data["entities"] == {"count": 2, "topping": "mushroom"}


def test_a_clear_request_for_another_skill_is_not_taken_as_the_answer(brain) -> None:  # type: ignore[no-untyped-def]
    assert brain.handle("help me choose a pizza").reply.question is not None
    turn = brain.handle("remind me to buy flour tomorrow at 9")
    assert turn.skill == "reminders"
    assert not brain.expecting_reply or brain.conversation.pending.skill == "reminders"
    brain.handle("never mind")
    brain.handle("help me choose a pizza")
    assert brain.handle("margherita").reply.text == "You chose margherita."


def test_free_text_keeps_its_case(brain) -> None:  # type: ignore[no-untyped-def]
    turn = brain.handle("Make a pizza note saying Call Ada at https://Example.com/Menu")
    assert turn.entities["text"] == "Call Ada at https://Example.com/Menu"


def test_an_answer_fills_every_slot_it_names(brain) -> None:  # type: ignore[no-untyped-def]
    assert brain.handle("i want a pizza").reply.text == "How many pizzas?"
    turn = brain.handle("two mushroom pizzas")  # the end of "order {count} {topping} pizzas"
    assert turn.reply.text == "2 mushroom pizzas at once"
    assert not brain.expecting_reply


def test_an_answer_that_is_no_value_and_no_request_is_not_understood(brain) -> None:  # type: ignore[no-untyped-def]
    assert brain.handle("i want a pizza").reply.text == "How many pizzas?"
    turn = brain.handle("purple monkey dishwasher")
    assert (turn.skill, turn.action) == ("system", "not_understood")
    assert not brain.expecting_reply  # the question is dropped
