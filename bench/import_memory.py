"""Peak memory of boarding and posting N rows on a fresh SQLite file, each import in a process of its own.

The code measured is whichever `servicing` the interpreter imports, so two trees compare as:

    PYTHONPATH=/path/to/tree .venv/bin/python bench/import_memory.py [--loans N]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from measure import fresh_sqlite, import_in_child, load_average
from portfolio import TODAY, write_loan_file, write_payment_file

import servicing


def main() -> None:
    """Board and post N rows and print each import's time and peak memory."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loans", type=int, default=100_000, help="rows to board and post (default 100000)")
    loans = parser.parse_args().loans
    print(f"code: {servicing.__file__}, {loans:,} rows, load average {load_average()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="loanline-bench-") as name:
        folder = Path(name)
        write_loan_file(folder / "loans.csv", loans)
        db = fresh_sqlite(folder)
        boarded = import_in_child("loans", db.url, folder / "loans.csv", TODAY)
        print(f"  boarding {boarded.seconds:.1f} s, peak {boarded.peak_mb:,.0f} MB, load average {load_average()}")
        with db.sessions() as session:
            write_payment_file(folder / "payments.csv", session)
        db.engine.dispose()
        posted = import_in_child("payments", db.url, folder / "payments.csv", TODAY)
        print(f"  posting {posted.seconds:.1f} s, peak {posted.peak_mb:,.0f} MB, load average {load_average()}")


if __name__ == "__main__":
    main()
