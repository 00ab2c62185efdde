"""The assistant's one scheduler: every skill's jobs, stored in SQLite, delivered exactly once.

APScheduler 3 runs the jobs; its SQLAlchemy job store keeps them in
`home.database("scheduler")` so they survive restarts. A `deliveries` table in the
same file records every (job, scheduled time) before it is delivered, so a crash
between firing and removing a job never delivers twice, and a job that came due
while the assistant was off is announced once at the next start (late within
`grace_time_s`, listed as missed beyond it).

Every job belongs to a room (`session.py`): the satellite or device whose session set it, or
the machine's own room (`LOCAL_ROOM`, also every job stored before rooms existed). Methods
take the `room` that asks: a named room reaches only its own jobs, the machine's own room
reaches every room's (`assistant reminders` and the terminal list them all).
"""

from __future__ import annotations

import builtins
import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, tzinfo
from typing import Any

import sqlalchemy as sa
from apscheduler.job import Job
from apscheduler.jobstores.base import JobLookupError
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from assistant.config import SchedulerSettings
from assistant.errors import SkillError
from assistant.home import Home
from assistant.notifications import Notification
from assistant.services.schedule_store import Ledger, StoreScheduler, now_utc, open_store
from assistant.services.schedule_store import to_local_iso as _iso
from assistant.services.timeexpr import local_zone
from assistant.services.timewords import describe_time, occurrence_text
from assistant.session import LOCAL_ROOM, current_session_id, turn_of
from assistant.skills.sdk import Response

__all__ = ["SchedulerService", "job_target"]

log = logging.getLogger(__name__)

JOB_TARGET = "assistant.services.scheduler:job_target"
RING_SUFFIX = "~ring"
STORE_POLL_S = 15
"""How often the store is re-read, so jobs added by another process are seen."""
ON_TIME_SLACK_S = 5
"""A job delivered at most this late still counts as on time."""

Deliver = Callable[[Notification], None]
RunAction = Callable[[str, str, dict[str, Any]], Response | None]


def _rings(job: Mapping[str, Any]) -> bool:
    """Whether a job rings until stopped once due: an alarm, or a job whose payload says so."""
    return job["kind"] == "alarm" or bool(job["payload"].get("rings"))


def job_target(**job: Any) -> None:
    """The stored target of every job; the service's executor handles jobs itself."""
    log.warning("scheduler job %s ran outside the scheduler service; ignored", job.get("kind"))


def _wakeup() -> None:
    """Makes the scheduler look at its store again."""


