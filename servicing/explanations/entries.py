"""The explanations as use cases: by question for a loan (the bot, the conversation page), or by ledger entry
(the console's loan page links each payment, fee and escrow change to the explanation behind it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicing.errors import InvalidInput, LoanNotFound
from servicing.explanations.changes import explain_payment_change
from servicing.explanations.fees import explain_fees
from servicing.explanations.lateness import explain_late
from servicing.explanations.payments import explain_payment
from servicing.explanations.wording import Explanation, Question
from servicing.rules.account import Account
from servicing.rules.ledger import EntryKind
from servicing.store.accounts import load_account
from servicing.store.models import EscrowAnalysis, Fee, LedgerEntry

FEE_KINDS = frozenset({EntryKind.FEE_ASSESSED.value, EntryKind.FEE_WAIVED.value})
ESCROW_KINDS = frozenset({EntryKind.ESCROW_BILLED.value, EntryKind.ESCROW_DISBURSEMENT.value})


def explain_loan(
    session: Session,
    loan_number: str,
    question: Question | str,
    *,
    today: date,
    received_on: date | None = None,
    amount: Decimal | None = None,
) -> Explanation:
    """Answer one question about a loan from its ledger (a payment may be named by its date or amount)."""
    account = _account(session, loan_number)
    asked = Question(question)
    if asked is Question.PAYMENT:
        return explain_payment(session, account, received_on=received_on, amount=amount)
    if asked is Question.FEE:
        return explain_fees(session, account, today=today)
    if asked is Question.PAYMENT_CHANGE:
        return explain_payment_change(session, account, today=today)
    return explain_late(account, today=today)


@dataclass(frozen=True)
class ExplainedEntry:
    """A ledger entry and the explanation behind it."""

    entry: LedgerEntry
    explanation: Explanation


def is_explained(kind: str, payment_id: int | None, reference: str | None) -> bool:
    """Tell whether a ledger entry has an explanation (a payment's, a fee's, an escrow analysis's)."""
    if payment_id is not None or kind in FEE_KINDS or kind == EntryKind.ESCROW_BILLED.value:
        return True
    return kind == EntryKind.ESCROW_DISBURSEMENT.value and (reference or "").startswith("escrow-refund:")


def explain_entry(session: Session, loan_number: str, entry_id: int, *, today: date) -> ExplainedEntry:
    """Explain one ledger entry of a loan: the payment it belongs to, the fee it charged, the analysis it booked."""
    account = _account(session, loan_number)
    entry = session.scalar(select(LedgerEntry).where(LedgerEntry.id == entry_id,
                                                      LedgerEntry.loan_id == account.loan_id))  # fmt: skip
    if entry is None:
        raise InvalidInput(f"loan {loan_number} has no ledger entry {entry_id}")
    if not is_explained(entry.kind, entry.payment_id, entry.reference):
        raise InvalidInput(f"a {entry.kind} entry has no explanation")
    if entry.payment_id is not None:
        return ExplainedEntry(entry, explain_payment(session, account, payment_id=entry.payment_id))
    if entry.kind in FEE_KINDS:
        return ExplainedEntry(entry, explain_fees(session, account, today=today, fee_id=_fee_of(session, account,
                                                                                              entry)))  # fmt: skip
    analysis_id = session.scalar(
        select(EscrowAnalysis.id)
        .where(EscrowAnalysis.loan_id == account.loan_id, EscrowAnalysis.analyzed_on == entry.effective_date)
        .order_by(EscrowAnalysis.id.desc())
        .limit(1)
    )
    if analysis_id is None:
        raise InvalidInput(f"no escrow analysis of loan {loan_number} on {entry.effective_date.isoformat()}")
    return ExplainedEntry(entry, explain_payment_change(session, account, today=today, analysis_id=analysis_id))


def _fee_of(session: Session, account: Account, entry: LedgerEntry) -> int:
    """Return the fee a fee entry charged or waived (a waiver's reference names it; a charge, its day and amount)."""
    reference = entry.reference or ""
    if reference.startswith("fee:") and reference.split(":")[1].isdigit():
        return int(reference.split(":")[1])
    fee_id = session.scalar(
        select(Fee.id)
        .where(Fee.loan_id == account.loan_id, Fee.assessed_on == entry.effective_date, Fee.amount == entry.fees)
        .order_by(Fee.seq)
        .limit(1)
    )
    if fee_id is None:
        raise InvalidInput(f"no fee of loan {account.loan_number} matches ledger entry {entry.id}")
    return fee_id


def _account(session: Session, loan_number: str) -> Account:
    account = load_account(session, loan_number)
    if account is None:
        raise LoanNotFound(loan_number)
    return account
