"""`loanline scheduler`: one leader among several, end of day once per business date even when the leader is
SIGKILLed midway, on SQLite and PostgreSQL (docs/operations.md, "The scheduler")."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, make_url, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from servicing.eod import run_eod
from servicing.operations.scheduler import AdvisoryLock, FileLock, leadership_for
from servicing.store.db import make_engine, make_session_factory
from servicing.store.models import BusinessDay, Fee, LedgerEntry
from tests.conftest import SECRET
from tests.integration.helpers import board

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 3, 20)  # a Friday
BOARDED = date(2025, 11, 1)


def board_portfolio(sessions: sessionmaker[Session]) -> None:
    """Five mortgages originated in October 2025; nobody pays, so every month brings late fees."""
    with sessions.begin() as session:
        for number in range(5):
            board(session, boarded_on=BOARDED, loan_number=f"SCH-{number}", origination_date="2025-10-10",
                  first_payment_date="2025-12-01", escrow_monthly="0.00", escrow_balance="0.00")  # fmt: skip


@dataclass
class Scheduler:
    """A `loanline scheduler` process and the file its log goes to."""

    process: subprocess.Popen[bytes]
    log: Path

    def lines(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.startswith("{")]

    def said(self, words: str) -> bool:
        return any(words in str(line.get("message")) for line in self.lines())


@contextmanager
def schedulers(database_url: str, folder: Path, count: int) -> Iterator[list[Scheduler]]:
    """Start `count` schedulers on one database, end of day due at once (00:00) on TODAY."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LOANLINE_DATABASE_URL": database_url,
           "LOANLINE_SECRET_KEY": SECRET, "LOANLINE_INSTANCE_PATH": str(folder / "instance"),
           "LOANLINE_TODAY": TODAY.isoformat(), "LOANLINE_SCHEDULE": "eod=00:00",
           "LOANLINE_LOG_FORMAT": "json"}  # fmt: skip
    started = []
    try:
        for number in range(count):
            log = folder / f"scheduler-{number}.log"
            with log.open("w") as stderr:
                process = subprocess.Popen([sys.executable, "-m", "loanline", "scheduler", "--tick", "0.3"],
                                           env=env, stdout=subprocess.DEVNULL, stderr=stderr, cwd=ROOT)  # fmt: skip
            started.append(Scheduler(process, log))
        yield started
    finally:
        for scheduler in started:
            if scheduler.process.poll() is None:
                scheduler.process.terminate()
                try:
                    scheduler.process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    scheduler.process.kill()
                    scheduler.process.wait()


def wait_for(condition: Callable[[], bool], what: str, watched: list[Scheduler], seconds: float = 240) -> None:
    """Wait until `condition` holds; fail at once when a scheduler that was not killed exits."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        for scheduler in watched:
            if scheduler.process.poll() not in (None, -signal.SIGKILL):
                raise AssertionError(f"a scheduler exited: {scheduler.log.read_text()[-3000:]}")
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def days_run(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(BusinessDay)) or 0)


def outcome(sessions: sessionmaker[Session]) -> tuple[int, int, int, list[date]]:
    """What end of day left: business dates, fees, ledger lines and the dates in order."""
    with sessions() as session:
        dates = list(session.scalars(select(BusinessDay.business_date).order_by(BusinessDay.business_date)))
        fees = session.scalar(select(func.count()).select_from(Fee)) or 0
        lines = session.scalar(select(func.count()).select_from(LedgerEntry)) or 0
    return len(dates), fees, lines, dates


@pytest.fixture
def reference(tmp_path: Path, migrated_sqlite: Path) -> tuple[int, int, int, list[date]]:
    """The same portfolio's end of day run once, in this process, on a database of its own."""
    path = tmp_path / "reference.db"
    shutil.copyfile(migrated_sqlite, path)
    engine = make_engine(f"sqlite:///{path}")
    sessions = make_session_factory(engine)
    board_portfolio(sessions)
    run_eod(sessions, TODAY, country="US")
    result = outcome(sessions)
    engine.dispose()
    return result


