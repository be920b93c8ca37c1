"""Benchmark: periodic statements per second for N loans on every core, with the ratio to a floor.

Set-up (not timed): board N loans (the benchmarks' portfolio: mortgages with and without escrow, personal, auto
and business loans in 7 currencies and 9 locales, some mid-life, some late), post one payment per loan (some
partial, some with extra principal), give 98% of the borrowers a mailing address. Timed: every loan's statement
as of the portfolio's date, made by `make_statements_in_workers` (the path `loanline statements` takes): one
process per core, each with its own engine and renderer, replaced every 1,000 statements; the figures read from
the database, the PDF laid out by WeasyPrint, the file written and its row kept. Floor: the same pool of
processes rendering a fixed one-page letter (the late notice) and nothing else, measured in the same run.
Also reported: each worker's peak memory after its first and its last chunk, the end-of-day selection of a
statement day over the portfolio (before any statement is made), and with --profile where one process spends
its time. The floor is measured just before and just after the statements and averaged (other work on the
machine moves both).
Goal: 100,000 statements in under 30 minutes on 2 cores: 56 per second or more.

    .venv/bin/python bench/statements.py [--loans N] [--workers W] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import multiprocessing
import os
import pstats
import tempfile
import time
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from measure import SECRET, Database, Figures, fresh_sqlite, header, stopwatch, verdict
from portfolio import TODAY, write_loan_file, write_payment_file
from sqlalchemy import select, text

from servicing.documents.context import servicer_block
from servicing.documents.render import Renderer
from servicing.documents.statement_figures import StatementOptions
from servicing.documents.statement_workers import ChunkDone, statement_chunks
from servicing.documents.statements import make_statements, statements_due
from servicing.importing import import_loans, import_payments
from servicing.store.models import Loan

GOAL_PER_SECOND = 100_000 / (30 * 60)  # 55.6
FLOOR_LETTERS = 40  # letters per floor task
SERVICER = servicer_block("Loanline Demo Servicing", "+1 800 555 0100", "PO Box 1000, Springfield, IL 62701")
ADDRESSES = """
    UPDATE borrowers SET mailing_line1 = 'Flat ' || id || ', 1 Main Street', mailing_city = 'Springfield',
           mailing_region = 'IL', mailing_postal_code = postal_code, mailing_country = country
    WHERE id % 50 <> 0
"""


def prepare(db: Database, loans: int, folder: Path) -> None:
    """Board the portfolio, post its payments and give most borrowers a mailing address."""
    with stopwatch() as elapsed:
        import_loans(db.sessions, write_loan_file(folder / "loans.csv", loans), secret=SECRET, today=TODAY,
                     actor="bench")  # fmt: skip
        with db.sessions() as session:
            write_payment_file(folder / "payments.csv", session)
        import_payments(db.sessions, folder / "payments.csv", today=TODAY, actor="bench")
        with db.sessions.begin() as session:
            session.execute(text(ADDRESSES))
    print(f"  set-up (board, post, addresses): {elapsed():.1f} s")


def _floor_letters(count: int) -> int:
    """Render the late notice with fixed figures `count` times (a floor task); return how many."""
    renderer = _floor_renderer()
    context = {
        "servicer": SERVICER, "recipient": ["ANA SILVA", "12 ELM STREET", "SPRINGFIELD IL 62704"],
        "document_date": TODAY, "loan": {"number": "L00000001", "product": "mortgage", "currency": "USD",
                                         "property": "12 Elm Street, Springfield IL 62704"},
        "notice": {"amount_to_bring_current": Decimal("1534.20"), "due_date": date(2026, 2, 1),
                   "past_due": Decimal("1500.00"), "fee_on": date(2026, 2, 17),
                   "fees": [{"installment_due": date(2026, 2, 1), "amount": Decimal("34.20")}],
                   "other_fees": Decimal("0.00"), "escrow_billed": Decimal("0.00"), "suspense": Decimal("0.00"),
                   "days_past_due": 47},
    }  # fmt: skip
    for _ in range(count):
        renderer.render("late_notice.html", context, "en_US")
    return count


_renderers: list[Renderer] = []


def _floor_renderer() -> Renderer:
    if not _renderers:
        _renderers.append(Renderer())
    return _renderers[0]


def floor_rate(workers: int, letters: int) -> float:
    """Return the fixed one-page letters per second the same number of processes render."""
    context = multiprocessing.get_context("forkserver")
    with context.Pool(workers) as pool:
        pool.map(_floor_letters, [2] * workers)  # fonts loaded in every process before timing
        with stopwatch() as elapsed:
            done = sum(pool.map(_floor_letters, [FLOOR_LETTERS] * max(workers, letters // FLOOR_LETTERS)))
    return done / elapsed()


def statements_rate(db: Database, options: StatementOptions, workers: int) -> tuple[float, list[ChunkDone]]:
    """Make every active loan's statement on `workers` processes; return statements per second and the chunks."""
    with db.sessions() as session:
        loan_ids = list(session.scalars(select(Loan.id).where(Loan.status == "active").order_by(Loan.id)))
    chunks: list[ChunkDone] = []
    with stopwatch() as elapsed:
        for done in statement_chunks(db.url, options, loan_ids, TODAY, workers=workers):
            chunks.append(done)
            made = sum(len(chunk.lines) for chunk in chunks)
            if len(chunks) % 40 == 0:
                print(f"    {made:,} of {len(loan_ids):,} in {elapsed():.0f} s ({made / elapsed():.1f} per second)",
                      flush=True)  # fmt: skip
    return sum(len(chunk.lines) for chunk in chunks) / elapsed(), chunks


