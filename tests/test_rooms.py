"""Rooms: timers and reminders belong to the room that set them, on a real assistant and its SQLite store.

A satellite's session is in the satellite's room, the terminal's in the machine's own (local)
room, which sees every room's jobs; each rings where it was set.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from assistant.wyoming.handle import HOME_ASSISTANT_ROOM, Conversations
from assistant.wyoming.wire import Limits
from conftest import run_cli
from test_session import Collected


def rooms(app: Any) -> dict[str, str | None]:
    """Each stored job's id and room, as the scheduler keeps them."""
    return {job["id"]: job["room"] for job in app.services()["scheduler"].jobs()}


def said(session: Any, text: str, action: str) -> Any:
    turn = session.handle(text)
    assert (turn.skill, turn.action) == ("reminders", action), (text, turn.action, turn.reply.text)
    return turn


def test_cancel_all_timers_cancels_only_the_rooms_own(lexical_app: Any) -> None:
    kitchen = lexical_app.open_session("satellite:kitchen", Collected(), room="kitchen")
    hall = lexical_app.open_session("satellite:hall", Collected(), room="hall")
    terminal = lexical_app.open_session(output=Collected())
    in_kitchen = said(kitchen, "set a timer for 10 minutes", "set_timer").reply.data["job"]["id"]
    in_hall = said(hall, "set a timer for 5 minutes", "set_timer").reply.data["job"]["id"]
    at_terminal = said(terminal, "set a timer for 1 hour", "set_timer").reply.data["job"]["id"]
    assert rooms(lexical_app) == {in_kitchen: "kitchen", in_hall: "hall", at_terminal: None}

    cancelled = said(hall, "cancel all timers", "cancel_all")
    assert cancelled.reply.data["cancelled"] == [in_hall], cancelled.reply.text
    assert set(rooms(lexical_app)) == {in_kitchen, at_terminal}

    # The hall sees nothing of the others' timers, and cannot cancel them by name either.
    assert said(hall, "how long is left", "time_left").reply.data["timers"] == []
    assert said(hall, "cancel the 10 minute timer", "cancel").reply.data["cancelled"] == []

    # The terminal sees both, the kitchen's labelled; its "cancel all" keeps the kitchen's.
    left = said(terminal, "how long is left", "time_left").reply
    assert [t["room"] for t in left.data["timers"]] == ["kitchen", None]
    assert "10 minute timer set in kitchen has" in left.text, left.text
    local = said(terminal, "cancel all timers", "cancel_all").reply
    assert local.data == {"cancelled": [at_terminal], "kept": [in_kitchen]}, local.text
    assert "Not cancelled: 1 timer set in kitchen" in local.text
    assert set(rooms(lexical_app)) == {in_kitchen}

    kitchen_left = said(kitchen, "how long is left", "time_left").reply
    assert [t["id"] for t in kitchen_left.data["timers"]] == [in_kitchen]
    assert "set in" not in kitchen_left.text, kitchen_left.text  # its own need no room
    everywhere = said(terminal, "cancel all timers everywhere", "cancel_all").reply
    assert everywhere.data["cancelled"] == [in_kitchen]
    assert rooms(lexical_app) == {}


def test_a_timer_rings_in_the_room_that_set_it(lexical_app: Any) -> None:
    kitchen_out, hall_out, terminal_out = Collected(), Collected(), Collected()
    kitchen = lexical_app.open_session("satellite:kitchen", kitchen_out, room="kitchen")
    lexical_app.open_session("satellite:hall", hall_out, room="hall")
    lexical_app.open_session(output=terminal_out)
    lexical_app.start_background()
    said(kitchen, "set a timer for 2 seconds", "set_timer")
    assert kitchen_out.notified.wait(20), "the kitchen's timer never rang"
    time.sleep(0.5)
    assert len(kitchen_out.notifications()) == 1
    assert kitchen_out.events[-1].data["room"] == "kitchen"
    assert hall_out.notifications() == [] and terminal_out.notifications() == []