def test_two_schedulers_one_leads_and_end_of_day_runs_each_business_date_once(
    database_url: str, engine: Engine, sessions: sessionmaker[Session], tmp_path: Path,
    reference: tuple[int, int, int, list[date]],
) -> None:  # fmt: skip
    board_portfolio(sessions)
    with schedulers(database_url, tmp_path, 2) as pair:
        wait_for(lambda: days_run(engine) == len(reference[3]), "end of day through today", pair)
        wait_for(lambda: any(s.said("eod for 2026-03-20 done") for s in pair), "the leader's report", pair)
        leaders = [s for s in pair if s.said("scheduler: leading")]
        # a leader may also have stood by for a moment while the other held the lock at start
        standbys = [s for s in pair if s.said("standing by") and not s.said("scheduler: leading")]
    assert len(leaders) == 1 and len(standbys) == 1
    assert not standbys[0].said("eod for")
    assert outcome(sessions) == reference
    assert reference[3][-1] == TODAY and reference[1] > 0


def test_a_leader_killed_midway_through_end_of_day_is_replaced_and_no_date_runs_twice(
    database_url: str, engine: Engine, sessions: sessionmaker[Session], tmp_path: Path,
    reference: tuple[int, int, int, list[date]],
) -> None:  # fmt: skip
    board_portfolio(sessions)
    total = len(reference[3])
    with schedulers(database_url, tmp_path, 2) as pair:
        wait_for(lambda: any(s.said("eod for") and s.said("starting") for s in pair), "end of day to start", pair)
        wait_for(lambda: days_run(engine) >= 5, "a few business dates", pair)
        [leader] = [s for s in pair if s.said("starting")]
        [standby] = [s for s in pair if s is not leader]
        killed_at = days_run(engine)
        leader.process.send_signal(signal.SIGKILL)
        leader.process.wait(timeout=30)
        assert killed_at < total, "the leader finished before it could be killed: board more loans"
        wait_for(lambda: standby.said("scheduler: leading"), "the standby to lead", pair)
        wait_for(lambda: days_run(engine) == total, "end of day through today", pair)
        wait_for(lambda: standby.said("eod for 2026-03-20 done"), "the new leader's report", pair)
    assert outcome(sessions) == reference


def test_only_one_file_lock_is_held_and_a_closed_holder_frees_it(tmp_path: Path) -> None:
    first, second = FileLock(tmp_path / "db.scheduler.lock"), FileLock(tmp_path / "db.scheduler.lock")
    assert first.try_to_lead() and not second.try_to_lead()
    first.step_down()
    assert second.try_to_lead() and second.still_leading()
    second.step_down()


@pytest.mark.postgres
def test_the_advisory_lock_has_one_holder_and_is_lost_with_its_connection(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's advisory lock")
    engines = [make_engine(database_url), make_engine(database_url)]
    first, second = AdvisoryLock(engines[0]), AdvisoryLock(engines[1])
    try:
        assert first.try_to_lead() and not second.try_to_lead()
        assert first.connection is not None
        pid = first.connection.scalar(text("SELECT pg_backend_pid()"))
        first.connection.commit()
        with engines[1].connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            admin.commit()
        assert not first.still_leading()
        assert second.try_to_lead()
        assert not first.try_to_lead()
    finally:
        first.step_down()
        second.step_down()
        for each in engines:
            each.dispose()


@pytest.mark.postgres
def test_two_installations_in_two_schemas_of_one_database_each_have_their_own_leader(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's advisory lock")
    schema = "another_installation"
    here = make_engine(database_url)
    with here.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    elsewhere = make_url(database_url).update_query_dict({"options": f"-csearch_path={schema}"})
    there = make_engine(elsewhere.render_as_string(hide_password=False))
    ours, theirs, ours_again = AdvisoryLock(here), AdvisoryLock(there), AdvisoryLock(here)
    try:
        assert ours.try_to_lead() and theirs.try_to_lead(), "each installation leads its own"
        assert ours.still_leading() and theirs.still_leading()
        assert not ours_again.try_to_lead(), "a second scheduler of the same installation stands by"
    finally:
        for each in (ours, theirs, ours_again):
            each.step_down()
        there.dispose()
        with here.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        here.dispose()


def test_an_in_memory_database_cannot_have_a_scheduler() -> None:
    with pytest.raises(ValueError, match="in-memory"):
        leadership_for(make_engine("sqlite://"))
