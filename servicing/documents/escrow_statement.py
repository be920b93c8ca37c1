"""The escrow account statement, printed from an escrow analysis (Reg X 1024.17(g) initial, (i) annual).

Every analysis keeps its statement as data (`escrow_analyses.statement`, docs/decisions-escrow.md); this
prints it in the borrower's language: the payment before and from the new computation year, last year's
activity with what was paid out by kind, the projection month by month, and what becomes of a shortage,
deficiency or surplus. An analysis of an account with no history yet (the loan's first, with nothing paid in
or out) is the initial statement; any other the annual one. The period is the analysis (`analysis:<id>`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from servicing.documents.correspondence import Correspondence
from servicing.documents.letters import keep_letter, loans_and_borrowers, money_summary, periods_on_file
from servicing.documents.records import existing_document
from servicing.documents.wording import wording
from servicing.rules.ledger import EntryKind
from servicing.store.models import Borrower, Document, EscrowAnalysis, EscrowItem, LedgerEntry, Loan

ESCROW_STATEMENT = "escrow_statement"
INITIAL, ANNUAL = "initial", "annual"
_BILL = re.compile(r"^escrow:(\d+):")
REFUNDED = "refund"  # what the statement calls money paid out of escrow back to the borrower
OTHER = "other"
ESCROW_KINDS = {  # what each bill is for (servicing.rules.escrow.EscrowKind), and money paid out otherwise
    "property_tax": wording("Property tax"),
    "hazard_insurance": wording("Homeowners insurance"),
    "flood_insurance": wording("Flood insurance"),
    "mortgage_insurance": wording("Mortgage insurance"),
    OTHER: wording("Other payments"),
    REFUNDED: wording("Refunded to you"),
}


def make_escrow_statements(session: Session, letters: Correspondence, day: date, actor: str) -> int:
    """Make the escrow account statement of every analysis run on `day` that has none yet; return how many."""
    analyses = session.scalars(
        select(EscrowAnalysis).where(EscrowAnalysis.analyzed_on == day).order_by(EscrowAnalysis.id)
    ).all()
    if not analyses:
        return 0
    loan_ids = sorted({analysis.loan_id for analysis in analyses})
    made = periods_on_file(session, ESCROW_STATEMENT, loan_ids)
    todo = [a for a in analyses if (a.loan_id, _period(a)) not in made]
    loans = loans_and_borrowers(session, loan_ids)
    for analysis in todo:
        loan, borrower = loans[analysis.loan_id]
        escrow_statement(session, letters, analysis, actor=actor, loan=loan, borrower=borrower)
    return len(todo)


def latest_escrow_statement(session: Session, letters: Correspondence, loan_id: int, *, actor: str) -> Document:
    """Make the escrow account statement of a loan's latest analysis (one just run on demand)."""
    analysis = session.scalars(
        select(EscrowAnalysis).where(EscrowAnalysis.loan_id == loan_id).order_by(EscrowAnalysis.id.desc()).limit(1)
    ).one()
    return escrow_statement(session, letters, analysis, actor=actor)


def escrow_statement(
    session: Session,
    letters: Correspondence,
    analysis: EscrowAnalysis,
    *,
    actor: str,
    loan: Loan | None = None,
    borrower: Borrower | None = None,
) -> Document:
    """Make the escrow account statement of one analysis, or return the one on file."""
    loan = loan or session.get_one(Loan, analysis.loan_id)
    found = existing_document(session, ESCROW_STATEMENT, loan.id, _period(analysis))
    if found is not None:
        return found
    data = analysis.statement
    kind = INITIAL if _is_initial(session, analysis) else ANNUAL
    history = data["history"]
    figures = data["figures"]
    values = {
        "statement": {
            "kind": kind,
            "analyzed_on": analysis.analyzed_on,
            "figures": _amounts(figures),
            "payments": _amounts(data["payments"]),
            "history": {**_amounts(history), "months": [_month(m) for m in history["months"]]},
            "paid_out": _paid_out_by_kind(session, loan.id, history) if kind == ANNUAL else [],
            "projection": {
                "bills_before_year": [_amounts(b) for b in data["projection"]["bills_before_year"]],
                "months": [
                    {**_amounts(m), "disbursements": [_amounts(d) for d in m["disbursements"]]}
                    for m in data["projection"]["months"]
                ],
            },
        },
        "escrow_kinds": ESCROW_KINDS,
    }
    summary = money_summary(
        statement=kind, analysis=analysis.id, new_payment=Decimal(data["payments"]["total_from_next_year"]),
        new_payment_from=analysis.computation_year_starts, shortage=Decimal(figures["shortage"]),
        deficiency=Decimal(figures["deficiency"]), surplus=Decimal(figures["surplus"]),
    )  # fmt: skip
    return keep_letter(session, letters, loan, kind=ESCROW_STATEMENT, period=_period(analysis), values=values,
                       summary=summary, on=analysis.analyzed_on, actor=actor, borrower=borrower)  # fmt: skip