def test_a_closed_sessions_timer_rings_in_its_room_else_everywhere(lexical_app: Any) -> None:
    first_out, second_out, hall_out = Collected(), Collected(), Collected()
    first = lexical_app.open_session("ha-1", first_out, room=HOME_ASSISTANT_ROOM)
    lexical_app.open_session("ha-2", second_out, room=HOME_ASSISTANT_ROOM)
    hall = lexical_app.open_session("satellite:hall", hall_out, room="hall")
    lexical_app.start_background()
    said(first, "set a timer for 2 seconds", "set_timer")
    first.close()
    assert second_out.notified.wait(20), "no open session of its room heard it"
    said(hall, "set a timer for 2 seconds", "set_timer")
    hall.close()
    second_out.notified.clear()
    assert second_out.notified.wait(20), "with its room empty, the others did not hear it"
    assert len(second_out.notifications()) == 2
    assert first_out.notifications() == [] and hall_out.notifications() == []


def test_jobs_stored_before_rooms_belong_to_the_local_room(lexical_app: Any) -> None:
    scheduler = lexical_app.services()["scheduler"]
    kitchen_out, terminal_out = Collected(), Collected()
    kitchen = lexical_app.open_session("satellite:kitchen", kitchen_out, room="kitchen")
    terminal = lexical_app.open_session(output=terminal_out)
    for delay_s, text in ((3, "Time's up: the old timer."), (3600, "Time's up: the long one.")):
        payload = {"text": text, "label": "old", "length_s": delay_s}
        job = scheduler.add("reminders", "timer", {"delay_s": delay_s}, payload, "old")
        # As the scheduler stored it before rooms: no room, set by a session long gone.
        old = {k: v for k, v in scheduler._open().get_job(job["id"]).kwargs.items() if k != "room"}
        scheduler._open().modify_job(job["id"], jobstore="default", kwargs={**old, "session": "session-9"})
        assert "room" not in scheduler._open().get_job(job["id"]).kwargs
    assert said(kitchen, "what timers do i have", "list").reply.data["jobs"] == []
    listed = said(terminal, "what timers do i have", "list").reply
    assert [job["room"] for job in listed.data["jobs"]] == [None, None], listed.text
    assert "set in" not in listed.text
    lexical_app.start_background()
    assert terminal_out.notified.wait(20), "the old timer never rang"
    assert terminal_out.notifications() == ["Time's up: the old timer."]
    assert kitchen_out.notifications() == []


def test_home_assistant_conversations_are_rooms_by_device(lexical_app: Any) -> None:
    conversations = Conversations(lambda cid, room: lexical_app.open_session(cid, room=room))

    def ask(text: str, **context: str) -> None:
        asyncio.run(conversations.answer({"text": text, "context": context}, Limits()))

    ask("set a timer for 10 minutes", conversation_id="a", satellite_id="assist_satellite.kitchen")
    ask("set a timer for 20 minutes", conversation_id="b", device_id="4f1e")
    ask("set a timer for 30 minutes", conversation_id="c")
    assert sorted(rooms(lexical_app).values()) == [
        HOME_ASSISTANT_ROOM,
        f"{HOME_ASSISTANT_ROOM} 4f1e",
        f"{HOME_ASSISTANT_ROOM} assist_satellite.kitchen",
    ]
    ask("cancel all timers", conversation_id="d")  # no device: Home Assistant's own room
    assert sorted(rooms(lexical_app).values()) == [
        f"{HOME_ASSISTANT_ROOM} 4f1e",
        f"{HOME_ASSISTANT_ROOM} assist_satellite.kitchen",
    ]


def test_reminders_list_names_each_jobs_room(lexical_app: Any, home_dir: Path) -> None:
    kitchen = lexical_app.open_session("satellite:kitchen", Collected(), room="kitchen")
    terminal = lexical_app.open_session(output=Collected())
    said(kitchen, "set a pasta timer for 10 minutes", "set_timer")
    said(terminal, "remind me to call mum in 2 hours", "set_reminder")
    lexical_app.close()

    listed = run_cli("reminders", "list", home=home_dir)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert len(lines) == 2 and " kitchen " in lines[0] and "pasta" in lines[0], lines
    assert " local " in lines[1] and "call mum" in lines[1], lines
    as_json = run_cli("reminders", "list", "--json", home=home_dir)
    jobs = json.loads(as_json.stdout)
    assert [(job["kind"], job["room"]) for job in jobs] == [("timer", "kitchen"), ("reminder", None)]
