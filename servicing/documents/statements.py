"""Periodic statements: one per loan per billing cycle, made ahead of the due date and kept as a document.

A mortgage gets the periodic statement of Reg Z 12 CFR 1026.41(d) (`statement_mortgage.html`); a personal,
auto or business loan gets an account statement with the same figures (`statement_account.html`). A
statement's period is the due date it bills (ISO), so making the statement of a cycle again returns the one
on file. Many loans are made together: their figures are read in a few queries, all of them are rendered,
and only then are the files and rows written, so a transaction holds the database's write lock briefly.
End of day makes each loan's statement a set number of days before its due date (`statements_due`).
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import and_, exists, extract, select
from sqlalchemy.orm import Session, sessionmaker

from servicing.cases import REG_X_COUNTRIES
from servicing.documents.context import loan_block, recipient_block
from servicing.documents.records import NewDocument, keep_document, read_document
from servicing.documents.render import Rendered, Renderer
from servicing.documents.statement_figures import (
    STATEMENT,
    StatementFigures,
    StatementOptions,
    gather_figures,
    statement_due_date,
)
from servicing.errors import LoanClosed, LoanNotFound
from servicing.rules.account import Account, Product
from servicing.rules.schedule import due_date_of
from servicing.store.accounts import load_accounts
from servicing.store.bulk import chunked
from servicing.store.models import Borrower, Document, Loan

MORTGAGE_TEMPLATE = "statement_mortgage.html"
ACCOUNT_TEMPLATE = "statement_account.html"
NO_MAILING_ADDRESS = "no_mailing_address"
# 1026.41(d)(7)(v): the Bureau's list of housing counselors and HUD's toll-free number
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")  # a loan number as a file name
HOUSING_COUNSELORS = {"website": "www.consumerfinance.gov/find-a-housing-counselor", "phone": "1-800-569-4287"}


@dataclass(frozen=True)
class StatementMade:
    """A loan's statement of a cycle, made now or found on file, with what the manifest lists."""

    loan_number: str
    borrower: str
    due_date: date
    made: bool  # False when the statement of this cycle was already on file
    document_id: int
    storage_path: str
    language: str
    pages: int
    amount_due: str
    currency: str
    delivery: str
    sha256: str
    flags: tuple[str, ...] = field(default_factory=tuple)


@cache
def shared_renderer() -> Renderer:
    """Return this process's renderer, made on first use (fonts load once per process)."""
    return Renderer()


def template_of(loan: Loan) -> str:
    """Return the statement template of a loan's product."""
    return MORTGAGE_TEMPLATE if loan.product == Product.MORTGAGE.value else ACCOUNT_TEMPLATE


def render_statement(
    renderer: Renderer, options: StatementOptions, loan: Loan, borrower: Borrower, figures: StatementFigures
) -> tuple[Rendered, list[str]]:
    """Render a loan's statement in its borrower's language; return it with its flags (no mailing address)."""
    recipient = recipient_block(borrower, options.country)
    context = {
        "servicer": options.servicer,
        "recipient": recipient,
        "document_date": figures.statement_date,
        "loan": loan_block(loan, options.country),
        "s": figures,
        "counselors": HOUSING_COUNSELORS if loan.country in REG_X_COUNTRIES else None,
    }
    rendered = renderer.render(template_of(loan), context, borrower.locale)
    return rendered, [] if recipient else [NO_MAILING_ADDRESS]


def make_statement(
    session: Session,
    options: StatementOptions,
    loan_number: str,
    as_of: date,
    *,
    renderer: Callable[[], Renderer] = shared_renderer,
) -> StatementMade:
    """Make the statement of a loan's next cycle as of a date, or return the one on file; refuse a closed loan."""
    loan_id = session.scalar(select(Loan.id).where(Loan.loan_number == loan_number))
    if loan_id is None:
        raise LoanNotFound(loan_number)
    made = make_statements(session, options, [loan_id], as_of, renderer=renderer)
    if not made:
        raise LoanClosed(f"loan {loan_number} is not active: it has no statement to make")
    return made[0]


@dataclass(frozen=True)
class _Batch:
    """The statements a batch of loans needs: each loan's cycle, those on file, the figures of those to make."""

    cycles: list[tuple[Loan, Borrower, date]]
    on_file: dict[tuple[int, date], Document]
    figures: dict[int, StatementFigures]
    as_of: date


def make_statements(
    session: Session,
    options: StatementOptions,
    loan_ids: Sequence[int],
    as_of: date,
    *,
    due_on: date | None = None,
    renderer: Callable[[], Renderer] = shared_renderer,
) -> list[StatementMade]:
    """Make each active loan's statement of its next cycle as of `as_of` (or of the cycle due `due_on`).

    Returns one line per loan with a cycle to bill, statements already on file included (made=False);
    the renderer is asked for only when a statement has to be made. All in the caller's transaction.
    """
    batch = _read_batch(session, loan_ids, as_of, due_on)
    return _keep_batch(session, options, batch, _render_batch(options, batch, renderer))


