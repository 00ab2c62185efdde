"""Timers as a family, through `chat --json` with the transformer classifier.

Each row is (utterance, expected action, check). The checks follow the timers by what
the user calls them: the timer a row changed is the one the table means, its end moved by
exactly the time added or taken off, and every remaining time reported lies between what
the clock allows at the start and at the end of the session.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from chat_session import Session, chat, trained_home

Check = Callable[["Timers", dict[str, Any]], None]


class Timers:
    """What the table expects: each timer's id and end, by the label the rows use."""

    def __init__(self) -> None:
        self.ids: dict[str, str] = {}
        self.ends: dict[str, datetime] = {}
        self.paused_left: dict[str, float] = {}
        self.session: Session | None = None

    @property
    def window(self) -> tuple[datetime, datetime]:
        assert self.session is not None
        return self.session.started, self.session.finished

    def left_ok(self, label: str, left_s: float) -> None:
        if label in self.paused_left:
            assert left_s == pytest.approx(self.paused_left[label], abs=1), label
            return
        started, finished = self.window
        end = self.ends[label]
        low, high = (end - finished).total_seconds() - 1, (end - started).total_seconds() + 1
        assert low <= left_s <= high, (label, left_s, low, high)


def _job(turn: dict[str, Any]) -> dict[str, Any]:
    job = turn["data"].get("job")
    assert job is not None, turn["reply"]
    return job


def started(label: str, length_s: float, name: str | None = None) -> Check:
    def check(timers: Timers, turn: dict[str, Any]) -> None:
        job = _job(turn)
        assert job["kind"] == "timer" and job["name"] == name, job
        assert job["payload"]["length_s"] == length_s
        end = datetime.fromisoformat(job["next_run_time"])
        low, high = timers.window
        assert (
            low + timedelta(seconds=length_s - 1) <= end <= high + timedelta(seconds=length_s + 1)
        )
        timers.ids[label], timers.ends[label] = job["id"], end

    return check


def changed(label: str, delta_s: float) -> Check:
    def check(timers: Timers, turn: dict[str, Any]) -> None:
        job = _job(turn)
        assert job["id"] == timers.ids[label], (label, turn["reply"])
        if label in timers.paused_left:
            timers.paused_left[label] += delta_s
            assert job["paused_left_s"] == pytest.approx(timers.paused_left[label], abs=1)
            return
        end = datetime.fromisoformat(job["next_run_time"])
        assert (end - timers.ends[label]).total_seconds() == pytest.approx(delta_s, abs=1), label
        timers.ends[label] = end

    return check


def paused(label: str) -> Check:
    def check(timers: Timers, turn: dict[str, Any]) -> None:
        job = _job(turn)
        assert job["id"] == timers.ids[label] and job["paused"], (label, turn["reply"])
        assert "paused" in turn["reply"].lower()
        timers.left_ok(label, job["paused_left_s"])
        timers.paused_left[label] = job["paused_left_s"]

    return check


def resumed(*labels: str) -> Check:
    def check(timers: Timers, turn: dict[str, Any]) -> None:
        jobs = [t["job"] for t in turn["data"]["timers"]] if len(labels) > 1 else [_job(turn)]
        assert sorted(j["id"] for j in jobs) == sorted(timers.ids[label] for label in labels)
        for label in labels:
            job = next(j for j in jobs if j["id"] == timers.ids[label])
            assert not job["paused"]
            left = timers.paused_left.pop(label)
            end = datetime.fromisoformat(job["next_run_time"])
            low, high = timers.window
            assert low + timedelta(seconds=left - 1) <= end <= high + timedelta(seconds=left + 1)
            timers.ends[label] = end

    return check


def left(*labels: str) -> Check:
    def check(timers: Timers, turn: dict[str, Any]) -> None:
        reported = {t["id"]: t for t in turn["data"]["timers"]}
        assert sorted(reported) == sorted(timers.ids[label] for label in labels), turn["reply"]
        for label in labels:
            timers.left_ok(label, reported[timers.ids[label]]["left_s"])

    return check


def asks(count: int) -> Check:
    def check(timers: Timers, turn: dict[str, Any]) -> None:
        assert turn["expects_reply"], turn["reply"]
        choices = turn["data"]["choices"]
        assert len(choices) == count and len(set(choices)) == count, choices
        assert "{" not in turn["reply"]

    return check


def cancelled(*labels: str, says: str | None = None) -> Check:
    """The timers of `labels` are gone; the reply names the one cancelled ("the pizza timer")."""

    def check(timers: Timers, turn: dict[str, Any]) -> None:
        ids = [timers.ids.pop(label) for label in labels]
        assert sorted(turn["data"]["cancelled"]) == sorted(ids), turn["reply"]
        if len(labels) == 1:
            assert (says or f"{labels[0]} timer") in turn["reply"], turn["reply"]
        else:
            assert f"{len(labels)} timers" in turn["reply"], turn["reply"]

    return check


