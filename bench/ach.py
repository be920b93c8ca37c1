"""Benchmark: the ACH origination file of N autopay drafts, and a bank's file of M returns read and applied.

Set-up (not timed): board N US mortgages whose first installment falls due 0 to 9 days after the effective
date, each with a checking account on file (the same encrypted number: every draft still opens its own) and
autopay drafting that many days before, so that all N draft on the effective date. Timed:

1. `export_drafts` of the effective date: plan the drafts (accounts loaded, amounts due), record N drafts,
   open N account numbers, write and hash the file, keep it encrypted; one transaction.
2. `read_file` of a returns file of M returns (R01 and R03, addenda 99).
3. `apply_returns_file` of a file of A of them (default 1,000) after end of day posted the drafts: A payments
   reversed exactly (later payments replayed), R03 ones stopping autopay, every borrower told in a notice. Each
   return goes through the core's one-payment reversal and notice, some 10-30 ms each: at 10,000 returns that
   is minutes, hence the smaller default.

Floor, measured in the same run: writing the same number of 94-character lines to a file (N for the export,
M for the reading, A for the applying). The ratios say how many times the floor each step takes.

    .venv/bin/python bench/ach.py [--drafts N] [--returns M] [--apply A] [--postgres URL]
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from measure import SECRET, Database, Figures, fresh_sqlite, header, postgres_schema, stopwatch
from sqlalchemy import select

from servicing.ach.nacha import RECORD_LENGTH, read_file, returns_for
from servicing.ach.origination import export_drafts, settle_drafts
from servicing.ach.returns import ReturnsContext, apply_returns_file
from servicing.ach.vault import Vault, new_key
from servicing.config import AchSettings
from servicing.importing import import_loans
from servicing.store.bulk import insert_rows
from servicing.store.models import AchDraft, AutopayEnrolment, BankAccount, Loan, table_of

EFFECTIVE = date(2026, 3, 23)  # a Monday
BUSINESS_DATE = date(2026, 3, 20)
BOARDED = date(2026, 3, 1)
NOW = datetime(2026, 3, 25, 6, 0)
COLUMNS = (
    "loan_number", "product", "borrower_first_name", "borrower_last_name", "date_of_birth", "tax_id_last4",
    "phone", "postal_code", "country", "locale", "currency", "original_principal", "annual_rate", "term_months",
    "origination_date", "first_payment_date", "interest_method", "bank_account_last4",
)  # fmt: skip


def write_loans(path: Path, count: int) -> Path:
    """Write N US mortgages whose first installment falls due 0 to 9 days after the effective date."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for n in range(count):
            first_due = EFFECTIVE + timedelta(days=n % 10)
            writer.writerow([
                f"ACH-{n:07d}", "mortgage", "Ana", "Silva", "1980-05-04", "1234", f"+1555{n:07d}", "10001", "US",
                "en_US", "USD", str(150_000 + n % 1000), "0.055", "360", (first_due - timedelta(days=31)).isoformat(),
                first_due.isoformat(), "30/360", "6789",
            ])  # fmt: skip
    return path


def enrol_everyone(db: Database, vault: Vault) -> None:
    """Put an account on file for every loan and enrol it in autopay drafting on the effective date."""
    sealed = vault.seal("000123456789")
    now = datetime.now(UTC)
    with db.sessions.begin() as session:
        loans = session.execute(select(Loan.id, Loan.next_due_date).order_by(Loan.id)).all()
        insert_rows(session, table_of(BankAccount), [
            {"id": loan_id, "loan_id": loan_id, "routing": "121042882", "account_encrypted": sealed,
             "account_last4": "6789", "account_type": "checking", "status": "active", "source": "boarding",
             "added_at": now, "added_by": "bench"}
            for loan_id, _ in loans
        ])  # fmt: skip
        insert_rows(session, table_of(AutopayEnrolment), [
            {"loan_id": loan_id, "bank_account_id": loan_id, "amount_kind": "due", "fixed_amount": None,
             "extra_principal": Decimal(0), "days_before": (due - EFFECTIVE).days, "status": "active",
             "authorization_text": "bench", "authorization_version": "ACH-2026-1", "authorization_language": "en",
             "authorized_at": now, "channel": "console_written", "enrolled_by": "bench"}
            for loan_id, due in loans
        ])  # fmt: skip


def write_floor(folder: Path, lines: int) -> float:
    """Return the seconds it takes to write `lines` 94-character lines to a file: the floor of the ratios."""
    with stopwatch() as took, (folder / f"floor-{lines}.txt").open("wb") as handle:
        handle.write(b"".join(f"{n:094d}\n".encode("ascii") for n in range(lines)))
    assert len(f"{0:094d}") == RECORD_LENGTH
    return took()