def make_statements_apart(
    sessions: sessionmaker[Session],
    options: StatementOptions,
    loan_ids: Sequence[int],
    as_of: date,
    *,
    renderer: Callable[[], Renderer] = shared_renderer,
) -> list[StatementMade]:
    """Make the loans' statements like `make_statements`, reading in one transaction and keeping in another.

    Rendering, the slow part, happens between them, in no transaction: a SQLite writer holds the database's
    lock only while it reads and while it writes, so processes making statements side by side take turns.
    A statement another process kept meanwhile is found at keeping time and returned instead.
    """
    with sessions.begin() as session:
        batch = _read_batch(session, loan_ids, as_of, None)
    rendered = _render_batch(options, batch, renderer)
    with sessions.begin() as session:
        return _keep_batch(session, options, batch, rendered)


def _read_batch(session: Session, loan_ids: Sequence[int], as_of: date, due_on: date | None) -> _Batch:
    loans = _loans_with_accounts(session, loan_ids)
    cycles = [
        (loan, borrower, account, due)
        for loan, borrower, account in loans
        if (due := due_on or statement_due_date(account, as_of)) is not None
    ]
    on_file = _statements_on_file(session, [(loan.id, due) for loan, _, _, due in cycles])
    to_make = [(loan, account, due) for loan, _, account, due in cycles if (loan.id, due) not in on_file]
    return _Batch([(loan, borrower, due) for loan, borrower, _, due in cycles], on_file,
                  gather_figures(session, to_make, as_of), as_of)  # fmt: skip


def _render_batch(
    options: StatementOptions, batch: _Batch, renderer: Callable[[], Renderer]
) -> dict[int, tuple[Rendered, list[str]]]:
    return {
        loan.id: render_statement(renderer(), options, loan, borrower, batch.figures[loan.id])
        for loan, borrower, _ in batch.cycles
        if loan.id in batch.figures
    }


def _keep_batch(
    session: Session, options: StatementOptions, batch: _Batch, rendered: dict[int, tuple[Rendered, list[str]]]
) -> list[StatementMade]:
    lines = []
    for loan, borrower, due in batch.cycles:
        if loan.id not in rendered:
            lines.append(_made(loan, borrower, due, batch.on_file[(loan.id, due)], made=False))
            continue
        pdf, flags = rendered[loan.id]
        figures = batch.figures[loan.id]
        new = NewDocument(STATEMENT, loan, due.isoformat(), pdf, batch.as_of, options.actor, flags, figures.summary())
        document = keep_document(session, options.root, new)
        lines.append(_made(loan, borrower, due, document, made=document.sha256 == _sha256(pdf.pdf)))
    return lines


def _made(loan: Loan, borrower: Borrower, due: date, document: Document, *, made: bool) -> StatementMade:
    summary = document.summary or {}
    return StatementMade(
        loan_number=loan.loan_number,
        borrower=f"{borrower.first_name} {borrower.last_name}",
        due_date=due,
        made=made,
        document_id=document.id,
        storage_path=document.storage_path,
        language=document.language,
        pages=document.pages,
        amount_due=str(summary.get("amount_due", "")),
        currency=str(summary.get("currency", loan.currency)),
        delivery=document.delivery,
        sha256=document.sha256,
        flags=tuple(document.flags or ()),
    )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _loans_with_accounts(session: Session, loan_ids: Sequence[int]) -> list[tuple[Loan, Borrower, Account]]:
    """Return the loans (by id, in loan-number order) with their borrowers and accounts, read in bulk."""
    rows: list[tuple[Loan, Borrower]] = []
    for part in chunked(sorted(set(loan_ids)), 1000):
        rows.extend(session.execute(select(Loan, Borrower).join(Borrower, Borrower.id == Loan.borrower_id)
                                    .where(Loan.id.in_(part))).tuples())  # fmt: skip
    accounts = load_accounts(session, [loan.loan_number for loan, _ in rows])
    ordered = sorted(rows, key=lambda row: row[0].loan_number)
    return [(loan, borrower, accounts[loan.loan_number]) for loan, borrower in ordered]


def _statements_on_file(session: Session, cycles: Sequence[tuple[int, date]]) -> dict[tuple[int, date], Document]:
    """Return the latest statement on file of each (loan, cycle) that has one."""
    wanted = {(loan_id, due.isoformat()): due for loan_id, due in cycles}
    found: dict[tuple[int, date], Document] = {}
    for part in chunked(sorted({loan_id for loan_id, _ in cycles}), 1000):
        in_part = set(part)
        periods = sorted({period for loan_id, period in wanted if loan_id in in_part})
        for document in session.scalars(
            select(Document)
            .where(Document.kind == STATEMENT, Document.loan_id.in_(part), Document.period.in_(periods))
            .order_by(Document.version)
        ):
            due = wanted.get((document.loan_id, document.period))
            if due is not None:
                found[(document.loan_id, due)] = document  # ordered by version: the latest wins
    return found


