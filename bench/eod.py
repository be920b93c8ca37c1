"""Benchmark: one business day of end of day over N loans, on SQLite (and PostgreSQL when given).

Set-up (not timed as end of day): board N loans and post one payment per loan, each import in a process of
its own whose time and peak memory (ru_maxrss) are printed; schedule 1% of the loans a payment and
give 2% of the escrowed ones a tax bill due on the measured day (PostgreSQL: then ANALYZE). Timed:
`run_business_day_in_ranges` (what `run_eod` runs: payments and fees, the accrual in loan id ranges of
100,000, the rest of the day, each in its own transaction) for the
day before (the first run, which charges the whole backlog of late fees and opens every
early-intervention task) and then for the measured day (a steady day: the scheduled payments,
the tax bills, the loans that passed their grace period that day), each with its outreach
(`queue_outreach`, the contact policy: reminders, past-due notices, early-intervention invitations,
confirmations of the payments received in the last 3 days; timed apart in the day's last transaction, at
23:00 in New York, when most borrowers' messages wait for their morning). Floor: one set-based SQL
UPDATE accruing interest and days past due over the same rows, measured in the same run and
rolled back. Goal: under 3 s for 100,000 loans, outreach included.

    .venv/bin/python bench/eod.py [--loans N] [--postgres URL] [--no-sqlite] [--keep NAME | --reuse NAME]
                                  [--profile FILE] [--statements N] [--connections N] [--vacuum]

PostgreSQL: `--keep NAME` boards the portfolio into database NAME and keeps it, prepared but with no day
run, then measures on a copy of it; `--reuse NAME` skips the set-up and measures on a fresh copy of NAME
(migrated to this tree's head first), so that two trees or two runs measure the same portfolio, and a
million loans need boarding once. `--profile FILE` writes a cProfile of the steady day; `--statements N`
prints the N SQL statements that took the most time in the steady day; `--connections N` accrues on N
PostgreSQL connections at once (end of day's default, LOANLINE_EOD_CONNECTIONS, is 2; 1 is the accrual as before);
`--vacuum` runs `VACUUM (ANALYZE)` between the two days, untimed, as autovacuum would between two nightly runs (this
machine's PostgreSQL runs with autovacuum off, so without it the steady day reads what the first day left dead).
"""

from __future__ import annotations

import argparse
import cProfile
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from time import perf_counter
from typing import Any
from zoneinfo import ZoneInfo

from measure import (
    Database,
    Figures,
    fresh_sqlite,
    header,
    import_in_child,
    load_average,
    postgres_database,
    postgres_schema,
    stopwatch,
    verdict,
)
from portfolio import TODAY, write_loan_file, write_payment_file
from sqlalchemy import Date, DateTime, bindparam, event, text

from servicing.eod import EOD_CONNECTIONS, DayResult, planned_for_end_of_day, run_business_day_in_ranges
from servicing.outreach.reminders import Outreach
from servicing.rules.contact import DEFAULT_RULES

GOAL_SECONDS = 3.0
DAY = TODAY  # a Friday, and the day every payment in the file was received by
FIRST_DAY = DAY - timedelta(days=1)

FLOOR_SQL = {
    "sqlite": """
        UPDATE loans SET
          accrued_interest = CAST(principal_balance * (annual_rate / 1e10)
                                  * (julianday(:day) - julianday(interest_paid_through)) / 365 AS INTEGER),
          days_past_due = CASE WHEN next_due_date < :day
                               THEN CAST(julianday(:day) - julianday(next_due_date) AS INTEGER) ELSE 0 END
        WHERE status = 'active'
    """,
    "postgresql": """
        UPDATE loans SET
          accrued_interest = (principal_balance::numeric * annual_rate / 1e10
                              * (CAST(:day AS date) - interest_paid_through) / 365)::bigint,
          days_past_due = CASE WHEN next_due_date < CAST(:day AS date)
                               THEN CAST(:day AS date) - next_due_date ELSE 0 END
        WHERE status = 'active'
    """,
}
SCHEDULE_SQL = """
    INSERT INTO scheduled_payments (loan_id, reference, amount, scheduled_for, bank_account_last4, status,
                                    created_at, created_via)
    SELECT id, 'SCHED-' || loan_number, monthly_payment, :day, '0000', 'scheduled', :now, 'bench'
    FROM loans WHERE id % 100 = 7 AND status = 'active'
"""
ESCROW_SQL = """
    INSERT INTO escrow_items (loan_id, kind, payee, amount, next_due_date, frequency_months)
    SELECT id, 'property_tax', 'County Treasurer', escrow_monthly * 6, :day, 12
    FROM loans WHERE escrow_monthly > 0 AND id % 50 = 3
"""