def memory(chunks: list[ChunkDone]) -> tuple[int, int, int]:
    """Return the workers seen, and the highest peak RSS (MB) of a worker after its first and its last chunk."""
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for chunk in chunks:
        first.setdefault(chunk.pid, chunk.peak_rss_kb)
        last[chunk.pid] = chunk.peak_rss_kb
    return len(first), max(first.values()) // 1024, max(last.values()) // 1024


def selection_seconds(db: Database) -> tuple[float, int]:
    """Time end of day's choice of the statements due on a statement day (the 1st of next month less 15 days)."""
    due = (TODAY.replace(day=1) + timedelta(days=32)).replace(day=1)
    day = due - timedelta(days=15)
    with db.sessions() as session, stopwatch() as elapsed:
        found = statements_due(session, day, 15)
    return elapsed(), sum(len(ids) for ids in found.values())


def profile(db: Database, options: StatementOptions, loans: int) -> None:
    """Print where one process spends its time making `loans` statements (already made ones are skipped)."""
    with db.sessions() as session:
        loan_ids = list(session.scalars(select(Loan.id).order_by(Loan.id.desc()).limit(loans)))
    profiler = cProfile.Profile()
    with db.sessions() as session:
        profiler.enable()
        make_statements(session, options, loan_ids, TODAY)
        profiler.disable()
        session.rollback()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)


def run(loans: int, workers: int, with_profile: bool) -> Figures:
    """Set up the portfolio, measure the floor and the statements, and report."""
    figures = Figures("statements")
    with tempfile.TemporaryDirectory(prefix="loanline-bench-") as name:
        folder = Path(name)
        db = fresh_sqlite(folder)
        options = StatementOptions(root=folder / "documents", servicer=SERVICER, country="US", actor="bench")
        try:
            prepare(db, loans, folder)
            if with_profile:
                profile(db, options, min(loans, 200))
            selection, selected = selection_seconds(db)
            before = floor_rate(workers, min(loans, 2_000))
            print(f"  floor before the statements: {before:.1f} per second", flush=True)
            rate, chunks = statements_rate(db, options, workers)
            after = floor_rate(workers, min(loans, 2_000))
            floor = (before + after) / 2
            figures.add("floor_per_s", round(floor, 1), f"floor: a fixed one-page letter on {workers} processes: "
                        f"{floor:.1f} per second ({1000 * workers / floor:.1f} ms each per core; {before:.1f} before "
                        f"the statements, {after:.1f} after)")  # fmt: skip
            lines = [line for chunk in chunks for line in chunk.lines]
            seen, first_mb, last_mb = memory(chunks)
        finally:
            db.engine.dispose()
    pages = Counter(line.pages for line in lines)
    flags = Counter(flag for line in lines for flag in line.flags)
    languages = Counter(line.language for line in lines)
    hours = 100_000 / rate / 3600
    figures.add("statements_per_s", round(rate, 1), f"statements: {len(lines):,} on {workers} processes, "
                f"{rate:.1f} per second ({1000 * workers / rate:.1f} ms each per core), "
                f"{verdict(rate >= GOAL_PER_SECOND)} of {GOAL_PER_SECOND:.0f} per second; "
                f"100,000 would take {hours * 60:.0f} minutes")  # fmt: skip
    figures.add("ratio", round(rate / floor, 2), f"statements / floor: {rate / floor:.2f}")
    figures.add("pages", dict(sorted(pages.items())), f"pages per statement: {dict(sorted(pages.items()))}; "
                f"languages {dict(languages.most_common())}; flags {dict(flags)}")  # fmt: skip
    figures.add("worker_peak_rss_mb", [first_mb, last_mb], f"memory: {seen} worker processes; highest peak RSS "
                f"after a worker's first chunk {first_mb} MB, after its last {last_mb} MB")  # fmt: skip
    figures.add("eod_selection_s", round(selection, 3), f"end of day's statement-day selection over {loans:,} "
                f"loans: {selection * 1000:.0f} ms ({selected:,} statements due)")  # fmt: skip
    return figures


def main() -> None:
    """Parse the options and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loans", type=int, default=10_000, help="loans in the portfolio (default 10000)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes (default: one per core)")
    parser.add_argument("--profile", action="store_true", help="first profile 200 statements in one process")
    args = parser.parse_args()
    header("statements", args.loans)
    started = time.perf_counter()
    run(args.loans, args.workers, args.profile).finish()
    print(f"  (whole run {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
