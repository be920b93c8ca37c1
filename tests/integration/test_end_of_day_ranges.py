"""End of day in loan id ranges: a date stopped midway is resumed, and ends as one uninterrupted run would."""

from __future__ import annotations

import gc
import shutil
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from servicing import eod
from servicing.config import Settings
from servicing.eod import EOD_CONNECTIONS, accrue_ranges, run_business_day_in_ranges, run_eod
from servicing.errors import InvalidInput
from servicing.store.accounts import business_date
from servicing.store.db import make_engine, make_session_factory
from servicing.store.models import BusinessDay, Fee, LedgerEntry, Loan
from tests.integration.helpers import board

BEFORE = date(2026, 2, 16)  # the last day of grace of the installment due 2026-02-01 (a holiday)
LAST_RUN = date(2026, 2, 13)  # the business date before DAY
DAY = date(2026, 2, 17)  # the day each loan's late fee is charged
LOANS = 7


class Stopped(Exception):
    """Stands for the process dying between two committed ranges."""


def portfolio(sessions: sessionmaker[Session]) -> None:
    """Seven mortgages, none paid, run through the day before their late fee."""
    with sessions.begin() as session:
        for _ in range(LOANS):
            board(session)
    run_eod(sessions, BEFORE, country="US")


def outcome(sessions: sessionmaker[Session]) -> dict[str, Any]:
    """What the day left, loan by loan in boarding order (the two databases' loan numbers differ)."""
    with sessions() as session:
        loans = session.execute(
            select(Loan.accrued_interest, Loan.days_past_due, Loan.fees_balance).order_by(Loan.id)
        ).all()
        fees = session.execute(select(Fee.amount, Fee.assessed_on).order_by(Fee.loan_id, Fee.seq)).all()
        return {
            "loans": [tuple(row) for row in loans],
            "fees": [tuple(row) for row in fees],
            "ledger": session.scalar(select(func.count()).select_from(LedgerEntry)),
            "business_date": business_date(session),
        }


@pytest.fixture
def uninterrupted(tmp_path: Path, migrated_sqlite: Path) -> dict[str, Any]:
    """The same portfolio's day run in one go, on a database of its own."""
    path = tmp_path / "twin.db"
    shutil.copyfile(migrated_sqlite, path)
    engine = make_engine(f"sqlite:///{path}")
    sessions = make_session_factory(engine)
    portfolio(sessions)
    run_eod(sessions, DAY, country="US")
    result = outcome(sessions)
    engine.dispose()
    return result


def test_a_day_stopped_between_two_accrual_ranges_is_resumed_and_charges_and_accrues_nothing_twice(
    sessions: sessionmaker[Session], uninterrupted: dict[str, Any]
) -> None:
    portfolio(sessions)
    ranges: list[tuple[int, int]] = []

    def stop_after_the_second(first_id: int, accrued: int) -> None:
        ranges.append((first_id, accrued))
        if len(ranges) == 2:
            raise Stopped

    with pytest.raises(Stopped):
        run_business_day_in_ranges(sessions, DAY, "eod", range_size=2, on_range=stop_after_the_second)
    with sessions() as session:
        marker = session.get(BusinessDay, DAY)
        assert marker is not None and marker.finished_at is None, "the date is started, not finished"
        assert business_date(session) == LAST_RUN, "the business date moves only when the day finishes"
        assert session.scalar(select(func.count()).select_from(Fee)) == LOANS, "the day's fees committed"

    report = run_eod(sessions, DAY, country="US")  # what the next scheduler run does

    assert [day.business_date for day in report.days] == [DAY]
    assert report.days[0].late_fees == 0, "the fees committed before the stop are not charged again"
    assert report.days[0].loans_accrued == LOANS
    assert outcome(sessions) == uninterrupted
    assert uninterrupted["business_date"] == DAY and len(uninterrupted["fees"]) == LOANS


def test_each_accrual_range_is_committed_on_its_own(sessions: sessionmaker[Session]) -> None:
    portfolio(sessions)
    seen: list[tuple[int, int]] = []

    def look(first_id: int, accrued: int) -> None:
        with sessions() as other:  # another connection sees each range as soon as it is committed
            days = other.scalars(select(Loan.days_past_due).where(Loan.id >= first_id).order_by(Loan.id)).all()
        seen.append((accrued, days[0]))

    result = run_business_day_in_ranges(sessions, DAY, "eod", range_size=3, on_range=look)

    assert result is not None and result.loans_accrued == LOANS
    assert [accrued for accrued, _ in seen] == [3, 3, 1]
    assert [days for _, days in seen] == [16, 16, 16], "each range's loans are aged to the day once committed"
    assert run_business_day_in_ranges(sessions, DAY, "eod") is None, "a finished date is not run again"


def test_the_garbage_collector_is_held_during_a_day_and_given_back_after_it_even_when_the_day_stops(
    sessions: sessionmaker[Session],
) -> None:
    portfolio(sessions)
    collecting: list[bool] = []

    def stop_at_the_first(first_id: int, accrued: int) -> None:
        collecting.append(gc.isenabled())
        raise Stopped

    assert gc.isenabled()
    with pytest.raises(Stopped):
        run_business_day_in_ranges(sessions, DAY, "eod", range_size=3, on_range=stop_at_the_first)
    assert collecting == [False], "held while the day runs"
    assert gc.isenabled(), "given back when the day stopped"
    assert run_business_day_in_ranges(sessions, DAY, "eod", range_size=3) is not None
    assert gc.isenabled(), "given back when the day finished"