def prepare(db: Database, label: str, loans: int, folder: Path) -> dict[str, float]:
    """Board the portfolio, post its payments and add the day's scheduled payments and escrow bills.

    Boarding and posting each run in a process of their own, so that their peak memory is theirs alone.
    """
    loan_file = folder / "loans.csv"
    if not loan_file.exists():
        write_loan_file(loan_file, loans)
    boarded = import_in_child("loans", db.url, loan_file, TODAY)
    print(f"  {label} boarding: {boarded.imported:,} loans in {boarded.seconds:.1f} s "
          f"({boarded.imported / boarded.seconds:,.0f} rows/s), peak memory {boarded.peak_mb:,.0f} MB "
          f"(load average {load_average()})", flush=True)  # fmt: skip
    with db.sessions() as session:
        write_payment_file(folder / "payments.csv", session)
    posted = import_in_child("payments", db.url, folder / "payments.csv", TODAY)
    print(f"  {label} posting: {posted.imported:,} payments in {posted.seconds:.1f} s "
          f"({posted.imported / posted.seconds:,.0f} payments/s), peak memory {posted.peak_mb:,.0f} MB "
          f"(load average {load_average()})", flush=True)  # fmt: skip
    day, now = bindparam("day", type_=Date()), bindparam("now", type_=DateTime(timezone=True))
    with db.sessions() as session, session.begin():
        session.execute(text(SCHEDULE_SQL).bindparams(day, now), {"day": DAY, "now": datetime.now(UTC)})
        session.execute(text(ESCROW_SQL).bindparams(day), {"day": DAY})
        if db.engine.dialect.name == "postgresql":
            session.execute(text("ANALYZE"))
    return {
        f"{label}_boarding_s": round(boarded.seconds, 1),
        f"{label}_posting_s": round(posted.seconds, 1),
        f"{label}_boarding_peak_mb": round(boarded.peak_mb),
        f"{label}_posting_peak_mb": round(posted.peak_mb),
    }


def measure_days(db: Database, label: str, loans: int, *, profile: str | None = None, statements: int = 0,
                 connections: int = EOD_CONNECTIONS, vacuum: bool = False) -> dict[str, float]:  # fmt: skip
    """Time the first day, the floor (rolled back) and then the steady day; print and return the figures.

    With `vacuum` (PostgreSQL), `VACUUM (ANALYZE)` runs after the first day, untimed: what autovacuum does between
    two nightly runs on a production server (this machine's server runs with autovacuum off).
    """
    first, first_result = run_day(db, FIRST_DAY, connections)
    print(f"  {label} first day done in {first:.2f} s (load average {load_average()})", flush=True)
    dialect = db.engine.dialect.name
    if vacuum and dialect == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection, stopwatch() as took:
            connection.exec_driver_sql("VACUUM (ANALYZE)")
        print(f"  {label} VACUUM (ANALYZE) after the first day, untimed: {took():.1f} s", flush=True)
    with db.sessions() as session, session.begin():
        planned_for_end_of_day(session)  # as end of day runs its statements
        with stopwatch() as elapsed:
            session.execute(text(FLOOR_SQL[dialect]), {"day": DAY.isoformat()})
        floor = elapsed()
        session.rollback()
    with statement_times(db, statements) as timed, profiled(profile):
        seconds, result = run_day(db, DAY, connections)
    print_statements(label, timed, statements)
    print(f"  {label} floor: one set-based UPDATE over {loans:,} loans {floor:.3f} s "
          f"(load average {load_average()})")  # fmt: skip
    days = (("first run", FIRST_DAY, first, first_result), ("steady day", DAY, seconds, result))
    for name, day, took, done in days:
        outreach_s, reached = done.outreach_seconds, done.outreach
        assert reached is not None
        print(f"  {label} end of day {day} ({name}): {took:.2f} s ({verdict(took < GOAL_SECONDS)} of "
              f"{GOAL_SECONDS:.0f} s), {took / floor:.1f} x floor; of which outreach {outreach_s:.2f} s, "
              f"{outreach_s / floor:.1f} x floor")  # fmt: skip
        print(f"    accrued {done.loans_accrued:,}, late fees {done.late_fees:,}, scheduled posted "
              f"{done.scheduled_posted:,} (failed {done.scheduled_failed:,}), escrow paid "
              f"{done.escrow_disbursed:,}, escrow analyzed {done.escrow_analyzed:,}, early intervention "
              f"{done.early_intervention:,}")  # fmt: skip
        print(f"    outreach: {sum(reached.statuses.values()):,} decided ({dict(sorted(reached.statuses.items()))}), "
              f"by kind {dict(sorted(reached.kinds.items()))}")  # fmt: skip
    assert result.outreach is not None and first_result.outreach is not None
    return {f"{label}_floor_s": round(floor, 4), f"{label}_first_day_s": round(first, 3),
            f"{label}_eod_s": round(seconds, 3), f"{label}_ratio": round(seconds / floor, 1),
            f"{label}_outreach_s": round(result.outreach_seconds, 3),
            f"{label}_first_day_outreach_s": round(first_result.outreach_seconds, 3),
            f"{label}_outreach_decided": sum(result.outreach.statuses.values())}  # fmt: skip


@contextmanager
def profiled(path: str | None) -> Iterator[None]:
    """Write a cProfile of the block to `path` (when given)."""
    if path is None:
        yield
        return
    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        profile.dump_stats(path)


