"""The scheduler's storage: APScheduler over one SQLite file, and the ledger of deliveries.

Jobs live in APScheduler's SQLAlchemy job store (table `jobs`); every (job, scheduled
time) delivered or announced is recorded in the `deliveries` table of the same file
before it is delivered, so nothing is delivered twice across crashes and restarts.
"""

from __future__ import annotations

import builtins
import json
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from apscheduler.executors.base import BaseExecutor
from apscheduler.executors.debug import DebugExecutor
from apscheduler.job import Job
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

__all__ = ["Fire", "Ledger", "StoreScheduler", "now_utc", "open_store", "to_local_iso"]

log = logging.getLogger(__name__)

Fire = Callable[["StoreScheduler", Job, builtins.list[datetime]], None]


class Ledger:
    """The deliveries table: one row per (job, scheduled run time) ever delivered or announced."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "CREATE TABLE IF NOT EXISTS deliveries (job_id TEXT NOT NULL, run_time TEXT NOT NULL,"
                    " status TEXT NOT NULL, recorded_at TEXT NOT NULL, skill TEXT NOT NULL,"
                    " job TEXT NOT NULL, PRIMARY KEY (job_id, run_time))"
                )
            )

    def claim(self, job_id: str, run_time: datetime, status: str, job: Mapping[str, Any]) -> bool:
        """Record one occurrence; False when it was recorded before (already delivered)."""
        row = {
            "job_id": job_id,
            "run_time": run_time.astimezone(UTC).isoformat(timespec="seconds"),
            "status": status,
            "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "skill": str(job.get("skill", "")),
            "job": json.dumps(dict(job)),
        }
        with self._engine.begin() as conn:
            result = conn.execute(
                sa.text(
                    "INSERT OR IGNORE INTO deliveries VALUES"
                    " (:job_id, :run_time, :status, :recorded_at, :skill, :job)"
                ),
                row,
            )
            return result.rowcount == 1

    def recent(self, skill: str | None, limit: int) -> list[dict[str, Any]]:
        query = "SELECT job_id, run_time, status, job FROM deliveries"
        query += " WHERE skill = :skill" if skill else ""
        query += " ORDER BY run_time DESC, recorded_at DESC LIMIT :limit"
        with self._engine.connect() as conn:
            rows = conn.execute(sa.text(query), {"skill": skill, "limit": limit}).all()
        return [
            {"id": r.job_id, "run_time": r.run_time, "status": r.status, "job": json.loads(r.job)}
            for r in rows
        ]


class StoreScheduler(BackgroundScheduler):
    """Looks at due jobs only while `delivering`.

    APScheduler processes due jobs once more while it stops, even when paused; a
    process that only reads or edits the store (`assistant reminders list`) must never
    fire a job, or the job would be recorded as delivered to nobody.
    """

    delivering = False

    def _process_jobs(self) -> float | None:
        if not self.delivering:
            return None
        return super()._process_jobs()  # type: ignore[no-any-return]


class _ServiceExecutor(BaseExecutor):
    """Hands due jobs to the service: text jobs inline, skill-action jobs to a thread pool.

    Inline delivery means a one-shot job is delivered before APScheduler removes it.
    """

    def __init__(self, fire: Fire) -> None:
        super().__init__()
        self._fire = fire

    def _do_submit_job(self, job: Job, run_times: builtins.list[datetime]) -> None:
        try:
            self._fire(self._scheduler, job, run_times)
        except Exception as error:  # a job must never stop the scheduler thread
            self._run_job_error(job.id, error, error.__traceback__)
        else:
            self._run_job_success(job.id, [])


def open_store(path: Path, zone: tzinfo, fire: Fire) -> tuple[StoreScheduler, Ledger, sa.Engine]:
    """A paused scheduler over the SQLite file at `path`, its ledger and its engine."""
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 30})
    sa.event.listen(engine, "connect", _sqlite_wal)
    ledger = Ledger(engine)
    scheduler = StoreScheduler(
        jobstores={
            "default": SQLAlchemyJobStore(engine=engine, tablename="jobs"),
            "internal": MemoryJobStore(),
        },
        executors={"default": _ServiceExecutor(fire), "internal": DebugExecutor()},
        job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1},
        timezone=zone,
    )
    scheduler.start(paused=True)
    return scheduler, ledger, engine


def _sqlite_wal(connection: Any, _record: Any) -> None:
    """Readers (the `reminders list` command) do not block the running assistant."""
    connection.execute("PRAGMA journal_mode=WAL")


def now_utc() -> datetime:
    """Now in UTC: arithmetic and comparisons in a local zone go wrong around a clock change."""
    return datetime.now(UTC)


def to_local_iso(moment: datetime, zone: tzinfo) -> str:
    """ISO 8601 in the local zone; through UTC, so a wall time a clock change skips is shown as it falls."""
    return moment.astimezone(UTC).astimezone(zone).isoformat(timespec="seconds")
