"""Benchmark: one business day of end of day over N loans, on SQLite (and PostgreSQL when given).

Set-up (not timed): board N loans, post one payment per loan, schedule 1% of them a payment and
give 2% of the escrowed ones a tax bill due on the measured day. Timed: `run_business_day` for the
day before (the first run, which charges the whole backlog of late fees and opens every
early-intervention task) and then for the measured day (a steady day: the scheduled payments,
the tax bills, the loans that passed their grace period that day), each with its outreach
(`queue_outreach`, the contact policy: reminders, past-due notices, early-intervention invitations,
confirmations of the payments received in the last 3 days; timed apart in the same transaction, at
23:00 in New York, when most borrowers' messages wait for their morning). Floor: one set-based SQL
UPDATE accruing interest and days past due over the same rows, measured in the same run and
rolled back. Goal: under 3 s for 100,000 loans, outreach included.

    .venv/bin/python bench/eod.py [--loans N] [--postgres URL]
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from measure import SECRET, Database, Figures, fresh_sqlite, header, postgres_schema, stopwatch, verdict
from portfolio import TODAY, write_loan_file, write_payment_file
from sqlalchemy import Date, DateTime, bindparam, text

from servicing.eod import DayResult, run_business_day
from servicing.importing import import_loans, import_payments
from servicing.outreach.reminders import Outreach, OutreachResult, queue_outreach
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


def prepare(db: Database, loans: int, folder: Path) -> None:
    """Board the portfolio, post its payments and add the day's scheduled payments and escrow bills."""
    loan_file = write_loan_file(folder / "loans.csv", loans)
    with stopwatch() as elapsed:
        import_loans(db.sessions, loan_file, secret=SECRET, today=TODAY, actor="bench")
        with db.sessions() as session:
            write_payment_file(folder / "payments.csv", session)
        import_payments(db.sessions, folder / "payments.csv", today=TODAY, actor="bench")
    day, now = bindparam("day", type_=Date()), bindparam("now", type_=DateTime(timezone=True))
    with db.sessions() as session, session.begin():
        session.execute(text(SCHEDULE_SQL).bindparams(day, now), {"day": DAY, "now": datetime.now(UTC)})
        session.execute(text(ESCROW_SQL).bindparams(day), {"day": DAY})
    print(f"  set-up (board, post, schedule): {elapsed():.1f} s")


def measure_days(db: Database, label: str, loans: int) -> dict[str, float]:
    """Time the first day, the floor (rolled back) and then the steady day; print and return the figures."""
    first, first_reach, first_result = run_day(db, FIRST_DAY)
    dialect = db.engine.dialect.name
    with db.sessions() as session, session.begin():
        with stopwatch() as elapsed:
            session.execute(text(FLOOR_SQL[dialect]), {"day": DAY.isoformat()})
        floor = elapsed()
        session.rollback()
    seconds, reach, result = run_day(db, DAY)
    print(f"  {label} floor: one set-based UPDATE over {loans:,} loans {floor:.3f} s")
    days = (("first run", FIRST_DAY, first, first_reach, first_result), ("steady day", DAY, seconds, reach, result))
    for name, day, took, (outreach_s, reached), done in days:
        print(f"  {label} end of day {day} ({name}): {took:.2f} s ({verdict(took < GOAL_SECONDS)} of "
              f"{GOAL_SECONDS:.0f} s), {took / floor:.1f} x floor; of which outreach {outreach_s:.2f} s, "
              f"{outreach_s / floor:.1f} x floor")  # fmt: skip
        print(f"    accrued {done.loans_accrued:,}, late fees {done.late_fees:,}, scheduled posted "
              f"{done.scheduled_posted:,} (failed {done.scheduled_failed:,}), escrow paid "
              f"{done.escrow_disbursed:,}, escrow analyzed {done.escrow_analyzed:,}, early intervention "
              f"{done.early_intervention:,}")  # fmt: skip
        print(f"    outreach: {sum(reached.statuses.values()):,} decided ({dict(sorted(reached.statuses.items()))}), "
              f"by kind {dict(sorted(reached.kinds.items()))}")  # fmt: skip
    return {f"{label}_floor_s": round(floor, 4), f"{label}_first_day_s": round(first, 3),
            f"{label}_eod_s": round(seconds, 3), f"{label}_ratio": round(seconds / floor, 1),
            f"{label}_outreach_s": round(reach[0], 3), f"{label}_first_day_outreach_s": round(first_reach[0], 3),
            f"{label}_outreach_decided": sum(reach[1].statuses.values())}  # fmt: skip


def run_day(db: Database, day: date) -> tuple[float, tuple[float, OutreachResult], DayResult]:
    """Run end of day for one date and its outreach in one transaction; return the seconds it all took, the
    seconds and result of the outreach alone, and what end of day did."""
    outreach = Outreach(DEFAULT_RULES, datetime.combine(day, time(23, 0), tzinfo=ZoneInfo("America/New_York")),
                        "Bench Servicing", "+1 800 555 0100")  # fmt: skip
    with db.sessions() as session, session.begin(), stopwatch() as elapsed:
        result = run_business_day(session, day, "eod")
        with stopwatch() as outreach_elapsed:
            reached = queue_outreach(session, day, outreach)
        outreach_s = outreach_elapsed()
    return elapsed(), (outreach_s, reached), result


def run(loans: int, postgres: str | None) -> Figures:
    """Run the benchmark on SQLite, then on PostgreSQL when a URL is given."""
    figures = Figures("eod")
    with tempfile.TemporaryDirectory(prefix="loanline-bench-") as name:
        folder = Path(name)
        db = fresh_sqlite(folder)
        try:
            prepare(db, loans, folder)
            figures.values.update(measure_days(db, "sqlite", loans))
        finally:
            db.engine.dispose()
        if postgres:
            with postgres_schema(postgres) as pg:
                prepare(pg, loans, folder)
                figures.values.update(measure_days(pg, "postgresql", loans))
    return figures


def main() -> None:
    """Parse the options and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loans", type=int, default=100_000, help="loans in the portfolio (default 100000)")
    parser.add_argument("--postgres", metavar="URL", help="also run on this PostgreSQL database (own schema)")
    args = parser.parse_args()
    header("eod", args.loans)
    run(args.loans, args.postgres).finish()


if __name__ == "__main__":
    main()
