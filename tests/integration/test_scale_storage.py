"""Storage at scale (migration 0020): end of day's accrual is a heap-only update on PostgreSQL, and the indexes
docs/performance.md listed exist on both dialects."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from servicing.boarding import board_loans, parse_loan_row
from servicing.eod import accrue_and_age, planned_for_end_of_day
from servicing.store.bulk import among
from servicing.store.models import Loan
from tests.conftest import SECRET
from tests.integration.helpers import MORTGAGE_ROW

LOANS = 400
NEW_INDEXES = {
    "payments": "ix_payments_loan_posted", "scheduled_payments": "ix_scheduled_payments_due",
    "cases": "ix_cases_loan_kind_delinquency", "case_deadlines": "ix_case_deadlines_open",
    "workouts": "ix_workouts_active", "fees": "ix_fees_outstanding", "loans": "ix_loans_active_due",
}  # fmt: skip
LATER_INDEXES = {"payments": "ix_payments_posted_received"}  # migration 0026: outreach's confirmation window


def board_many(sessions: sessionmaker[Session], count: int) -> None:
    rows = [(n, parse_loan_row({**MORTGAGE_ROW, "loan_number": f"HOT-{n}", "phone": f"+1555{n:07d}"}))
            for n in range(1, count + 1)]  # fmt: skip
    with sessions.begin() as session:
        report = board_loans(session, rows, secret=SECRET, boarded_on=date(2026, 1, 1), actor="test")
        assert len(report.boarded) == count


def updates_of_loans(session: Session) -> tuple[int, int]:
    """Return (updates, heap-only updates) of the loans table in this transaction."""
    row = session.execute(text("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables "
                               "WHERE relname = 'loans' AND schemaname = current_schema()")).one()  # fmt: skip
    return int(row[0]), int(row[1])


def test_the_indexes_for_a_million_loans_exist(engine: Engine) -> None:
    inspector = inspect(engine)
    for table, index in [*NEW_INDEXES.items(), *LATER_INDEXES.items()]:
        assert index in {found["name"] for found in inspector.get_indexes(table)}, (table, index)


@pytest.mark.postgres
def test_the_daily_accrual_rewrites_no_index_entry_day_after_day(
    database_url: str, sessions: sessionmaker[Session]
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("heap-only updates are PostgreSQL's")
    board_many(sessions, LOANS)
    with sessions() as session:
        options = session.scalar(text("SELECT reloptions FROM pg_class WHERE oid = 'loans'::regclass"))
    assert "fillfactor=50" in (options or [])
    for day in (date(2026, 2, 2), date(2026, 2, 3), date(2026, 2, 4)):
        with sessions.begin() as session:
            before = updates_of_loans(session)
            assert accrue_and_age(session, day) == LOANS
            after = updates_of_loans(session)
        updated, heap_only = after[0] - before[0], after[1] - before[1]
        assert updated == LOANS
        # The first day always fits in the half of each page the fill factor keeps free. Later days fit as the page
        # is pruned of the day before's versions, which another test's open transaction (the suite runs in
        # parallel on one server) may hold back for a while: then a share goes to other pages, as it would in
        # production while a long report runs.
        if day == date(2026, 2, 2):
            assert heap_only == LOANS, f"{day}: {heap_only} of {updated} updates were heap-only"


def test_a_chunk_of_values_selects_the_same_rows_as_an_in_list(sessions: sessionmaker[Session]) -> None:
    board_many(sessions, 30)
    with sessions() as session:
        numbers = [f"HOT-{n}" for n in (3, 7, 11, 12, 29, 99)]
        expected = set(session.scalars(select(Loan.id).where(Loan.loan_number.in_(numbers))))
        found = set(session.scalars(select(Loan.id).where(among(session, Loan.loan_number, numbers))))
        assert found == expected and len(found) == 5
        assert set(session.scalars(select(Loan.loan_number).where(among(session, Loan.id, sorted(found))))) == set(
            numbers[:5]
        )
        assert session.scalars(select(Loan.id).where(among(session, Loan.id, []))).all() == []
        # ids (PostgreSQL: written as one array's text) in any order, with one that no loan has
        unsorted = [10**9, *sorted(found, reverse=True)]
        assert set(session.scalars(select(Loan.id).where(among(session, Loan.id, unsorted)))) == found


@pytest.mark.postgres
def test_a_chunk_of_ids_reaches_the_planner_as_an_array_constant(
    database_url: str, sessions: sessionmaker[Session]
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("arrays are PostgreSQL's")
    board_many(sessions, 3)
    with sessions() as session:
        ids = sorted(session.scalars(select(Loan.id)))
        query = select(Loan.id).where(among(session, Loan.id, ids)).order_by(Loan.id)
        compiled = query.compile(session.get_bind())
        plan = "\n".join(session.connection().exec_driver_sql(f"EXPLAIN {compiled}", compiled.params).scalars())
        # a constant is read once; an array cast at run time (from text) is not folded, and a plan that filters
        # with it reads it again for every row (33 s for three chunks of 5,000 at 200,000 loans)
        assert "'{" + ",".join(map(str, ids)) + "}'::integer[]" in plan, plan
        assert session.scalars(query).all() == ids


@pytest.mark.postgres
def test_end_of_day_compiles_no_statement_just_in_time_and_keeps_no_plan_of_an_earlier_day(
    database_url: str, sessions: sessionmaker[Session]
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("JIT compilation and plan caching are PostgreSQL's")
    with sessions.begin() as other:  # empty and analyzed, as contact_decisions when a portfolio is boarded
        other.execute(text("CREATE TABLE kept_keys (key varchar(80) PRIMARY KEY)"))
        other.execute(text("ANALYZE kept_keys"))
    with sessions() as session:
        server_default = session.scalar(text("SHOW jit"))
        session.execute(text("SET plan_cache_mode = force_generic_plan"))  # one plan for any values, as psycopg's
        session.execute(text("PREPARE kept (varchar[]) AS SELECT key FROM kept_keys WHERE key = ANY ($1)"))
        plan = text("EXPLAIN EXECUTE kept ('{k1,k2}')")
        assert "Seq Scan" in "\n".join(session.scalars(plan)), "planned on an empty table: read it whole"
        session.commit()
        with sessions.begin() as other:  # another connection fills the table, as the first day's outreach does
            other.execute(text("INSERT INTO kept_keys SELECT 'k' || n FROM generate_series(1, 50000) AS n"))
        assert "Seq Scan" in "\n".join(session.scalars(plan)), "the plan is kept, whatever the table holds now"
        session.commit()
        with session.begin():
            planned_for_end_of_day(session)
            assert session.scalar(text("SHOW jit")) == "off"
            assert "Index" in "\n".join(session.scalars(plan)), "planned again, for the table as it is"
    with sessions() as session:
        assert session.scalar(text("SHOW jit")) == server_default  # for end of day's transactions only
