"""SchedulerService on a real SQLite file: firing, catch-up after a stop, exactly-once, alarms."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from assistant.config import SchedulerSettings
from assistant.errors import SkillError
from assistant.home import Home
from assistant.notifications import Notification
from assistant.services.scheduler import SchedulerService
from assistant.session import current_room
from assistant.skills.sdk import Response


class Inbox:
    """Collects deliveries; `wait(n)` blocks until n have arrived."""

    def __init__(self) -> None:
        self.notes: list[Notification] = []
        self._event = threading.Condition()

    def __call__(self, note: Notification) -> None:
        with self._event:
            self.notes.append(note)
            self._event.notify_all()

    def wait(self, count: int, timeout_s: float = 5.0) -> list[Notification]:
        with self._event:
            self._event.wait_for(lambda: len(self.notes) >= count, timeout=timeout_s)
        return list(self.notes)


@pytest.fixture
def home(tmp_path) -> Home:
    return Home(tmp_path).ensure()


@pytest.fixture
def services(home) -> Iterator[list[SchedulerService]]:
    made: list[SchedulerService] = []
    yield made
    for service in made:
        service.shutdown()


def make(services, home, inbox, run_action=None, **settings) -> SchedulerService:
    service = SchedulerService(home, SchedulerSettings(**settings), inbox, run_action)
    services.append(service)
    return service


def test_a_reminder_fires_once_on_time_and_is_removed(services, home):
    inbox = Inbox()
    service = make(services, home, inbox)
    service.start()
    job = service.add("reminders", "reminder", {"delay_s": 0.5}, {"text": "water the plants"})
    assert job["id"].startswith("reminders:") and job["next_run_time"]
    notes = inbox.wait(1)
    time.sleep(0.3)
    assert [n.text for n in inbox.notes] == ["water the plants"]
    assert notes[0].data["status"] == "on_time" and notes[0].data["job_id"] == job["id"]
    assert service.list() == []
    assert home.database("scheduler").exists()


def test_a_job_due_while_stopped_is_announced_once_at_the_next_start(services, home):
    first = make(services, home, Inbox())
    first.add(
        "reminders",
        "reminder",
        {"delay_s": 0.3},
        {
            "text": "water the plants",
            "late_text": "While I was off, you had a reminder at {time}: water the plants",
        },
    )
    first.shutdown()
    time.sleep(1.5)
    inbox = Inbox()
    second = make(services, home, inbox)
    announced = second.start()
    assert len(announced) == 1 and announced[0]["data"]["status"] == "late"
    assert inbox.notes[0].text.startswith("While I was off, you had a reminder at ")
    assert inbox.notes[0].text.endswith("today: water the plants")
    assert second.list() == []
    second.shutdown()
    third_inbox = Inbox()
    make(services, home, third_inbox).start()
    time.sleep(0.3)
    assert third_inbox.notes == []


def test_a_service_that_was_never_started_neither_fires_nor_drops_a_due_job(services, home):
    """`assistant reminders list` opens the store in its own process and must not deliver."""
    reader_inbox = Inbox()
    reader = make(services, home, reader_inbox)
    reader.add("reminders", "reminder", {"delay_s": 0.1}, {"text": "due while only read"})
    time.sleep(0.5)
    assert len(reader.list()) == 1
    reader.shutdown()
    assert reader_inbox.notes == []
    inbox = Inbox()
    make(services, home, inbox).start()
    assert [n.text for n in inbox.notes] == ["due while only read"]


def test_a_job_missed_beyond_the_grace_time_is_listed_as_missed(services, home):
    first = make(services, home, Inbox())
    first.add("reminders", "reminder", {"delay_s": 0.2}, {"text": "call mum"})
    first.shutdown()
    time.sleep(1.5)
    inbox = Inbox()
    make(services, home, inbox, grace_time_s=1).start()
    assert [n.data["status"] for n in inbox.notes] == ["missed"]
    assert inbox.notes[0].text.startswith("You missed a reminder at ")
    assert inbox.notes[0].text.endswith(": call mum")


def test_a_job_delivered_before_a_crash_is_not_delivered_again(services, home):
    """The crash window: delivered and recorded, but not yet removed from the job store."""
    first = make(services, home, Inbox())
    job = first.add("reminders", "reminder", {"delay_s": 0.3}, {"text": "feed the cat"})
    first.shutdown()
    scheduled = datetime.fromisoformat(job["next_run_time"]).astimezone(ZoneInfo("UTC"))
    with sqlite3.connect(home.database("scheduler")) as db:
        db.execute(
            "INSERT INTO deliveries VALUES (?, ?, 'on_time', ?, 'reminders', '{}')",
            (job["id"], scheduled.isoformat(timespec="seconds"), scheduled.isoformat()),
        )
    time.sleep(0.8)
    inbox = Inbox()
    second = make(services, home, inbox)
    assert second.start() == []
    time.sleep(0.3)
    assert inbox.notes == [] and second.list() == []


def test_a_recurring_job_missed_many_times_is_announced_once_and_keeps_going(services, home):
    first = make(services, home, Inbox())
    job = first.add("reminders", "reminder", {"cron": {"second": "*"}}, {"text": "tick"})
    first.shutdown()
    time.sleep(2.5)
    inbox = Inbox()
    second = make(services, home, inbox)
    announced = second.start()
    assert len(announced) == 1
    expected = {"on_time": "tick", "late": "While I was off, you had a reminder at "}
    assert announced[0]["text"].startswith(expected[announced[0]["data"]["status"]])
    pending = second.get(job["id"])
    assert pending is not None and pending["recurring"]
    assert datetime.fromisoformat(pending["next_run_time"]) > datetime.now(
        ZoneInfo("UTC")
    ) - timedelta(seconds=1)


def test_jobs_are_namespaced_by_skill_and_listed_soonest_first(services, home):
    service = make(services, home, Inbox())
    later = service.add("reminders", "reminder", {"delay_s": 600}, {"text": "later"})
    sooner = service.add("reminders", "timer", {"delay_s": 60}, {"text": "sooner"}, name="pasta")
    watch = service.add(
        "web", "watch", {"interval": {"hours": 1}}, {"action": "check"}, job_id="page1"
    )
    assert watch["id"] == "web:page1" and watch["recurring"]
    assert [j["id"] for j in service.list("reminders")] == [sooner["id"], later["id"]]
    assert service.list("reminders")[0]["name"] == "pasta"
    assert len(service.list()) == 3
    assert service.cancel(later["id"]) and not service.cancel(later["id"])
    assert [j["id"] for j in service.list("reminders")] == [sooner["id"]]


@pytest.mark.parametrize(
    ("when", "payload", "message"),
    [
        ("2001-01-01T09:00:00+00:00", {"text": "x"}, "in the past"),
        ({"delay_s": -180}, {"text": "x"}, "positive"),
        ({"cron": {"hour": 25}}, {"text": "x"}, "cannot schedule"),
        ({"fortnightly": True}, {"text": "x"}, "give an ISO date-time"),
        ("next blue moon", {"text": "x"}, "cannot schedule"),
        ({"delay_s": 60}, {}, "needs a 'text' or an 'action'"),
    ],
)
def test_bad_schedules_are_refused_with_a_clear_error(services, home, when, payload, message):
    service = make(services, home, Inbox())
    with pytest.raises(SkillError, match=message):
        service.add("reminders", "reminder", when, payload)
    assert service.list() == []


def test_an_alarm_rings_until_acknowledged(services, home):
    inbox = Inbox()
    service = make(services, home, inbox)
    service.start()
    alarm = service.add(
        "reminders",
        "alarm",
        {"delay_s": 0.3},
        {"text": "Wake up!", "ring_text": "Still time to get up!"},
    )
    inbox.wait(1)
    time.sleep(0.2)
    ringing = [j for j in service.list() if j["kind"] == "alarm_ring"]
    assert len(ringing) == 1 and ringing[0]["payload"]["ring_of"] == alarm["id"]
    assert service.acknowledge() == [alarm["id"]]
    assert service.list() == [] and service.acknowledge() == []


def test_snooze_moves_a_pending_job_and_repeats_a_delivered_one(services, home):
    inbox = Inbox()
    service = make(services, home, inbox)
    service.start()
    pending = service.add("reminders", "reminder", {"delay_s": 600}, {"text": "stretch"})
    moved = service.snooze(pending["id"], 0.5)
    assert moved["id"] == pending["id"]
    assert datetime.fromisoformat(moved["next_run_time"]) < datetime.fromisoformat(
        pending["next_run_time"]
    )
    inbox.wait(1)
    again = service.snooze(pending["id"], 300)
    assert again["text"] == "stretch" and again["id"] != pending["id"]
    assert service.history("reminders")[0]["id"] == pending["id"]
    with pytest.raises(SkillError, match="no reminder"):
        service.snooze("reminders:nothing", 60)
    with pytest.raises(SkillError, match="positive"):
        service.snooze(again["id"], 0)


def test_an_action_job_delivers_the_response_of_the_skill_action(services, home):
    calls: list[tuple[str, str, dict]] = []

    def run_action(skill: str, action: str, payload: dict) -> Response | None:
        calls.append((skill, action, payload))
        if len(calls) == 1:
            return Response("The page changed.", data={"url": payload["url"]})
        return Response("") if len(calls) == 2 else None  # unchanged: nothing to say

    inbox = Inbox()
    service = make(services, home, inbox, run_action)
    service.start()
    service.add(
        "web",
        "watch",
        {"interval": {"seconds": 1}},
        {"action": "check", "action_payload": {"url": "http://127.0.0.1/x"}},
        job_id="x",
    )
    inbox.wait(1, timeout_s=3)
    time.sleep(1.3)
    assert calls[0] == ("web", "check", {"url": "http://127.0.0.1/x"}) and len(calls) >= 2
    assert [n.text for n in inbox.notes] == ["The page changed."]
    assert inbox.notes[0].data["url"] == "http://127.0.0.1/x" and inbox.notes[0].skill == "web"


def test_each_room_reaches_its_own_jobs_and_an_action_job_runs_in_its_room(services, home):
    rooms_seen: list[str | None] = []

    def run_action(skill: str, action: str, payload: dict) -> Response | None:
        rooms_seen.append(current_room())
        return Response("Checked.")

    inbox = Inbox()
    service = make(services, home, inbox, run_action)
    hall = service.add("web", "watch", {"delay_s": 0.3}, {"action": "check"}, room="hall")
    kitchen = service.add("notes", "reminder", {"delay_s": 600}, {"text": "soup"}, room="kitchen")
    mine = service.add("notes", "reminder", {"delay_s": 900}, {"text": "mine"})
    assert [job["room"] for job in service.jobs()] == ["hall", "kitchen", None]
    assert [job["id"] for job in service.jobs(room="kitchen")] == [kitchen["id"]]
    assert service.get(mine["id"], room="kitchen") is None
    assert not service.cancel(mine["id"], room="kitchen")
    with pytest.raises(SkillError):
        service.pause(kitchen["id"], room="hall")
    assert service.cancel(kitchen["id"])  # the machine's own room reaches every room's
    service.start()
    inbox.wait(1, timeout_s=3)
    assert rooms_seen == ["hall"] and inbox.notes[0].data["room"] == "hall"
    assert hall["id"] not in [job["id"] for job in service.jobs()]


def test_a_ringing_alarm_repeats_until_its_timeout(services, home):
    inbox = Inbox()
    service = make(services, home, inbox, alarm_repeat_s=5, alarm_timeout_s=10)
    service.start()
    service.add(
        "reminders", "alarm", {"delay_s": 0.2}, {"text": "Wake up!", "ring_text": "Still ringing"}
    )
    notes = inbox.wait(2, timeout_s=8)
    assert [n.text for n in notes] == ["Wake up!", "Still ringing"]
    assert notes[1].data["kind"] == "alarm_ring"


def test_a_paused_timer_keeps_its_time_left_across_a_restart_and_rings_after_resuming(services, home):
    inbox = Inbox()
    first = make(services, home, inbox)
    first.start()
    job = first.add("reminders", "timer", {"delay_s": 600}, {"text": "Tea is ready."})
    paused = first.pause(job["id"])
    assert paused["paused"] and paused["next_run_time"] is None
    assert 598 <= paused["paused_left_s"] <= 600
    first.shutdown()
    time.sleep(1.5)  # the clock runs on; a paused timer's does not
    second = make(services, home, inbox)
    second.start()
    kept = second.get(job["id"])
    assert kept is not None and kept["paused"] and kept["paused_left_s"] == paused["paused_left_s"]
    assert second.shift(job["id"], -597)["paused_left_s"] == pytest.approx(paused["paused_left_s"] - 597)
    resumed = second.resume(job["id"])
    assert not resumed["paused"] and resumed["next_run_time"] is not None
    assert [note.text for note in inbox.wait(1, timeout_s=10)] == ["Tea is ready."]


def test_moving_a_timer_changes_its_end_exactly_and_never_into_the_past(services, home):
    service = make(services, home, Inbox())
    job = service.add("reminders", "timer", {"delay_s": 300}, {"text": "Done."})
    end = datetime.fromisoformat(job["next_run_time"])
    later = service.shift(job["id"], 120)
    assert datetime.fromisoformat(later["next_run_time"]) - end == timedelta(seconds=120)
    with pytest.raises(SkillError, match="less than 600 seconds left"):
        service.shift(job["id"], -600)
    assert service.get(job["id"])["next_run_time"] == later["next_run_time"]
    weekly = service.add("reminders", "reminder", {"cron": {"hour": 8}}, {"text": "Pills."})
    with pytest.raises(SkillError, match="only one-time jobs"):
        service.pause(weekly["id"])
