"""Benchmark: payoff quote latency for one mortgage with 30 years of history, on SQLite.

Set-up (not timed): board N other loans and one 40-year mortgage originated in 1996, post its 360
monthly payments (every 12th one late, after a late fee was assessed), then return three of the
late-life payments (each reversal replays the payments after it, with a returned-payment fee).
Timed: `payoff_for` in a fresh session per quote, as a request would. Floor: a single-row SELECT
of that loan by loan number on a raw sqlite3 connection, measured in the same run.
Goal: p99 under 5 ms.

    .venv/bin/python bench/payoff.py [--loans N] [--quotes Q]
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from dateutil.relativedelta import relativedelta
from measure import SECRET, Database, Figures, fresh_sqlite, header, percentile, stopwatch, verdict
from portfolio import LOAN_COLUMNS, TODAY, write_loan_file

from servicing.eod import assess_late_fees
from servicing.importing import import_loans
from servicing.payments import PaymentInstruction, post_payments, reverse_payment
from servicing.queries import payoff_for
from servicing.store.accounts import load_account
from servicing.store.models import BusinessDay, utcnow

GOAL_P99_MS = 5.0
LOAN = "M-30YEARS"
FIRST_DUE = date(1996, 3, 1)
HISTORY_MONTHS = 360
RETURNED = (340, 350, 355)
MORTGAGE = {
    "loan_number": LOAN, "product": "mortgage", "borrower_first_name": "Maria", "borrower_last_name": "Lopez",
    "date_of_birth": "1961-07-04", "tax_id_last4": "4321", "phone": "+15559990001", "email": "",
    "postal_code": "78701", "country": "US", "locale": "es_US", "timezone": "America/Chicago",
    "currency": "USD", "original_principal": "400000.00", "annual_rate": "0.0725", "term_months": "480",
    "origination_date": "1996-01-12", "first_payment_date": FIRST_DUE.isoformat(), "interest_method": "30/360",
    "principal_balance": "", "next_due_date": "", "escrow_monthly": "350.00", "escrow_balance": "1000.00",
    "late_fee_grace_days": "", "late_fee_rate": "", "compounding": "", "bank_account_last4": "1234",
}  # fmt: skip


def board(db: Database, loans: int, folder: Path) -> None:
    """Board the other loans and the 30-year mortgage."""
    import_loans(db.sessions, write_loan_file(folder / "loans.csv", loans), secret=SECRET, today=TODAY,
                 actor="bench")  # fmt: skip
    mortgage_file = folder / "mortgage.csv"
    mortgage_file.write_text(",".join(LOAN_COLUMNS) + "\n" + ",".join(MORTGAGE[c] for c in LOAN_COLUMNS) + "\n")
    import_loans(db.sessions, mortgage_file, secret=SECRET, today=date(1996, 1, 12), actor="bench")


def post_history(db: Database) -> None:
    """Post 360 monthly payments (every 12th late, after its late fee), then return three of them."""
    with db.sessions() as session, session.begin():
        for number in range(1, HISTORY_MONTHS + 1):
            due = FIRST_DUE + relativedelta(months=number - 1)
            late = number % 12 == 0
            if late:
                assess_late_fees(session, due + timedelta(days=16), "bench")
            account = load_account(session, LOAN)
            assert account is not None
            amount = account.installment_amount(number) + account.balances.fees
            received = due + timedelta(days=20) if late else due - timedelta(days=2)
            instruction = PaymentInstruction(LOAN, amount, received, f"HIST-{number:03d}", "ach")
            post_payments(session, [instruction], today=received, business_date=received, actor="bench")
        for number in RETURNED:
            reverse_payment(session, f"HIST-{number:03d}", reason="NSF", today=TODAY, business_date=TODAY,
                            actor="bench", returned_payment_fee=Decimal("25.00"))  # fmt: skip
        session.add(BusinessDay(business_date=TODAY, finished_at=utcnow()))


def quote_latencies(db: Database, quotes: int) -> tuple[list[float], list[float]]:
    """Return the wall-clock and CPU seconds each payoff quote took, each in its own session.

    CPU time leaves out the time this process waited for a core, which on a shared machine is most
    of the tail; the wall clock is what a caller sees.
    """
    wall, cpu = [], []
    for _ in range(quotes):
        start, start_cpu = time.perf_counter(), time.thread_time()
        with db.sessions() as session:
            payoff_for(session, LOAN, today=TODAY)
        wall.append(time.perf_counter() - start)
        cpu.append(time.thread_time() - start_cpu)
    return wall, cpu


def select_latencies(path: Path, quotes: int) -> list[float]:
    """Return the seconds a raw single-row SELECT of the loan by its number took, each time."""
    connection = sqlite3.connect(path)
    samples = []
    for _ in range(quotes):
        start = time.perf_counter()
        connection.execute("SELECT * FROM loans WHERE loan_number = ?", (LOAN,)).fetchone()
        samples.append(time.perf_counter() - start)
    connection.close()
    return samples


def run(loans: int, quotes: int) -> Figures:
    """Build the history, then time the quotes and the floor."""
    figures = Figures("payoff")
    with tempfile.TemporaryDirectory(prefix="loanline-bench-") as name:
        db = fresh_sqlite(Path(name))
        try:
            with stopwatch() as elapsed:
                board(db, loans, Path(name))
                post_history(db)
            print(f"  set-up (board, 360 payments, {len(RETURNED)} reversals): {elapsed():.1f} s")
            with db.sessions() as session:
                quote = payoff_for(session, LOAN, today=TODAY)
            print(f"  quote {quote.quote_date} good through {quote.good_through}: total {quote.total} {quote.currency}"
                  f" (principal {quote.principal}, interest {quote.interest}, fees {quote.fees})")  # fmt: skip
            quote_latencies(db, 50)
            wall, cpu = quote_latencies(db, quotes)
            floor = select_latencies(Path(name) / "loanline.db", quotes)
        finally:
            db.engine.dispose()
    report(figures, wall, cpu, floor)
    return figures


def report(figures: Figures, wall: list[float], cpu: list[float], floor: list[float]) -> None:
    """Print the percentiles of the quotes and of the floor, and their ratios."""
    p50, p99 = percentile(wall, 0.50) * 1000, percentile(wall, 0.99) * 1000
    c50, c99 = percentile(cpu, 0.50) * 1000, percentile(cpu, 0.99) * 1000
    f50, f99 = percentile(floor, 0.50) * 1000, percentile(floor, 0.99) * 1000
    figures.add("floor_p50_ms", round(f50, 4), f"floor: single-row SELECT p50 {f50:.3f} ms, p99 {f99:.3f} ms")
    figures.add("quote_p50_ms", round(p50, 3), f"payoff quote p50 {p50:.2f} ms ({p50 / f50:.0f} x floor)")
    figures.add("quote_p99_ms", round(p99, 3), f"payoff quote p99 {p99:.2f} ms ({p99 / f99:.0f} x floor p99), "
                f"{verdict(p99 < GOAL_P99_MS)} of {GOAL_P99_MS:.0f} ms; {len(wall):,} quotes")  # fmt: skip
    figures.add("quote_cpu_p99_ms", round(c99, 3), f"payoff quote CPU time p50 {c50:.2f} ms, p99 {c99:.2f} ms "
                "(without waits for a core)")  # fmt: skip
    figures.values["p50_ratio"] = round(p50 / f50, 1)


def main() -> None:
    """Parse the options and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loans", type=int, default=10_000, help="other loans in the table (default 10000)")
    parser.add_argument("--quotes", type=int, default=2_000, help="quotes to time (default 2000, at least 1000)")
    args = parser.parse_args()
    header("payoff", args.loans)
    run(args.loans, max(args.quotes, 1000)).finish()


if __name__ == "__main__":
    main()