def nothing(key: str) -> Check:
    """Nothing to act on: no timer changed, and the reply says so."""

    def check(timers: Timers, turn: dict[str, Any]) -> None:
        assert turn["data"].get(key) in ([], None), turn["data"]
        assert "job" not in turn["data"]
        assert turn["reply"].startswith(("There", "No ", "You have no", "I can't")), turn["reply"]

    return check


Row = tuple[str, str, Check]

STARTING: list[Row] = [
    ("set a timer for 10 minutes", "set_timer", started("10 minute", 600)),
    ("start a pizza timer for 20 minutes", "set_timer", started("pizza", 1200, "pizza")),
    ("set a 5 minute timer for the eggs", "set_timer", started("eggs", 300, "eggs")),
    ("set a timer for an hour and a half", "set_timer", started("1 hour and 30 minute", 5400)),
    ("how much time is left on the pizza timer", "time_left", left("pizza")),
    ("how long until the eggs timer goes off", "time_left", left("eggs")),
    ("how much time is left on the 10 minute timer", "time_left", left("10 minute")),
    ("timer status", "time_left", left("10 minute", "pizza", "eggs", "1 hour and 30 minute")),
    ("add 5 minutes to the pizza timer", "add_time", changed("pizza", 300)),
    ("add 2 minutes to the 10 minute timer", "add_time", changed("10 minute", 120)),
    ("put another 30 seconds on the eggs timer", "add_time", changed("eggs", 30)),
    ("give the pizza timer 10 more minutes", "add_time", changed("pizza", 600)),
    ("extend the eggs timer by 1 minute", "add_time", changed("eggs", 60)),
    ("take 2 minutes off the pizza timer", "remove_time", changed("pizza", -120)),
    ("remove 1 minute from the eggs timer", "remove_time", changed("eggs", -60)),
    ("shorten the 10 minute timer by 3 minutes", "remove_time", changed("10 minute", -180)),
    ("make the pizza timer 5 minutes shorter", "remove_time", changed("pizza", -300)),
    ("knock 30 seconds off the eggs timer", "remove_time", changed("eggs", -30)),
    ("add 5 minutes to the timer", "add_time", asks(4)),
    ("the pizza one", "add_time", changed("pizza", 300)),
    ("take a minute off the timer", "remove_time", asks(4)),
    ("the eggs timer", "remove_time", changed("eggs", -60)),
    ("pause the pizza timer", "pause_timer", paused("pizza")),
    ("how much time is left on the pizza timer", "time_left", left("pizza")),
    ("pause the eggs timer", "pause_timer", paused("eggs")),
    ("resume the pizza timer", "resume_timer", resumed("pizza")),
    ("cancel the eggs timer", "cancel", cancelled("eggs")),
    ("cancel the 10 minute timer", "cancel", cancelled("10 minute")),
    ("which timers are running", "time_left", left("pizza", "1 hour and 30 minute")),
    ("cancel all timers", "cancel_all", cancelled("pizza", "1 hour and 30 minute")),
    ("how much time is left", "time_left", nothing("timers")),
]

ONE_TIMER: list[Row] = [
    ("set a timer for 30 minutes", "set_timer", started("30 minute", 1800)),
    ("pause the timer", "pause_timer", paused("30 minute")),
    ("what's left on my timer", "time_left", left("30 minute")),
    ("hold the timer", "pause_timer", nothing("timers")),
    ("resume the timer", "resume_timer", resumed("30 minute")),
    ("add 10 minutes to my timer", "add_time", changed("30 minute", 600)),
    ("take 5 minutes off my timer", "remove_time", changed("30 minute", -300)),
    ("pause the countdown", "pause_timer", paused("30 minute")),
]

AFTER_RESTART: list[Row] = [
    ("how much time is left on my timer", "time_left", left("30 minute")),
    ("unpause the timer", "resume_timer", resumed("30 minute")),
    ("cancel my timer", "cancel", cancelled("30 minute")),
    ("cancel all my timers", "cancel_all", nothing("cancelled")),
]

LOOK_ALIKE: list[Row] = [
    ("set a timer for 2 hours", "set_timer", started("first 2 hour", 7200)),
    ("set a timer for 2 hours", "set_timer", started("second 2 hour", 7200)),
    ("set a timer for 10 minutes", "set_timer", started("10 minute", 600)),
    ("cancel the 2 hour timer", "cancel", asks(2)),
    ("the first one", "cancel", cancelled("first 2 hour", says="2 hour timer")),
    ("pause the 2 hour timer", "pause_timer", paused("second 2 hour")),
    ("pause the timer", "pause_timer", paused("10 minute")),
    ("resume the timer", "resume_timer", asks(2)),
    ("both", "resume_timer", resumed("second 2 hour", "10 minute")),
    ("what's the status of my timers", "time_left", left("second 2 hour", "10 minute")),
    ("stop all the timers", "cancel_all", cancelled("second 2 hour", "10 minute")),
]