def _period(analysis: EscrowAnalysis) -> str:
    return f"analysis:{analysis.id}"


def _is_initial(session: Session, analysis: EscrowAnalysis) -> bool:
    """Tell whether an analysis sets up an account: the loan's first, with nothing ever paid in or out of it."""
    earlier = session.scalar(
        select(func.count())
        .select_from(EscrowAnalysis)
        .where(EscrowAnalysis.loan_id == analysis.loan_id, EscrowAnalysis.id < analysis.id)
    )
    history = analysis.statement["history"]
    untouched = all(Decimal(history[name]) == 0 for name in ("opening_balance", "deposits", "disbursements"))
    return not earlier and untouched


def _paid_out_by_kind(session: Session, loan_id: int, history: dict[str, Any]) -> list[dict[str, Any]]:
    """Return what the account paid out over the statement's period by kind (tax, insurance ...), refunds apart.

    Read from the same escrow ledger lines the history sums (before the analysis booked its own refund), so the
    kinds add up to its money paid out.
    """
    starts, ends = date.fromisoformat(history["starts_on"]), date.fromisoformat(history["ends_on"])
    lines = [
        (change, reference)
        for change, reference, day in session.execute(
            select(LedgerEntry.escrow, LedgerEntry.reference, LedgerEntry.effective_date).where(
                LedgerEntry.loan_id == loan_id,
                LedgerEntry.kind == EntryKind.ESCROW_DISBURSEMENT.value,
                LedgerEntry.effective_date >= starts,
                LedgerEntry.effective_date <= ends,
            )
        )
        if not (day == ends and (reference or "").startswith("escrow-refund:"))  # this analysis's own refund
    ]
    item_ids = {int(match.group(1)) for _, reference in lines if (match := _BILL.match(reference or ""))}
    kinds = {
        item: kind
        for item, kind in session.execute(select(EscrowItem.id, EscrowItem.kind).where(EscrowItem.id.in_(item_ids)))
    }
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for change, reference in lines:
        match = _BILL.match(reference or "")
        if match:
            totals[kinds.get(int(match.group(1)), OTHER)] -= change
        elif (reference or "").startswith("escrow-refund:"):
            totals[REFUNDED] -= change
        else:
            totals[OTHER] -= change
    order = ("property_tax", "hazard_insurance", "flood_insurance", "mortgage_insurance", OTHER, REFUNDED)
    return [{"kind": kind, "amount": totals[kind]} for kind in order if totals.get(kind)]


def _month(data: dict[str, Any]) -> dict[str, Any]:
    """Return a month of the history with its month ("2026-03") as the date it starts."""
    return {**_amounts(data), "month": date.fromisoformat(f"{data['month']}-01")}


def _amounts(data: dict[str, Any]) -> dict[str, Any]:
    """Return stored statement data with its money as Decimal and its ISO dates as dates."""
    converted: dict[str, Any] = {}
    for name, value in data.items():
        if isinstance(value, str) and _ISO_DATE.match(value):
            converted[name] = date.fromisoformat(value)
        elif isinstance(value, str) and _AMOUNT.match(value):
            converted[name] = Decimal(value)
        else:
            converted[name] = value
    return converted


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_AMOUNT = re.compile(r"^-?\d+(\.\d+)?$")
