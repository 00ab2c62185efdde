"""The reminders skill's actions, run as the worker runs them, against a real scheduler on SQLite."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from assistant.config import SchedulerSettings
from assistant.home import Home
from assistant.notifications import Notification
from assistant.services.scheduler import SchedulerService
from assistant.services.timeexpr import local_zone
from assistant.skills.sdk import Answers, Context, Request, Response

SKILL = Path(__file__).resolve().parents[1] / "skills" / "reminders"
LOCALE = json.loads((SKILL / "locales" / "en.json").read_text())


def action(name: str) -> ModuleType:
    """Loaded like the skill worker loads it: the skill folder on sys.path."""
    for folder in (SKILL / "actions", SKILL):
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    spec = importlib.util.spec_from_file_location(
        f"skill_reminders.{name}", SKILL / "actions" / f"{name}.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class DictMemory(dict[str, Any]):
    """The skill's memory, kept in a dict for the test."""

    def set(self, key: str, value: Any) -> None:
        self[key] = value


class Skill:
    """Runs actions with a fresh request each time; remembers the last question asked."""

    def __init__(self, scheduler: SchedulerService) -> None:
        self.scheduler = scheduler
        self.answer_to: dict[str, Any] | None = None
        self.memory = DictMemory()

    def run(
        self, action_name: str, utterance: str, now: datetime | None = None, **entities: Any
    ) -> Response:
        moment = now or datetime.now(local_zone())
        request = Request(
            utterance=utterance, skill="reminders", action=action_name, entities=entities,
            settings={"snooze_minutes": 10}, locale="en", memory=self.memory,  # type: ignore[arg-type]
            context=Context(now=moment.isoformat(timespec="seconds"), answer_to=self.answer_to),
            services=SimpleNamespace(scheduler=self.scheduler), answers=Answers(LOCALE["answers"]),
            skill_dir=str(SKILL), data_dir=str(SKILL),
        )  # fmt: skip
        response = action(action_name).run(request)
        self.answer_to = response.question.data if response.question else None
        return response


@pytest.fixture
def delivered() -> list[Notification]:
    return []


@pytest.fixture
def skill(tmp_path, delivered) -> Iterator[Skill]:
    scheduler = SchedulerService(Home(tmp_path).ensure(), SchedulerSettings(), delivered.append)
    scheduler.start()
    yield Skill(scheduler)
    scheduler.shutdown()


def test_remind_me_in_ten_minutes_stores_the_task_and_says_exactly_when(skill):
    now = datetime.now(local_zone()).replace(microsecond=0)
    reply = skill.run("set_reminder", "remind me to water the plants in 10 minutes", now)
    job = reply.data["job"]
    assert job["payload"]["task"] == "water the plants"
    assert datetime.fromisoformat(job["next_run_time"]) == now + timedelta(minutes=10)
    assert "water the plants" in reply.text and "at " in reply.text
    assert job["payload"]["late_text"].startswith("While I was off, you had a reminder at {time}")
    assert [j["id"] for j in skill.scheduler.list("reminders")] == [job["id"]]


def test_an_ambiguous_hour_takes_the_next_one_and_the_reply_names_it(skill):
    eight_am = datetime.now(local_zone()).replace(
        hour=8, minute=0, second=0, microsecond=0
    ) + timedelta(days=1)
    reply = skill.run("set_reminder", "remind me at 7 to call mum", eight_am)
    assert reply.data["job"]["payload"]["task"] == "call mum"
    assert "7:00 pm today" in reply.text


def test_a_recurring_reminder_becomes_a_weekday_cron_job(skill):
    reply = skill.run("set_reminder", "every weekday at 8 remind me to take my pills")
    job = reply.data["job"]
    assert job["recurring"] and job["payload"]["task"] == "take my pills"
    assert "day_of_week='mon-fri'" in job["trigger"] and "hour='8'" in job["trigger"]
    assert "every weekday at 8:00 am" in reply.text


@pytest.mark.parametrize(
    ("utterance", "problem"),
    [
        ("remind me at 25 o'clock to eat", "25 o'clock"),
        ("remind me in minus 3 minutes to eat", "minus 3 minutes"),
    ],
)
def test_an_impossible_time_gets_a_clear_answer_and_schedules_nothing(skill, utterance, problem):
    reply = skill.run("set_reminder", utterance)
    assert problem in reply.text and ("Nothing was set" in reply.text or "didn't set" in reply.text)
    assert skill.scheduler.list() == []


def test_a_reminder_without_a_time_asks_when_and_uses_the_answer(skill):
    question = skill.run("set_reminder", "remind me to buy milk")
    assert question.question is not None and skill.scheduler.list() == []
    reply = skill.run("set_reminder", "tomorrow at 9")
    assert reply.data["job"]["payload"]["task"] == "buy milk"
    assert "9:00 am tomorrow" in reply.text


