"""Use cases: a payment a specialist posts by hand for one loan, and reversing one of that loan's payments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicing.audit import record_audit
from servicing.errors import InvalidInput, PaymentRefused, ReversalRefused
from servicing.payments import PaymentInstruction, post_payments, reverse_payment
from servicing.queries import current_date, require_account
from servicing.rules.account import Account
from servicing.store.models import Loan, Payment

MANUAL_SOURCE = "console"
MANUAL_METHOD = "manual"


@dataclass(frozen=True)
class ManualPosting:
    """What posting a manual payment did: posted now, or found already posted under its reference."""

    reference: str
    posted: bool
    paid_off: bool


def post_manual_payment(
    session: Session,
    loan_number: str,
    *,
    amount: Decimal,
    received_on: date,
    reference: str,
    reason: str,
    actor: str,
    today: date,
) -> ManualPosting:
    """Post one payment received for a loan, idempotent by reference; audit who, why and how much."""
    _require_reason(reason)
    account = require_account(session, loan_number)
    instruction = PaymentInstruction(
        loan_number, amount, received_on, reference.strip(), method=MANUAL_METHOD, source=MANUAL_SOURCE
    )
    report = post_payments(session, [instruction], today=today, business_date=current_date(session, today), actor=actor)
    if report.refused:
        raise PaymentRefused(report.refused[0].reason)
    if report.already_posted:
        return ManualPosting(instruction.reference, posted=False, paid_off=False)
    record_audit(
        session, actor, "payment.posted", "loan", loan_number,
        {"reference": instruction.reference, "amount": str(amount), "currency": account.currency,
         "received_on": received_on.isoformat(), "reason": reason},
    )  # fmt: skip
    return ManualPosting(instruction.reference, posted=True, paid_off=loan_number in report.paid_off)


def reverse_loan_payment(
    session: Session, loan_number: str, reference: str, *, reason: str, actor: str, today: date
) -> Account:
    """Reverse one of this loan's payments exactly, replaying later ones; the reversal audits itself."""
    _require_reason(reason)
    account = require_account(session, loan_number)
    owner = session.scalar(
        select(Loan.loan_number).join(Payment, Payment.loan_id == Loan.id).where(Payment.reference == reference)
    )
    if owner != account.loan_number:
        raise ReversalRefused(f"loan {loan_number} has no payment with reference {reference}")
    return reverse_payment(
        session, reference, reason=reason, today=today, business_date=current_date(session, today), actor=actor
    )


def _require_reason(reason: str) -> None:
    if not reason.strip():
        raise InvalidInput("a reason is required")