def test_a_caller_that_held_the_garbage_collector_still_holds_it_after_a_day(sessions: sessionmaker[Session]) -> None:
    portfolio(sessions)
    gc.disable()
    try:
        assert run_business_day_in_ranges(sessions, DAY, "eod") is not None
        assert not gc.isenabled()
    finally:
        gc.enable()


def _held_range(sessions: sessionmaker[Session], connections: int) -> tuple[list[int], list[int], list[int]]:
    """Accrue two ranges while another transaction holds a row lock on the first range's first loan; return the
    days past due of the second range's loans before, and seen while the lock was held, and every loan's after."""
    with sessions() as session:
        ids = [*session.scalars(select(Loan.id).order_by(Loan.id))]
        second = select(Loan.days_past_due).where(Loan.id >= ids[3]).order_by(Loan.id)
        before = [*session.scalars(second)]
    failures: list[BaseException] = []

    def accrue() -> None:
        try:
            accrue_ranges(sessions, DAY, [(ids[0], ids[3]), (ids[3], None)], connections)
        except BaseException as error:
            failures.append(error)

    with sessions() as holder, holder.begin():
        holder.scalar(select(Loan.id).where(Loan.id == ids[0]).with_for_update())
        accrual = threading.Thread(target=accrue)
        accrual.start()
        deadline = time.monotonic() + (10 if connections > 1 else 1.5)  # one connection: long enough to see it wait
        while True:
            with sessions() as other:
                meanwhile = [*other.scalars(second)]
            if meanwhile != before or time.monotonic() > deadline:
                break
            time.sleep(0.05)
    accrual.join(timeout=30)
    assert not accrual.is_alive() and failures == []
    with sessions() as other:
        after = [*other.scalars(select(Loan.days_past_due).order_by(Loan.id))]
    return before, meanwhile, after


def test_on_postgresql_accrual_ranges_run_on_two_connections_at_once(sessions: sessionmaker[Session]) -> None:
    if sessions.kw["bind"].dialect.name != "postgresql":
        pytest.skip("SQLite has one writer: its ranges run one at a time")
    portfolio(sessions)

    before, meanwhile, after = _held_range(sessions, connections=2)

    assert before != meanwhile
    assert meanwhile == [16] * (LOANS - 3), "the second range committed while the first waited"
    assert after == [16] * LOANS, "then the first range finished too"


def test_on_one_connection_accrual_ranges_run_one_after_the_other(sessions: sessionmaker[Session]) -> None:
    if sessions.kw["bind"].dialect.name != "postgresql":
        pytest.skip("a row lock held by another transaction is a PostgreSQL matter")
    portfolio(sessions)

    before, meanwhile, after = _held_range(sessions, connections=1)

    assert meanwhile == before, "the second range waits for the first"
    assert after == [16] * LOANS


def test_a_failed_accrual_range_is_raised_and_no_range_is_reported_after_it(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    portfolio(sessions)
    with sessions() as session:
        ids = [*session.scalars(select(Loan.id).order_by(Loan.id))]
    ranges = [(loan_id, loan_id + 1) for loan_id in ids[:-1]] + [(ids[-1], None)]
    accrue = eod.accrue_and_age

    def fail_on_the_third(session: Session, day: date, span: tuple[int, int | None] | None = None) -> int:
        if span is not None and span[0] == ids[2]:
            raise Stopped
        return accrue(session, day, span)

    monkeypatch.setattr(eod, "accrue_and_age", fail_on_the_third)
    reported: list[int] = []
    with pytest.raises(Stopped):
        accrue_ranges(sessions, DAY, ranges, 2, lambda first, _loans: reported.append(first))
    assert reported == ids[:2], "the ranges before the failed one, in order, and none after it"
    monkeypatch.setattr(eod, "accrue_and_age", accrue)
    assert accrue_ranges(sessions, DAY, ranges, 2) == LOANS, "run again, every range is accrued"


@pytest.mark.parametrize(("given", "connections"), [(None, EOD_CONNECTIONS), ("4", 4), ("1", 1)])
def test_the_accrual_takes_its_connections_from_loanline_eod_connections(
    tmp_path: Path, given: str | None, connections: int
) -> None:
    environ = {"LOANLINE_INSTANCE_PATH": str(tmp_path), **({"LOANLINE_EOD_CONNECTIONS": given} if given else {})}
    assert Settings.from_env(environ).eod_connections == connections


@pytest.mark.parametrize("given", ["0", "two", "9"])
def test_a_wrong_number_of_eod_connections_is_refused_by_name(tmp_path: Path, given: str) -> None:
    with pytest.raises(InvalidInput, match="LOANLINE_EOD_CONNECTIONS"):
        Settings.from_env({"LOANLINE_INSTANCE_PATH": str(tmp_path), "LOANLINE_EOD_CONNECTIONS": given})