def test_named_timers_time_left_and_cancel_by_name(skill):
    pasta = skill.run(
        "set_timer", "set a ten minute timer for the pasta", length=600.0, name="the pasta"
    )
    eggs = skill.run("set_timer", "set a timer for 3 minutes")
    assert pasta.data["job"]["name"] == "pasta" and eggs.data["job"]["name"] is None
    assert (
        pasta.text.startswith("The pasta timer is set for 10 minutes")
        or "timer for the pasta" in pasta.text
    )
    left = skill.run("time_left", "how much time is left on the pasta timer", name="pasta")
    assert [t["label"] for t in left.data["timers"]] == ["pasta"]
    assert 590 <= left.data["timers"][0]["left_s"] <= 600
    assert "pasta timer has 9 minutes" in left.text or "pasta timer has 10 minutes" in left.text
    cancelled = skill.run("cancel", "cancel the pasta timer", name="pasta")
    assert cancelled.data["cancelled"] == [pasta.data["job"]["id"]]
    assert [j["id"] for j in skill.scheduler.list()] == [eggs.data["job"]["id"]]


def test_a_negative_timer_is_refused(skill):
    reply = skill.run("set_timer", "set a timer for minus 3 minutes")
    assert "minus 3 minutes" in reply.text and skill.scheduler.list() == []


def test_a_timer_too_long_is_refused_with_the_longest_there_is(skill):
    reply = skill.run("set_timer", "set a timer for 200 hours")
    assert "a week" in reply.text and skill.scheduler.list() == []


def test_a_long_task_is_kept_whole_but_named_in_a_few_words(skill):
    task = "read the letter from the bank about the loan " * 60  # 540 words, pasted
    reply = skill.run("set_reminder", f"remind me to {task} in 2 hours")
    assert reply.data["job"]["payload"]["task"] == task.strip()  # nothing the user said is lost
    assert len(reply.text) < 200 and "read the letter from the bank" in reply.text
    listed = skill.run("list", "what are my reminders")
    assert len(listed.text) < 200 and listed.text.count("…") == 1


def test_list_shows_every_job_with_its_next_time(skill):
    skill.run("set_reminder", "remind me to water the plants in 2 hours")
    skill.run("set_alarm", "wake me up at 7")
    reply = skill.run("list", "what are my reminders")
    assert len(reply.data["jobs"]) == 2
    assert "reminder to water the plants, at " in reply.text and "alarm at 7:00 am" in reply.text


def test_cancel_asks_which_when_several_match_then_cancels_the_one_named(skill):
    skill.run("set_reminder", "remind me to call mum in 1 hour")
    skill.run("set_reminder", "remind me to call the bank in 2 hours")
    which = skill.run("cancel", "cancel my reminder")
    assert which.question is not None and len(skill.scheduler.list()) == 2
    done = skill.run("cancel", "the bank")
    assert len(done.data["cancelled"]) == 1
    assert [j["payload"]["task"] for j in skill.scheduler.list()] == ["call mum"]


def test_an_alarm_rings_then_stop_acknowledges_it(skill, delivered):
    now = datetime.now(local_zone())
    soon = (now + timedelta(seconds=1)).replace(microsecond=0)
    job = skill.scheduler.add(
        "reminders", "alarm", soon.isoformat(), {"text": "Wake up!", "ring_text": "Still ringing"}
    )
    arrived = threading.Event()
    for _ in range(40):
        if delivered:
            arrived.set()
            break
        threading.Event().wait(0.1)
    assert arrived.is_set() and delivered[0].text == "Wake up!"
    threading.Event().wait(0.2)
    reply = skill.run("stop_alarm", "i'm up")
    assert reply.data["stopped"] == [job["id"]]
    assert skill.run("stop_alarm", "stop").data["stopped"] == []


def test_snooze_brings_the_last_reminder_back(skill, delivered):
    skill.scheduler.add(
        "reminders", "reminder", {"delay_s": 0.3}, {"text": "Reminder: stretch.", "task": "stretch"}
    )
    for _ in range(40):
        if delivered:
            break
        threading.Event().wait(0.1)
    reply = skill.run("snooze", "snooze for 5 minutes", length=300.0)
    assert reply.data["job"]["payload"]["task"] == "stretch"
    assert "5 minutes" in reply.text or "Snoozed" in reply.text


def test_look_alike_timers_left_are_said_together_each_time_once(skill):
    now = datetime.now(local_zone()).replace(microsecond=0)
    first = skill.run("set_timer", "set a 10 minute timer", now, length=600.0).data["job"]
    skill.run("set_timer", "set a 10 minute timer", now, length=600.0)
    skill.scheduler.shift(first["id"], -300)
    skill.run("set_timer", "set a timer for the pasta for 20 minutes", now, length=1200.0, name="pasta")
    reply = skill.run("time_left", "how long is left", now)
    assert re.fullmatch(
        r"You have two 10 minute timers: the first has (5 minutes|4 minutes and 5\d seconds) left, "
        r"the second (10 minutes|9 minutes and 5\d seconds); the pasta timer has \S.* left\.",
        reply.text,
    ), reply.text
    assert [t["label"] for t in reply.data["timers"]] == ["10 minute", "10 minute", "pasta"]
    skill.scheduler.pause(first["id"])
    paused = skill.run("time_left", "how much time is left on the 10 minute timer", now)
    assert re.fullmatch(
        r"You have two 10 minute timers: the first has \S.* left, the second is paused with \S.* left\.",
        paused.text,
    ), paused.text
