"""Sessions: several conversations through one assistant, each with its own context and notifications."""

from __future__ import annotations

import threading
import time
from typing import Any

from assistant.events import Notification, Progress, TurnEvent


class Collected:
    """A session output that keeps what it is given."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.notified = threading.Event()

    def emit(self, event: Any) -> None:
        self.events.append(event)
        if isinstance(event, Notification):
            self.notified.set()

    def notifications(self) -> list[str]:
        return [e.text for e in self.events if isinstance(e, Notification)]

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


def test_two_sessions_keep_their_own_questions_and_reminders(lexical_app: Any) -> None:
    kitchen_out, bedroom_out = Collected(), Collected()
    kitchen = lexical_app.open_session("kitchen", kitchen_out)
    bedroom = lexical_app.open_session("bedroom", bedroom_out)
    lexical_app.start_background()

    asked = kitchen.handle("remind me")
    assert asked.reply.question is not None and kitchen.expecting_reply
    assert not bedroom.expecting_reply
    # The other conversation asks something in between: it is answered, not taken as the answer.
    assert bedroom.handle("what time is it").action == "time"
    when = kitchen.handle("in 2 seconds")
    assert when.skill == "reminders" and kitchen.expecting_reply  # now: what is it for?
    assert bedroom.handle("what's the date").action == "date"
    done = kitchen.handle("stretch")
    assert "stretch" in done.reply.text and not kitchen.expecting_reply

    assert kitchen_out.notified.wait(20), "the reminder never came"
    time.sleep(0.5)
    assert [n.text for n in kitchen_out.of(Notification)] == ["Reminder: stretch."]
    assert bedroom_out.of(Notification) == [], "a reminder set in the kitchen rang in the bedroom"
    assert [t.text for t in kitchen_out.of(TurnEvent)] == ["remind me", "in 2 seconds", "stretch"]
    assert [t.text for t in bedroom_out.of(TurnEvent)] == ["what time is it", "what's the date"]
    # After the notification, "stop" in the kitchen means the reminders skill.
    assert kitchen.handle("stop").skill == "reminders"


def test_a_closed_sessions_notification_goes_to_every_open_session(lexical_app: Any) -> None:
    first_out, second_out = Collected(), Collected()
    first = lexical_app.open_session("first", first_out)
    second = lexical_app.open_session("second", second_out)
    lexical_app.start_background()
    assert "drink water" in first.handle("remind me to drink water in 3 seconds").reply.text
    first.close()
    assert lexical_app.session("first") is None
    assert second_out.notified.wait(20)
    assert [n.text for n in second_out.of(Notification)] == ["Reminder: drink water."]
    assert first_out.of(Notification) == []
    second.close()


def test_a_pending_question_yields_to_a_confident_new_request(lexical_app: Any) -> None:
    session = lexical_app.open_session()
    session.handle("set a pasta timer for 10 minutes")
    session.handle("set an egg timer for 20 minutes")
    which = session.handle("cancel the timer")
    assert which.reply.question is not None, which.reply.text  # which one?
    turn = session.handle("what time is it")
    assert (turn.skill, turn.action) == ("system", "time"), turn.reply.text
    assert not session.expecting_reply
    assert len(lexical_app.services()["scheduler"].jobs("reminders")) == 2  # nothing cancelled


def test_interim_messages_go_to_the_session_that_asked(lexical_app: Any) -> None:
    out = Collected()
    session = lexical_app.open_session(output=out)
    session.say("Reading example.com...", skill="web_scraper")
    assert out.of(Progress) == [Progress(text="Reading example.com...", skill="web_scraper")]


def test_sessions_are_cheap_and_reusable_by_id(lexical_app: Any) -> None:
    sessions = [lexical_app.open_session() for _ in range(200)]
    assert len({s.id for s in sessions}) == 200
    assert lexical_app.open_session(sessions[0].id) is sessions[0]
    for session in sessions:
        session.close()
    assert lexical_app.sessions() == []
