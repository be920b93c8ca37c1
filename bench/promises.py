"""Benchmark: end of day's promises-to-pay step over N loans, 4% of them holding an open promise.

Set-up (not timed): the end-of-day benchmark's portfolio (board N loans, post one payment each), then two
sets of open promises made 40 days before the measured day: on every 50th loan, for its monthly payment,
due 20 days before the measured day (so that on it each is reached, or past its last day); and on as many
other loans, for three monthly payments, due 10 days after it (watched every day, never changing here).
Timed, after one run rolled back (so that the process has compiled its statements, as end of day's has
after its first day): `resolve_promises` on the measured day, when the first set is resolved at once
(kept, or broken with a follow-up task), then again on the same day: a steady day, the second set summed
and nothing changed. Floor: one SELECT summing the posted payments of the loans holding a promise,
measured in the same run.

    .venv/bin/python bench/promises.py [--loans N] [--postgres URL]
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from eod import DAY, prepare
from measure import Database, Figures, fresh_sqlite, header, postgres_schema, stopwatch
from sqlalchemy import Date, DateTime, bindparam, text

from servicing.outreach.promises import resolve_promises

PROMISES_SQL = """
    INSERT INTO promises (loan_id, amount, promised_for, made_on, made_at, made_by, channel, status, paid)
    SELECT id, monthly_payment * :times, :promised_for, :made_on, :now, 'bench', 'sms', 'open', 0
    FROM loans WHERE id % 50 = :which AND status = 'active'
"""
FLOOR_SQL = """
    SELECT count(*), sum(payments.amount) FROM promises JOIN payments ON payments.loan_id = promises.loan_id
    WHERE promises.status = 'open' AND payments.status = 'posted'
"""


def add_promises(db: Database) -> None:
    """Give every 50th loan a promise resolved on the measured day, and as many others one still open after it."""
    binds = (bindparam("promised_for", type_=Date()), bindparam("made_on", type_=Date()),
             bindparam("now", type_=DateTime(timezone=True)))  # fmt: skip
    made_on, now = DAY - timedelta(days=40), datetime.now(UTC)
    with db.sessions() as session, session.begin():
        for which, times, promised_for in ((1, 1, DAY - timedelta(days=20)), (26, 3, DAY + timedelta(days=10))):
            session.execute(text(PROMISES_SQL).bindparams(*binds), {"which": which, "times": times,
                            "promised_for": promised_for, "made_on": made_on, "now": now})  # fmt: skip


def measure(db: Database, label: str) -> dict[str, float]:
    """Time the floor, the day every promise is resolved, and a steady day; print and return the figures."""
    with db.sessions() as session, stopwatch() as elapsed:
        session.execute(text(FLOOR_SQL)).all()
    floor = elapsed()
    with db.sessions() as session, session.begin():
        resolve_promises(session, DAY)
        session.rollback()
    with db.sessions() as session, session.begin(), stopwatch() as elapsed:
        resolved = resolve_promises(session, DAY)
    resolving = elapsed()
    with db.sessions() as session, session.begin(), stopwatch() as elapsed:
        steady = resolve_promises(session, DAY)
    quiet = elapsed()
    assert (steady.kept, steady.broken, steady.reopened) == (0, 0, 0)
    print(f"  {label} floor: one SELECT over the promised loans' payments {floor:.3f} s")
    print(f"  {label} the first set resolved: {resolving:.3f} s ({resolving / floor:.1f} x floor): kept "
          f"{resolved.kept:,}, broken {resolved.broken:,}, follow-ups {len(resolved.follow_ups):,}")  # fmt: skip
    print(f"  {label} steady day (the open set watched, nothing changes): {quiet:.3f} s ({quiet / floor:.1f} x floor)")
    return {f"{label}_floor_s": round(floor, 4), f"{label}_resolving_s": round(resolving, 3),
            f"{label}_steady_s": round(quiet, 3)}  # fmt: skip


def run(loans: int, postgres: str | None) -> Figures:
    """Run the benchmark on SQLite, then on PostgreSQL when a URL is given."""
    figures = Figures("promises")
    with tempfile.TemporaryDirectory(prefix="loanline-bench-") as name:
        folder = Path(name)
        db = fresh_sqlite(folder)
        try:
            prepare(db, loans, folder)
            add_promises(db)
            figures.values.update(measure(db, "sqlite"))
        finally:
            db.engine.dispose()
        if postgres:
            with postgres_schema(postgres) as pg:
                prepare(pg, loans, folder)
                add_promises(pg)
                figures.values.update(measure(pg, "postgresql"))
    return figures


def main() -> None:
    """Parse the options and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loans", type=int, default=100_000, help="loans in the portfolio (default 100000)")
    parser.add_argument("--postgres", metavar="URL", help="also run on this PostgreSQL database (own schema)")
    args = parser.parse_args()
    header("promises", args.loans)
    run(args.loans, args.postgres).finish()


if __name__ == "__main__":
    main()
