"""Scheduled payments: a one-time payment from the bank account on file, posted by end of day on its date."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicing.audit import record_audit
from servicing.errors import PaymentRefused
from servicing.queries import require_account
from servicing.rules.account import LoanStatus
from servicing.rules.calendar import add_business_days, is_business_day
from servicing.rules.money import is_money
from servicing.rules.payoff import payoff_quote
from servicing.store.models import Loan, ScheduledPayment

MAX_DAYS_AHEAD = 60


def schedule_payment(
    session: Session,
    loan_number: str,
    *,
    amount: Decimal,
    pay_on: date,
    today: date,
    via: str,
    actor: str,
) -> ScheduledPayment:
    """Schedule a one-time payment from the bank account on file; end of day posts it on `pay_on`."""
    account = require_account(session, loan_number)
    bank = session.scalar(select(Loan.bank_account_last4).where(Loan.id == account.loan_id))
    if account.status is not LoanStatus.ACTIVE:
        raise PaymentRefused(f"loan {loan_number} is {account.status.value.replace('_', ' ')}")
    if not bank:
        raise PaymentRefused("no bank account on file for this loan")
    if amount <= 0 or not is_money(amount, account.currency):
        raise PaymentRefused(f"amount {amount} is not a positive {account.currency} amount")
    if not today <= pay_on <= today + timedelta(days=MAX_DAYS_AHEAD):
        raise PaymentRefused(f"payment date must be between today and {MAX_DAYS_AHEAD} days ahead")
    if amount > payoff_quote(account, today, pay_on).total:
        raise PaymentRefused("amount is more than the payoff amount on that date")
    scheduled = ScheduledPayment(
        loan_id=account.loan_id,
        reference=f"SCH-new-{loan_number}-{pay_on.isoformat()}",
        amount=amount,
        scheduled_for=pay_on,
        bank_account_last4=bank,
        status="scheduled",
        created_via=via,
    )
    session.add(scheduled)
    session.flush()
    scheduled.reference = f"SCH-{scheduled.id:06d}"
    record_audit(session, actor, "payment.scheduled", "loan", loan_number,
                 {"reference": scheduled.reference, "pay_on": pay_on.isoformat(), "via": via})  # fmt: skip
    return scheduled


def posting_day(pay_on: date, country: str) -> date:
    """Return the day end of day posts a payment scheduled for `pay_on`: that day, or the next business day.

    End of day runs on business days only, and posts every scheduled payment due on or before its date,
    credited as of the day it was scheduled for.
    """
    return pay_on if is_business_day(pay_on, country) else add_business_days(pay_on, 1, country)


def cancel_scheduled_payment(session: Session, reference: str, *, today: date, actor: str) -> ScheduledPayment:
    """Cancel a scheduled payment before its date."""
    scheduled = session.scalar(select(ScheduledPayment).where(ScheduledPayment.reference == reference))
    if scheduled is None:
        raise PaymentRefused(f"no scheduled payment {reference}")
    if scheduled.status != "scheduled":
        raise PaymentRefused(f"scheduled payment {reference} is already {scheduled.status}")
    if scheduled.scheduled_for <= today:
        raise PaymentRefused(f"scheduled payment {reference} is due today and can no longer be cancelled")
    scheduled.status = "cancelled"
    record_audit(session, actor, "payment.schedule_cancelled", "scheduled_payment", reference, {})
    return scheduled


def pending_payments(session: Session, loan_number: str) -> list[ScheduledPayment]:
    """Return a loan's scheduled payments not yet posted, soonest first."""
    account = require_account(session, loan_number)
    query = (
        select(ScheduledPayment)
        .where(ScheduledPayment.loan_id == account.loan_id, ScheduledPayment.status == "scheduled")
        .order_by(ScheduledPayment.scheduled_for)
    )
    return list(session.scalars(query))
