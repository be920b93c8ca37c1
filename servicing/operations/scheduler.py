"""The scheduler's core: who leads, and which daily jobs are due (docs/operations.md, "The scheduler").

Any number of `loanline scheduler` processes may run; one leads and runs the jobs, the others stand by and take
over when it goes. Leadership is a lock the operating system or the database releases by itself when its
holder dies, even by SIGKILL:

- PostgreSQL: `pg_try_advisory_lock` on a connection of its own, held as long as that connection lives (keyed by
  the schema too, so that two installations sharing one database each have a leader). The
  leader checks the connection before every job; when the server ends it, leadership is given up, and a
  standby's next try takes it.
- SQLite: an exclusive `flock` of a file next to the database (`<database>.scheduler.lock`): one process at a
  time on the one machine SQLite lives on.

Leadership saves duplicated work, it is not what makes a job happen once. End of day cannot run twice for a
business date: the date's row in `business_days` is written in the same transaction as the day's payments and
fees (its primary key refuses a second one), the accrual is absolute (run again, it adds nothing) and the
rest of the day commits with the row's `finished_at`, checked under the row's lock; a leader killed midway
leaves the date unfinished and its successor resumes it (`servicing.eod.run_business_day_in_ranges`).
The ACH export is one file per effective date (asked again, the same file), and making partitions
creates only those missing. A job runs on business days (the portfolio's calendar, the holidays end of day
already uses) at or after its local time in the portfolio's zone, once per date in a process; a new leader runs
what is due and not yet done (for end of day, what the database has not recorded).
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import IO, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from servicing.rules.calendar import is_business_day
from servicing.store.db import IN_THIS_SCHEMA

log = logging.getLogger(__name__)
SCHEDULER_LOCK = 1_700_017  # the key of the scheduler's PostgreSQL advisory lock (outreach uses 1_300_013)
EVERY_DAY_JOBS = frozenset({"partitions", "receipts"})  # housekeeping that does not wait for a business day


class Leadership(Protocol):
    """A lock only one scheduler holds at a time, released by itself when its holder dies."""

    def try_to_lead(self) -> bool:
        """Take the lock if it is free; tell whether this process holds it now."""

    def still_leading(self) -> bool:
        """Tell whether the lock is still held (a dropped connection loses it)."""

    def step_down(self) -> None:
        """Release the lock."""


class AdvisoryLock:
    """PostgreSQL: a session-level advisory lock on a connection kept for it alone."""

    def __init__(self, engine: Engine, key: int = SCHEDULER_LOCK) -> None:
        self.engine, self.key = engine, key
        self.connection: Connection | None = None

    def try_to_lead(self) -> bool:
        if self.connection is not None and self.still_leading():
            return True
        try:
            self.connection = self.engine.connect()
            taken = self.connection.scalar(text(f"SELECT pg_try_advisory_lock({IN_THIS_SCHEMA})"), {"key": self.key})
            held = bool(taken)
            self.connection.commit()  # the lock is the session's: it outlives this (empty) transaction
        except SQLAlchemyError as error:
            log.warning("scheduler: the database refused the leadership lock (%s)", type(error).__name__)
            self._drop()
            return False
        if not held:
            self._drop()
        return held

    def still_leading(self) -> bool:
        if self.connection is None:
            return False
        try:
            held = self.connection.scalar(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
                     "AND classid = :key AND objid = hashtext(current_schema())::oid AND objsubid = 2 AND granted"),
                {"key": self.key})  # fmt: skip
            self.connection.commit()
        except SQLAlchemyError:
            self._drop()
            return False
        return bool(held)

    def step_down(self) -> None:
        if self.connection is not None:
            try:
                self.connection.execute(text(f"SELECT pg_advisory_unlock({IN_THIS_SCHEMA})"), {"key": self.key})
                self.connection.commit()
            except SQLAlchemyError:
                pass  # the connection is gone, and the lock with it
        self._drop()

    def _drop(self) -> None:
        if self.connection is not None:
            try:
                self.connection.invalidate()  # never back to the pool: a pooled connection would keep the lock
                self.connection.close()
            except SQLAlchemyError:
                pass
        self.connection = None


class FileLock:
    """SQLite: an exclusive lock of a file beside the database, released by the kernel when the process ends."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle: IO[str] | None = None

    def try_to_lead(self) -> bool:
        if self.handle is not None:
            return True
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self.handle = handle
        return True

    def still_leading(self) -> bool:
        return self.handle is not None

    def step_down(self) -> None:
        if self.handle is not None:
            fcntl.flock(self.handle.fileno(), fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None


def leadership_for(engine: Engine) -> Leadership:
    """Return the lock that makes one scheduler the leader on this database."""
    if engine.dialect.name == "postgresql":
        return AdvisoryLock(engine)
    database = engine.url.database
    if not database or database == ":memory:":
        raise ValueError("the scheduler needs a database file or PostgreSQL, not an in-memory SQLite database")
    return FileLock(Path(f"{database}.scheduler.lock"))


@dataclass(frozen=True)
class Job:
    """A daily job: its name, its local time, and what running it for a date does (returns a line to log)."""

    name: str
    at: time
    run: Callable[[date], str]
    already_done: Callable[[date], bool] = lambda _day: False


@dataclass
class Schedule:
    """The daily jobs at local times in the portfolio's zone, on its business calendar."""

    jobs: list[Job]
    timezone: str
    country: str
    done: dict[str, date] = field(default_factory=dict)  # the last date each job ran in this process

    def local_now(self, now: datetime) -> datetime:
        return now.astimezone(ZoneInfo(self.timezone))

    def due(self, now: datetime, today: date | None = None) -> list[Job]:
        """Return the jobs due at `now`: past their local time today, on a business day, not yet run for today."""
        local = self.local_now(now)
        day = today or local.date()
        return [job for job in self.jobs if self._is_due(job, local.time(), day)]

    def _is_due(self, job: Job, at: time, day: date) -> bool:
        if at < job.at or self.done.get(job.name) == day:
            return False
        return job.name in EVERY_DAY_JOBS or is_business_day(day, self.country)


@dataclass
class Tick:
    """What one turn of the scheduler did."""

    leading: bool
    ran: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def tick(
    schedule: Schedule, leadership: Leadership, now: datetime, today: date | None = None,
    on_job: Callable[[str, str], None] | None = None,
) -> Tick:  # fmt: skip
    """Lead if possible, then run every job due; a job that fails is tried again at the next tick."""
    if not leadership.try_to_lead():
        return Tick(leading=False)
    result = Tick(leading=True)
    day = today or schedule.local_now(now).date()
    for job in schedule.due(now, day):
        if not leadership.still_leading():  # lost between jobs (the connection dropped): the new leader goes on
            result.leading = False
            break
        if job.already_done(day):
            schedule.done[job.name] = day
            continue
        log.info("scheduler: %s for %s starting", job.name, day.isoformat())
        try:
            line = job.run(day)
        except Exception:  # logged and counted; the next tick tries again
            log.exception("scheduler: %s for %s failed", job.name, day.isoformat())
            result.failed.append(job.name)
            if on_job is not None:
                on_job(job.name, "failed")
            continue
        schedule.done[job.name] = day
        result.ran.append(job.name)
        log.info("scheduler: %s for %s done: %s", job.name, day.isoformat(), line)
        if on_job is not None:
            on_job(job.name, "done")
    return result


def job_times(configured: Mapping[str, time] | tuple[tuple[str, time], ...]) -> dict[str, time]:
    """Return the configured jobs' times as a mapping."""
    return dict(configured.items() if isinstance(configured, Mapping) else configured)