MANY_WAYS: list[Row] = [
    ("start a timer called tea for 15 minutes", "set_timer", started("tea", 900, "tea")),
    ("set the oven timer to 25 minutes", "set_timer", started("oven", 1500, "oven")),
    ("16 minute timer please", "set_timer", started("16 minute", 960)),
    ("i need a timer for 40 minutes", "set_timer", started("40 minute", 2400)),
    ("count down 50 minutes", "set_timer", started("50 minute", 3000)),
    ("set a countdown for an hour", "set_timer", started("1 hour", 3600)),
    ("start a 12 minute timer for the laundry", "set_timer", started("laundry", 720, "laundry")),
    ("when will the oven timer ring", "time_left", left("oven")),
    ("is the laundry timer done yet", "time_left", left("laundry")),
    ("how long does the tea timer have left", "time_left", left("tea")),
    ("how much time is left on the 16 minute timer", "time_left", left("16 minute")),
    ("freeze the laundry timer", "pause_timer", paused("laundry")),
    ("put the tea timer on hold", "pause_timer", paused("tea")),
    ("continue the laundry timer", "resume_timer", resumed("laundry")),
    ("take the tea timer off hold", "resume_timer", resumed("tea")),
    ("add a minute to the oven timer", "add_time", changed("oven", 60)),
    ("reduce the oven timer by 2 minutes", "remove_time", changed("oven", -120)),
    ("add 3 minutes to the 40 minute timer", "add_time", changed("40 minute", 180)),
    ("subtract 4 minutes from the 50 minute timer", "remove_time", changed("50 minute", -240)),
    ("delete the tea timer", "cancel", cancelled("tea")),
    ("get rid of the oven timer", "cancel", cancelled("oven")),
    ("i don't need the laundry timer anymore", "cancel", cancelled("laundry")),
    ("cancel the 40 minute timer", "cancel", cancelled("40 minute")),
    ("remove the one hour timer", "cancel", cancelled("1 hour")),
    ("forget the 16 minute timer", "cancel", cancelled("16 minute")),
    ("dismiss the 50 minute timer", "cancel", cancelled("50 minute")),
    ("how much time is left", "time_left", nothing("timers")),
    ("take 5 minutes off the timer", "remove_time", nothing("timers")),
]

ALL_ROWS = STARTING + ONE_TIMER + AFTER_RESTART + LOOK_ALIKE + MANY_WAYS


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trained_home(tmp_path_factory, "timers")


def play(home: Path, rows: list[Row], timers: Timers | None = None) -> Timers:
    """Say every row in one session, then check each turn in order."""
    timers = timers or Timers()
    session = chat(home, [row[0] for row in rows])
    timers.session = session
    problems = []
    for (utterance, action, check), turn in zip(rows, session.turns, strict=True):
        try:
            assert (turn["skill"], turn["action"]) == ("reminders", action), (
                f"went to {turn['skill']}.{turn['action']}: {turn['reply']}"
            )
            check(timers, turn)
        except AssertionError as error:
            problems.append(f"{utterance!r}: {error}")
            break  # later rows depend on this one
    assert not problems, "\n".join(problems)
    return timers


def test_the_table_has_at_least_eighty_utterances() -> None:
    assert len(ALL_ROWS) >= 80


def test_start_ask_about_add_and_take_off_pause_and_cancel_by_name_and_length(home: Path) -> None:
    timers = play(home, STARTING)
    assert timers.ids == {}


def test_a_paused_timer_keeps_its_time_across_a_wait_and_a_restart(home: Path) -> None:
    timers = play(home, ONE_TIMER)
    kept = timers.paused_left["30 minute"]
    time.sleep(3)  # the next session is a new process: a restart, seconds later
    play(home, AFTER_RESTART, timers)
    assert kept == timers.paused_left.get("30 minute", kept)


def test_look_alike_timers_are_named_apart_when_asking_which(home: Path) -> None:
    play(home, LOOK_ALIKE)


def test_many_ways_of_saying_each_operation(home: Path) -> None:
    play(home, MANY_WAYS)


def test_cancel_that_after_a_list_asks_which_and_says_what_it_cancelled(home: Path) -> None:
    said = chat(
        home,
        [
            "remind me to call mum in 2 hours",
            "remind me to water the plants in 3 hours",
            "remind me to stretch in 4 hours",
            "list my reminders",
            "cancel that",
            "the reminder to call mum",
            "set a timer for 20 minutes",
            "cancel that",
        ],
    )
    asked, answered, _, undone = said.turns[4:]
    assert asked["action"] == "cancel" and asked["expects_reply"], asked["reply"]
    assert len(asked["data"]["choices"]) == 3, asked["reply"]
    assert answered["reply"] in (
        "Cancelled the reminder to call mum.",
        "OK, the reminder to call mum is cancelled.",
    )
    timer = said.turns[6]["data"]["job"]["id"]
    assert undone["data"]["cancelled"] == [timer] and "20 minute timer" in undone["reply"]