def run(db: Database, name: str, folder: Path, drafts: int, returns: int, applied: int, figures: Figures) -> None:
    """Set up, then time the export, the reading and the applying, each against its floor."""
    vault = Vault([new_key()])
    with stopwatch() as took:
        import_loans(db.sessions, write_loans(folder / "loans.csv", drafts), secret=SECRET, today=BOARDED,
                     actor="bench")  # fmt: skip
        enrol_everyone(db, vault)
    print(f"  set-up ({name}): {drafts:,} loans boarded and enrolled in {took():.1f} s")
    floor = write_floor(folder, drafts)
    with stopwatch() as took, db.sessions.begin() as session:
        made = export_drafts(session, EFFECTIVE, settings=AchSettings(), vault=vault, business_date=BUSINESS_DATE,
                             country="US", actor="bench", now=datetime.now(UTC))  # fmt: skip
    assert made.entries == drafts, (made.entries, made.skipped[:3])
    export_s = took()
    figures.add(f"{name}_export_s", round(export_s, 3),
                f"export of {drafts:,} drafts ({name}): {export_s:.2f} s, {drafts / export_s:,.0f} drafts/s; "
                f"floor {floor:.3f} s; ratio {export_s / floor:.1f}x")  # fmt: skip
    figures.add(f"{name}_export_ratio", round(export_s / floor, 1), f"export / floor: {export_s / floor:.1f}")
    with stopwatch() as took, db.sessions.begin() as session:
        settled = settle_drafts(session, EFFECTIVE, "bench")
    print(f"  end of day on the effective date posted {settled:,} drafts in {took():.1f} s (not a figure)")
    with db.sessions() as session:
        traces = session.scalars(select(AchDraft.trace_number).order_by(AchDraft.id).limit(returns)).all()
    data = returns_for(made.content, {t: ("R01" if n % 4 else "R03") for n, t in enumerate(traces)}, created=NOW)
    floor = write_floor(folder, returns)
    with stopwatch() as took:
        read = read_file(data)
    assert sum(1 for _ in read.entries()) == returns
    read_s = took()
    figures.add(f"{name}_read_returns_s", round(read_s, 4),
                f"read {returns:,} returns ({name}): {read_s:.3f} s; floor {floor:.4f} s; "
                f"ratio {read_s / floor:.1f}x")  # fmt: skip
    figures.add(f"{name}_read_ratio", round(read_s / floor, 1), f"read / floor: {read_s / floor:.1f}")
    codes = {t: ("R01" if n % 4 else "R03") for n, t in enumerate(traces[:applied])}
    data = returns_for(made.content, codes, created=NOW)
    floor = write_floor(folder, applied)
    context = ReturnsContext(EFFECTIVE + timedelta(days=2), EFFECTIVE + timedelta(days=2), datetime.now(UTC), "bench",
                             Decimal("25.00"), "+1 800 555 0100", vault)  # fmt: skip
    with stopwatch() as took, db.sessions.begin() as session:
        report = apply_returns_file(session, data, context)
    assert report.reversed_payments == applied
    apply_s = took()
    figures.add(f"{name}_apply_returns_s", round(apply_s, 2),
                f"apply {applied:,} returns ({name}): {apply_s:.1f} s, {applied / apply_s:,.0f} returns/s, "
                f"{1000 * apply_s / applied:.1f} ms each ({report.autopay_stopped:,} autopay stopped, "
                f"{report.borrowers_told:,} borrowers told); floor {floor:.4f} s")  # fmt: skip
    figures.add(f"{name}_apply_ratio", round(apply_s / floor, 0), f"apply / floor: {apply_s / floor:,.0f}")


def main() -> None:
    """Run the benchmark on SQLite, and on PostgreSQL when a URL is given."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drafts", type=int, default=100_000)
    parser.add_argument("--returns", type=int, default=10_000, help="Returns read.")
    parser.add_argument("--apply", type=int, default=1_000, help="Returns applied (at most --returns).")
    parser.add_argument("--postgres", help="Also run on this PostgreSQL database (a schema is created and dropped).")
    args = parser.parse_args()
    header("ach", args.drafts)
    figures = Figures("ach")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        applied = min(args.apply, args.returns)
        run(fresh_sqlite(folder), "sqlite", folder, args.drafts, args.returns, applied, figures)
        if args.postgres:
            with postgres_schema(args.postgres) as db:
                run(db, "postgresql", folder, args.drafts, args.returns, applied, figures)
    figures.finish()


if __name__ == "__main__":
    main()
