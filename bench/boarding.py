"""Benchmark: board N loans from a file, then post N payments, on a fresh SQLite file.

Floor: a raw sqlite3 executemany of N loan-like rows into a comparable table, measured in the same
run. Goals: boarding >= 20,000 rows/s, posting >= 10,000 payments/s.

    .venv/bin/python bench/boarding.py [--loans N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from measure import (
    SECRET,
    Figures,
    fresh_sqlite,
    header,
    load_average,
    peak_mb,
    sqlite_insert_floor,
    stopwatch,
    verdict,
)
from portfolio import TODAY, write_loan_file, write_payment_file
from sqlalchemy.orm import Session, sessionmaker

from servicing.importing import import_loans, import_payments

BOARDING_GOAL = 20_000
POSTING_GOAL = 10_000


def run(loans: int, folder: Path) -> Figures:
    """Board and post on a fresh database in `folder`; return the figures."""
    figures = Figures("boarding")
    loan_file = folder / "loans.csv"
    with stopwatch() as elapsed:
        write_loan_file(loan_file, loans)
    print(f"  generated {loan_file.name} in {elapsed():.2f} s")
    floor = sqlite_insert_floor(folder, loans)
    figures.add("floor_s", round(floor, 4), f"floor: raw sqlite3 executemany of {loans:,} rows {floor:.3f} s")
    db = fresh_sqlite(folder)
    try:
        _board(figures, db.sessions, loan_file, loans, floor)
        payment_file = folder / "payments.csv"
        with db.sessions() as session:
            payments = write_payment_file(payment_file, session)
        _post(figures, db.sessions, payment_file, payments, floor)
    finally:
        db.engine.dispose()
    return figures


def _board(figures: Figures, sessions: sessionmaker[Session], path: Path, loans: int, floor: float) -> None:
    with stopwatch() as elapsed:
        result = import_loans(sessions, path, secret=SECRET, today=TODAY, actor="bench")
    seconds = elapsed()
    rate = loans / seconds
    figures.add("boarding_s", round(seconds, 3), f"boarding: {seconds:.2f} s for {loans:,} rows")
    figures.add("boarding_rows_per_s", round(rate), f"boarding: {rate:,.0f} rows/s "
                f"({verdict(rate >= BOARDING_GOAL)} of {BOARDING_GOAL:,})")  # fmt: skip
    figures.add("boarding_ratio", round(seconds / floor, 1), f"boarding: {seconds / floor:.1f} x floor")
    figures.add("boarded", len(result.imported), f"boarded {len(result.imported):,}, "
                f"refused {len(result.refused):,}")  # fmt: skip
    peak = peak_mb()
    figures.add("boarding_peak_mb", round(peak), f"peak memory so far (ru_maxrss, this process or the one "
                f"parsing with it): {peak:,.0f} MB, load average {load_average()}")  # fmt: skip
    for refusal in result.refused[:5]:
        print(f"    refused line {refusal.line}: {refusal.reason}")


def _post(figures: Figures, sessions: sessionmaker[Session], path: Path, payments: int, floor: float) -> None:
    with stopwatch() as elapsed:
        result = import_payments(sessions, path, today=TODAY, actor="bench")
    seconds = elapsed()
    rate = payments / seconds
    figures.add("posting_s", round(seconds, 3), f"posting: {seconds:.2f} s for {payments:,} payments")
    figures.add("posting_payments_per_s", round(rate), f"posting: {rate:,.0f} payments/s "
                f"({verdict(rate >= POSTING_GOAL)} of {POSTING_GOAL:,})")  # fmt: skip
    figures.add("posting_ratio", round(seconds / floor, 1), f"posting: {seconds / floor:.1f} x floor")
    figures.add("posted", len(result.imported), f"posted {len(result.imported):,}, "
                f"refused {len(result.refused):,}")  # fmt: skip
    peak = peak_mb()
    figures.add("posting_peak_mb", round(peak), f"peak memory so far (ru_maxrss): {peak:,.0f} MB, "
                f"load average {load_average()}")  # fmt: skip
    for refusal in result.refused[:5]:
        print(f"    refused line {refusal.line}: {refusal.reason}")


def main() -> None:
    """Parse the options and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loans", type=int, default=100_000, help="loans to board (default 100000)")
    parser.add_argument("--keep", type=Path, help="folder to leave the files and database in")
    args = parser.parse_args()
    header("boarding", args.loans)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        run(args.loans, args.keep).finish()
        return
    with tempfile.TemporaryDirectory(prefix="loanline-bench-") as folder:
        run(args.loans, Path(folder)).finish()


if __name__ == "__main__":
    main()