@contextmanager
def statement_times(db: Database, wanted: int) -> Iterator[dict[str, list[float]]]:
    """Collect each SQL statement's count and seconds in the block (when `wanted`), keyed by its text."""
    timed: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    if not wanted:
        yield timed
        return

    def before(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        conn.info.setdefault("bench_started", []).append(perf_counter())

    def after(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        entry = timed[" ".join(statement.split())]
        entry[0] += 1
        entry[1] += perf_counter() - conn.info["bench_started"].pop()

    event.listen(db.engine, "before_cursor_execute", before)
    event.listen(db.engine, "after_cursor_execute", after)
    try:
        yield timed
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
        event.remove(db.engine, "after_cursor_execute", after)


def print_statements(label: str, timed: dict[str, list[float]], wanted: int) -> None:
    """Print the statements that took the most time (not COPY or raw driver calls, which bypass the engine)."""
    ranked = sorted(timed.items(), key=lambda item: -item[1][1])[:wanted]
    for statement, (count, seconds) in ranked:
        print(f"    {label} SQL {seconds:7.3f} s {int(count):6,}x {statement[:300]}")


def run_day(db: Database, day: date, connections: int = EOD_CONNECTIONS) -> tuple[float, DayResult]:
    """Run end of day for one date with its outreach, as `run_eod` does (in loan id ranges); return the
    seconds it all took and what end of day did (the outreach's seconds and decisions among it)."""
    outreach = Outreach(DEFAULT_RULES, datetime.combine(day, time(23, 0), tzinfo=ZoneInfo("America/New_York")),
                        "Bench Servicing", "+1 800 555 0100")  # fmt: skip
    with stopwatch() as elapsed:
        result = run_business_day_in_ranges(db.sessions, day, "eod", outreach=outreach, connections=connections)
    assert result is not None
    return elapsed(), result


def run(loans: int, postgres: str | None, *, sqlite: bool = True, keep: str | None = None,
        reuse: str | None = None, profile: str | None = None, statements: int = 0,
        connections: int = EOD_CONNECTIONS, vacuum: bool = False) -> Figures:  # fmt: skip
    """Run the benchmark on SQLite (unless told not to), then on PostgreSQL when a URL is given (on a kept or
    reused portfolio when told)."""
    figures = Figures("eod")
    how: dict[str, Any] = {"profile": profile, "statements": statements, "connections": connections, "vacuum": vacuum}
    with tempfile.TemporaryDirectory(prefix="loanline-bench-") as name:
        folder = Path(name)
        if sqlite:
            db = fresh_sqlite(folder)
            try:
                figures.values.update(prepare(db, "sqlite", loans, folder))
                figures.values.update(measure_days(db, "sqlite", loans, **how))
            finally:
                db.engine.dispose()
            (folder / "loanline.db").unlink()
        if postgres and (keep or reuse):
            template = keep or reuse
            assert template is not None
            if keep:
                with postgres_database(postgres, keep, drop=False) as pg:
                    figures.values.update(prepare(pg, "postgresql", loans, folder))
            with postgres_database(postgres, f"{template}_run", template=template) as pg:
                with pg.engine.begin() as connection:
                    connection.exec_driver_sql("ANALYZE")
                measured = measure_days(pg, "postgresql", loans, **how)
                figures.values.update(measured)
        elif postgres:
            with postgres_schema(postgres) as pg:
                figures.values.update(prepare(pg, "postgresql", loans, folder))
                measured = measure_days(pg, "postgresql", loans, **how)
                figures.values.update(measured)
    figures.values["load_average"] = load_average()
    return figures


def main() -> None:
    """Parse the options and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loans", type=int, default=100_000, help="loans in the portfolio (default 100000)")
    parser.add_argument("--postgres", metavar="URL", help="also run on this PostgreSQL database (own schema)")
    parser.add_argument("--no-sqlite", action="store_true", help="run on PostgreSQL only")
    parser.add_argument("--keep", metavar="NAME", help="PostgreSQL: board into database NAME and keep it")
    parser.add_argument("--reuse", metavar="NAME", help="PostgreSQL: measure on a copy of database NAME, kept before")
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the steady day to FILE")
    parser.add_argument("--statements", type=int, default=0, metavar="N", help="print the steady day's N slowest SQL")
    parser.add_argument("--vacuum", action="store_true", help="PostgreSQL: VACUUM (ANALYZE) between the two days")
    parser.add_argument(
        "--connections",
        type=int,
        default=EOD_CONNECTIONS,
        metavar="N",
        help=f"PostgreSQL: accrue on N connections at once (default {EOD_CONNECTIONS}, as end of day)",
    )
    args = parser.parse_args()
    if args.keep and args.reuse:
        parser.error("--keep and --reuse exclude each other")
    header("eod", args.loans)
    options = {
        "keep": args.keep,
        "reuse": args.reuse,
        "profile": args.profile,
        "statements": args.statements,
        "connections": args.connections,
        "vacuum": args.vacuum,
    }
    run(args.loans, args.postgres, sqlite=not args.no_sqlite, **options).finish()


if __name__ == "__main__":
    main()