# -- end of day ----------------------------------------------------------------------------------------------


def statements_due(
    session: Session, day: date, days_before_due: int, previous_business_day: date | None
) -> dict[date, list[int]]:
    """Return, by due date, the active loans whose statement end of day makes on `day`, none already made.

    A statement is made `days_before_due` days before its due date; when that day was not a business day
    (a weekend, a holiday) it is made on the next business day, so the due dates covered run from the day
    after the previous business day's to this day's. Selected in SQL by the day of the month the loans fall
    due on, then checked against each loan's schedule.
    """
    last = day + timedelta(days=days_before_due)
    first = last if previous_business_day is None else previous_business_day + timedelta(days=days_before_due + 1)
    due_dates = [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
    found: dict[date, list[int]] = {}
    for due in due_dates:
        rows = session.execute(
            select(Loan.id, Loan.schedule_anchor, Loan.installments_paid, Loan.term_months).where(
                Loan.status == "active",
                Loan.principal_balance > 0,
                Loan.next_due_date <= due,
                _falls_due_on_day_of(due),
                ~exists().where(and_(Document.kind == STATEMENT, Document.loan_id == Loan.id,
                                     Document.period == due.isoformat())),
            )
        ).all()  # fmt: skip
        loan_ids = [row.id for row in rows if _is_cycle_of(due, row.schedule_anchor, row.installments_paid,
                                                              row.term_months)]  # fmt: skip
        if loan_ids:
            found[due] = loan_ids
    return found


def _falls_due_on_day_of(due: date) -> Any:
    """Return the SQL test that a loan's schedule falls due on `due`'s day of the month (or its month's last day)."""
    anchor_day = extract("day", Loan.schedule_anchor)
    if (due + timedelta(days=1)).day != 1:
        return anchor_day == due.day
    return anchor_day >= due.day  # the last day of a month shorter than the anchor's day


def _is_cycle_of(due: date, anchor: date, installments_paid: int, term_months: int) -> bool:
    """Tell whether `due` is the due date of an installment of this schedule not yet paid."""
    number = (due.year - anchor.year) * 12 + due.month - anchor.month + 1
    return installments_paid < number <= term_months and due_date_of(anchor, number) == due


def make_due_statements(
    session: Session,
    day: date,
    options: StatementOptions,
    previous_business_day: date | None,
    *,
    renderer: Callable[[], Renderer] = shared_renderer,
) -> int:
    """Make the statements end of day makes on `day` (see `statements_due`); return how many were made."""
    made = 0
    for due, loan_ids in statements_due(session, day, options.days_before_due, previous_business_day).items():
        for part in chunked(loan_ids, 200):
            made += sum(1 for line in make_statements(session, options, part, day, due_on=due, renderer=renderer)
                        if line.made)  # fmt: skip
    return made


# -- the command line's run ------------------------------------------------------------------------------------

MANIFEST_COLUMNS = ("loan_number", "borrower", "language", "pages", "amount_due", "currency", "due_date", "delivery",
                    "sha256", "flags")  # fmt: skip


def loans_to_bill(session: Session, loan_number: str | None = None) -> list[int]:
    """Return the ids of the active loans (or of the one named, refusing an unknown or closed one), by number."""
    query = select(Loan.id, Loan.status).order_by(Loan.loan_number)
    if loan_number is not None:
        found = session.execute(query.where(Loan.loan_number == loan_number)).first()
        if found is None:
            raise LoanNotFound(loan_number)
        if found.status != "active":
            raise LoanClosed(f"loan {loan_number} is {found.status.replace('_', ' ')}: it has no statement to make")
        return [found.id]
    return list(session.scalars(select(Loan.id).where(Loan.status == "active").order_by(Loan.loan_number)))


def write_statement_files(session: Session, root: Path, lines: Sequence[StatementMade], folder: Path) -> Path:
    """Copy each statement to `<loan_number>.pdf` in a folder and list them in its manifest.csv; return the manifest.

    Each file is read back through its SHA-256 (a changed file is refused, not copied).
    """
    folder.mkdir(parents=True, exist_ok=True)
    for part in chunked(lines, 1000):
        ids = [line.document_id for line in part]
        kept = {document.id: document for document in session.scalars(select(Document).where(Document.id.in_(ids)))}
        for line in part:
            pdf = read_document(root, kept[line.document_id])
            (folder / f"{_SAFE_NAME.sub('_', line.loan_number)}.pdf").write_bytes(pdf)
    manifest = folder / "manifest.csv"
    with manifest.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(MANIFEST_COLUMNS)
        for line in lines:
            writer.writerow([line.loan_number, line.borrower, line.language, line.pages, line.amount_due, line.currency,
                             line.due_date.isoformat(), line.delivery, line.sha256, ";".join(line.flags)])  # fmt: skip
    return manifest