class SchedulerService:
    """Reminders, timers, alarms and periodic skill actions of every skill, in one scheduler.

    Arguments and results are plain data: skill actions call it through a forwarding
    proxy as `request.services.scheduler.<method>(...)`. Job ids are "<skill>:<id>".
    """

    def __init__(
        self,
        home: Home,
        settings: SchedulerSettings,
        deliver: Deliver,
        run_action: RunAction | None = None,
        zone: tzinfo | None = None,
    ) -> None:
        self._home = home
        self._settings = settings
        self._deliver = deliver
        self._run_action = run_action
        self.zone = zone or local_zone()
        self._lock = threading.RLock()
        self._scheduler: StoreScheduler | None = None
        self._ledger: Ledger | None = None
        self._engine: sa.Engine | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._running = False

    # -- life cycle -------------------------------------------------------------------

    def start(self) -> builtins.list[dict[str, Any]]:
        """Announce what came due while off, then run jobs as they come due.

        Returns the catch-up notifications delivered (as dicts).
        """
        scheduler = self._open()
        with self._lock:
            if self._running:
                return []
            self._running = True
            self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="scheduler-action")
        notes = self.catch_up()
        for note in notes:
            self._safe_deliver(note)
        scheduler.add_job(
            _wakeup,
            IntervalTrigger(seconds=STORE_POLL_S),
            id="wakeup",
            jobstore="internal",
            executor="internal",
            replace_existing=True,
        )
        scheduler.delivering = True
        scheduler.resume()
        return [note.to_dict() for note in notes]

    def shutdown(self) -> None:
        """Stop running jobs; stored jobs stay for the next start."""
        # Not under the lock: a job being delivered in the scheduler thread must finish first.
        with self._lock:
            scheduler, pool, engine = self._scheduler, self._pool, self._engine
            self._scheduler, self._pool, self._engine = None, None, None
            self._running = False
        if scheduler is not None:
            scheduler.delivering = False
            scheduler.shutdown(wait=False)
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        if engine is not None:
            engine.dispose()

    def catch_up(self) -> builtins.list[Notification]:
        """Record and return one notification per text job that came due while the assistant was off.

        Each is recorded as delivered: the caller must deliver them (`start` does).
        Skill-action jobs are left to run as soon as the scheduler resumes.
        """
        scheduler = self._open()
        now = now_utc()
        notes = []
        for job in scheduler.get_jobs(jobstore="default"):
            if (
                job.next_run_time is None
                or job.next_run_time > now
                or "action" in job.kwargs["payload"]
            ):
                continue
            run_times = self._run_times(job, now)
            note = self._occurrence(job, run_times[-1], now, catching_up=True)
            if note is not None:
                notes.append(note)
            following = job.trigger.get_next_fire_time(run_times[-1], now)
            if following is None:
                self._remove(job.id)
            else:
                scheduler.modify_job(job.id, jobstore="default", next_run_time=following)
        return notes

    # -- the API skills use -------------------------------------------------------------

    def add(
        self,
        skill: str,
        kind: str,
        when: str | Mapping[str, Any],
        payload: Mapping[str, Any],
        name: str | None = None,
        job_id: str | None = None,
        room: str | None = LOCAL_ROOM,
    ) -> dict[str, Any]:
        """Store a job of `room` and return it as `jobs()` lists it.

        `when`: an ISO 8601 date-time (one-shot), or one of {"delay_s": 180},
        {"cron": {"day_of_week": "mon-fri", "hour": 8, "minute": 0}},
        {"interval": {"seconds": 3600}}. `payload` holds "text" (what to say; optional
        "speech", "late_text"/"missed_text" with a "{time}" field; "rings": true for a job that
        rings until stopped, as an alarm always does, with "ring_text" said at each repeat)
        or "action" + "action_payload" (a skill action; its reply is delivered unless empty).
        A given `job_id` replaces the skill's job of that id (of any room: ids are the skill's).
        """
        if not (payload.get("text") or payload.get("action")):
            raise SkillError(f"skill {skill!r}: a scheduled job needs a 'text' or an 'action'")
        now = now_utc()
        trigger = self._trigger(when, now)
        first = trigger.get_next_fire_time(None, now)
        if first is None or first < now - timedelta(seconds=ON_TIME_SLACK_S):
            raise SkillError(
                f"skill {skill!r}: the time {when!r} is in the past; nothing scheduled"
            )
        job = self._open().add_job(
            JOB_TARGET,
            trigger,
            id=f"{skill}:{job_id or uuid.uuid4().hex[:8]}",
            name=name or kind,
            replace_existing=job_id is not None,
            jobstore="default",
            kwargs={
                "skill": skill,
                "kind": kind,
                "name": name,
                "payload": dict(payload),
                "created": _iso(now, self.zone),
                # The conversation that asked: its notification goes back there if still open.
                "session": current_session_id(),
                # Where it rings, and who may list, change or cancel it; stored, so kept across restarts.
                "room": room,
            },
        )
        log.info("scheduled %s for %s", job.id, job.next_run_time)
        return self._describe(job)

    def jobs(
        self, skill: str | None = None, room: str | None = LOCAL_ROOM
    ) -> builtins.list[dict[str, Any]]:
        """Stored jobs (of one skill, or all) that `room` reaches, soonest first, with their next run time."""
        found = [
            job
            for job in self._open().get_jobs(jobstore="default")
            if (skill is None or job.kwargs.get("skill") == skill) and _reaches(room, job.kwargs)
        ]
        return [self._describe(job) for job in found]

    list = jobs

    def get(self, job_id: str, room: str | None = LOCAL_ROOM) -> dict[str, Any] | None:
        job = self._job(job_id, room)
        return None if job is None else self._describe(job)

    def cancel(self, job_id: str, room: str | None = LOCAL_ROOM) -> bool:
        """Remove a job (and stop its alarm ringing); False when `room` has no such job."""
        if self._job(job_id, room) is None and self._job(job_id + RING_SUFFIX, room) is None:
            return False
        removed = self._remove(job_id)
        return self._remove(job_id + RING_SUFFIX) or removed

    def acknowledge(
        self,
        skill: str | None = None,
        job_id: str | None = None,
        room: str | None = LOCAL_ROOM,
    ) -> builtins.list[str]:
        """Stop ringing alarms (all that `room` reaches, one skill's, or one); returns the alarm ids stopped."""
        stopped = []
        for job in self._open().get_jobs(jobstore="default"):
            ring_of = job.kwargs["payload"].get("ring_of")
            if ring_of is None or (skill and job.kwargs.get("skill") != skill):
                continue
            if not _reaches(room, job.kwargs):
                continue
            if job_id is None or job_id in (ring_of, job.id):
                self._remove(job.id)
                stopped.append(ring_of)
        return stopped

    def snooze(
        self, job_id: str, seconds: float, room: str | None = LOCAL_ROOM
    ) -> dict[str, Any]:
        """Say it again in `seconds`: a ringing alarm, a pending job, or one delivered lately (in its own room)."""
        if seconds <= 0:
            raise SkillError(
                f"cannot snooze {job_id!r} by {seconds} seconds; give a positive delay"
            )
        base = job_id.removesuffix(RING_SUFFIX)
        ringing = self._job(base + RING_SUFFIX, room)
        pending = self._job(base, room)
        if ringing is not None:
            self._remove(ringing.id)
        if pending is not None and ringing is None and isinstance(pending.trigger, DateTrigger):
            self._open().reschedule_job(
                base,
                jobstore="default",
                trigger=DateTrigger(now_utc() + timedelta(seconds=seconds), timezone=self.zone),
            )
            return self._describe(self._open().get_job(base, jobstore="default"))
        source = dict(pending.kwargs) if pending is not None else self._delivered(base)
        if source is None or not _reaches(room, source):
            raise SkillError(f"no reminder, timer or alarm with id {job_id!r} to snooze")
        payload = {k: v for k, v in source["payload"].items() if k != "ring_of"}
        return self.add(
            source["skill"],
            source["kind"],
            {"delay_s": seconds},
            payload,
            source["name"],
            room=source.get("room"),
        )

    def pause(self, job_id: str, room: str | None = LOCAL_ROOM) -> dict[str, Any]:
        """Stop a one-shot job's clock: it keeps the time it had left (stored, so across restarts)."""
        job = self._one_shot(job_id, "pause", room)
        if job.next_run_time is None:
            return self._describe(job)
        left_s = max(1.0, (job.next_run_time - now_utc()).total_seconds())
        self._open().modify_job(
            job_id,
            jobstore="default",
            kwargs={**job.kwargs, "paused_left_s": round(left_s, 3)},
            next_run_time=None,
        )
        log.info("paused %s with %.0f s left", job_id, left_s)
        return self._describe(self._open().get_job(job_id, jobstore="default"))

    def resume(self, job_id: str, room: str | None = LOCAL_ROOM) -> dict[str, Any]:
        """Start a paused job's clock again from the time it had left."""
        job = self._one_shot(job_id, "resume", room)
        if job.next_run_time is not None:
            return self._describe(job)
        kwargs = dict(job.kwargs)
        left_s = float(kwargs.pop("paused_left_s", 0.0))
        scheduler = self._open()
        scheduler.modify_job(job_id, jobstore="default", kwargs=kwargs)
        end = now_utc() + timedelta(seconds=max(1.0, left_s))
        scheduler.reschedule_job(
            job_id, jobstore="default", trigger=DateTrigger(end, timezone=self.zone)
        )
        return self._describe(scheduler.get_job(job_id, jobstore="default"))

    def shift(
        self, job_id: str, seconds: float, room: str | None = LOCAL_ROOM
    ) -> dict[str, Any]:
        """Make a one-shot job run `seconds` later (earlier when negative); paused ones keep the change."""
        job = self._one_shot(job_id, "change", room)
        scheduler = self._open()
        if job.next_run_time is None:
            left_s = float(job.kwargs.get("paused_left_s", 0.0)) + seconds
            if left_s < 1:
                raise SkillError(
                    f"{job_id!r} has less than {-seconds:.0f} seconds left to take off"
                )
            kwargs = {**job.kwargs, "paused_left_s": round(left_s, 3)}
            scheduler.modify_job(job_id, jobstore="default", kwargs=kwargs)
        else:
            end = job.next_run_time + timedelta(seconds=seconds)
            if end <= now_utc():
                raise SkillError(
                    f"{job_id!r} has less than {-seconds:.0f} seconds left to take off"
                )
            scheduler.reschedule_job(
                job_id, jobstore="default", trigger=DateTrigger(end, timezone=self.zone)
            )
        return self._describe(scheduler.get_job(job_id, jobstore="default"))

    def history(
        self, skill: str | None = None, limit: int = 20, room: str | None = LOCAL_ROOM
    ) -> builtins.list[dict[str, Any]]:
        """Occurrences delivered or announced of the jobs `room` reaches, newest first."""
        self._open()
        assert self._ledger is not None
        if room is LOCAL_ROOM:
            return self._ledger.recent(skill, limit)
        rows = self._ledger.recent(skill, max(limit, 200))
        return [row for row in rows if _reaches(room, row["job"])][:limit]

    # -- firing -----------------------------------------------------------------------

    def _fire(
        self, scheduler: StoreScheduler, job: Job, run_times: builtins.list[datetime]
    ) -> None:
        """Called in the scheduler thread for every due job (run times coalesced).

        Takes no lock of the service: `shutdown` waits for this to finish.
        """
        now = now_utc()
        if "action" in job.kwargs["payload"]:
            pool = self._pool
            if pool is not None and self._claim(job, run_times[-1], "ran"):
                pool.submit(self._run_action_job, dict(job.kwargs), job.id, run_times[-1])
            return
        note = self._occurrence(job, run_times[-1], now, catching_up=False)
        if note is None:
            return
        self._safe_deliver(note)
        if _rings(job.kwargs) and note.data["status"] == "on_time":
            self._start_ringing(scheduler, job, now)

    def _occurrence(
        self, job: Job, run_time: datetime, now: datetime, catching_up: bool
    ) -> Notification | None:
        """Claim one occurrence and word it (on time, late, missed); None if already delivered."""
        payload = job.kwargs["payload"]
        late_s = (now - run_time).total_seconds()
        # While running, a job added by another process is seen within STORE_POLL_S.
        on_time_s = 1.0 if catching_up else ON_TIME_SLACK_S + STORE_POLL_S
        if late_s <= on_time_s:
            status = "on_time"
        elif payload.get("ring_of"):
            status = "skipped"  # the alarm itself was delivered; a missed repeat is not news
        else:
            status = "late" if late_s <= self._settings.grace_time_s else "missed"
        if not self._claim(job, run_time, status) or status == "skipped":
            return None
        when = describe_time(run_time, now.astimezone(self.zone))
        if status == "on_time":
            text, speech = payload["text"], payload.get("speech")
        else:
            template = payload.get(f"{status}_text")
            text = occurrence_text(template, status, job.kwargs["kind"], when, payload["text"])
            speech = None
        return Notification(
            skill=job.kwargs["skill"],
            text=text,
            speech=speech,
            data={
                "job_id": job.id,
                "kind": job.kwargs["kind"],
                "name": job.kwargs.get("name"),
                "status": status,
                "scheduled": _iso(run_time, self.zone),
                "session": job.kwargs.get("session"),
                "room": job.kwargs.get("room"),
                # Rings (until stopped) when said on time: "stop" and "snooze" then need no wake word.
                "rings": status == "on_time" and (_rings(job.kwargs) or bool(payload.get("ring_of"))),
            },
        )

    def _run_action_job(self, job: dict[str, Any], job_id: str, run_time: datetime) -> None:
        payload = job["payload"]
        if self._run_action is None:
            log.error(
                "job %s names action %s but no action runner is wired", job_id, payload["action"]
            )
            return
        try:
            # In the room that set it: the action reaches that room's jobs, as its turn did.
            with turn_of(job.get("session"), job.get("room")):
                response = self._run_action(
                    job["skill"], payload["action"], dict(payload.get("action_payload") or {})
                )
        except Exception:  # the skill's failure must not stop the scheduler
            log.exception("scheduled action %s of skill %s failed", payload["action"], job["skill"])
            return
        if response is not None and response.text:  # an empty reply means "nothing to say"
            data = dict(response.data)
            data.update(
                job_id=job_id,
                kind=job["kind"],
                status="on_time",
                scheduled=_iso(run_time, self.zone),
                session=job.get("session"),
                room=job.get("room"),
            )
            self._safe_deliver(Notification(job["skill"], response.text, response.speech, data))

    def _start_ringing(self, scheduler: StoreScheduler, alarm: Job, now: datetime) -> None:
        repeat = timedelta(seconds=self._settings.alarm_repeat_s)
        payload = alarm.kwargs["payload"]
        scheduler.add_job(
            JOB_TARGET,
            IntervalTrigger(
                seconds=self._settings.alarm_repeat_s,
                start_date=now + repeat,
                end_date=now + timedelta(seconds=self._settings.alarm_timeout_s),
                timezone=self.zone,
            ),
            id=alarm.id + RING_SUFFIX,
            name="alarm ringing",
            replace_existing=True,
            jobstore="default",
            kwargs={
                **alarm.kwargs,
                "kind": "alarm_ring",
                "payload": {
                    "text": payload.get("ring_text") or payload["text"],
                    "ring_of": alarm.id,
                    "ring_kind": alarm.kwargs["kind"],
                },
            },
        )

    # -- plumbing ---------------------------------------------------------------------

    def _open(self) -> StoreScheduler:
        """The scheduler over the SQLite store, started paused on first use."""
        with self._lock:
            if self._scheduler is None:
                path = self._home.database("scheduler")
                self._scheduler, self._ledger, self._engine = open_store(
                    path, self.zone, self._fire
                )
            return self._scheduler

    def _job(self, job_id: str, room: str | None) -> Job | None:
        """The stored job of that id, if `room` reaches it."""
        job = self._open().get_job(job_id, jobstore="default")
        return job if job is not None and _reaches(room, job.kwargs) else None

    def _one_shot(self, job_id: str, verb: str, room: str | None) -> Job:
        job = self._job(job_id, room)
        if job is None:
            raise SkillError(f"no job with id {job_id!r} to {verb}")
        if not isinstance(job.trigger, DateTrigger):
            raise SkillError(f"cannot {verb} {job_id!r}: only one-time jobs can be")
        return job

    def _claim(self, job: Job, run_time: datetime, status: str) -> bool:
        assert self._ledger is not None  # made by `_open`, before any job can fire
        claimed = self._ledger.claim(job.id, run_time, status, job.kwargs)
        if not claimed:
            log.info("job %s at %s was delivered before; not again", job.id, run_time)
        return claimed

    def _delivered(self, job_id: str) -> dict[str, Any] | None:
        assert self._ledger is not None
        for row in self._ledger.recent(None, 200):
            if row["id"] == job_id:
                return dict(row["job"])
        return None

    def _remove(self, job_id: str) -> bool:
        try:
            self._open().remove_job(job_id, jobstore="default")
        except JobLookupError:
            return False
        return True

    def _run_times(self, job: Job, now: datetime) -> builtins.list[datetime]:
        """Scheduled times from the job's next run up to `now` (at most 1000, the latest last)."""
        times: builtins.list[datetime] = []
        current = job.next_run_time
        while current is not None and current <= now:
            times = [*times[-999:], current]
            current = job.trigger.get_next_fire_time(current, now)
        return times

    def _trigger(self, when: str | Mapping[str, Any], now: datetime) -> BaseTrigger:
        try:
            if isinstance(when, str):
                moment = datetime.fromisoformat(when)
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=self.zone)
                return DateTrigger(moment, timezone=self.zone)
            if "delay_s" in when:
                delay = float(when["delay_s"])
                if delay <= 0:
                    raise ValueError("the delay must be positive")
                return DateTrigger(now + timedelta(seconds=delay), timezone=self.zone)
            if "cron" in when:
                return CronTrigger(**dict(when["cron"]), timezone=self.zone)
            if "interval" in when:
                return IntervalTrigger(**dict(when["interval"]), timezone=self.zone)
        except (TypeError, ValueError) as error:
            raise SkillError(f"cannot schedule at {when!r}: {error}") from None
        raise SkillError(
            f"cannot schedule at {when!r}: give an ISO date-time, delay_s, cron or interval"
        )

    def _describe(self, job: Job) -> dict[str, Any]:
        kwargs = job.kwargs
        next_run = job.next_run_time
        return {
            "id": job.id,
            "skill": kwargs["skill"],
            "kind": kwargs["kind"],
            "name": kwargs.get("name"),
            "text": kwargs["payload"].get("text"),
            "next_run_time": None if next_run is None else _iso(next_run, self.zone),
            "recurring": not isinstance(job.trigger, DateTrigger),
            "paused": next_run is None,
            "created": kwargs.get("created"),
            "room": kwargs.get("room") or LOCAL_ROOM,
            "paused_left_s": kwargs.get("paused_left_s"),
            "trigger": str(job.trigger),
            "payload": dict(kwargs["payload"]),
        }

    def _safe_deliver(self, note: Notification) -> None:
        try:
            self._deliver(note)
        except Exception:  # the output's failure must not stop the scheduler
            log.exception("could not deliver %r", note.text)


def _reaches(room: str | None, job: Mapping[str, Any]) -> bool:
    """Whether a session in `room` sees and changes the job: its own room's; the local room, every room's."""
    return room is LOCAL_ROOM or (job.get("room") or LOCAL_ROOM) == room
