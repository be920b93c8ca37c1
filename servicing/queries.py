"""Read-only use cases: a loan's summary and its payoff quote, the same figures for every channel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicing.errors import LoanClosed, LoanNotFound
from servicing.rules.account import Account, LoanStatus
from servicing.rules.delinquency import bucket
from servicing.rules.payoff import PayoffQuote, payoff_quote
from servicing.rules.workouts import ModificationPlan, modification_waterfall
from servicing.store.accounts import business_date, load_account
from servicing.store.models import Loan

PAYOFF_DAYS = 10


@dataclass(frozen=True)
class LoanSummary:
    """What a borrower or specialist sees first about a loan."""

    loan_number: str
    status: str
    currency: str
    principal_balance: Decimal
    interest_paid_through: date
    next_due_date: date | None
    amount_due: Decimal
    days_past_due: int
    bucket: str
    escrow_balance: Decimal
    suspense_balance: Decimal
    deferred_balance: Decimal
    unpaid_fees: Decimal
    monthly_payment: Decimal


def current_date(session: Session, today: date) -> date:
    """Return the business date, or `today` on a database where end of day never ran."""
    return business_date(session) or today


def require_account(session: Session, loan_number: str) -> Account:
    """Return the account or refuse an unknown loan number."""
    account = load_account(session, loan_number)
    if account is None:
        raise LoanNotFound(loan_number)
    return account


def summarize(account: Account, as_of: date) -> LoanSummary:
    """Return the summary of an account as of a date."""
    b = account.balances
    dpd = account.days_past_due(as_of)
    return LoanSummary(
        loan_number=account.loan_number,
        status=account.status.value,
        currency=account.currency,
        principal_balance=b.principal,
        interest_paid_through=account.interest_paid_through,
        next_due_date=account.next_due_date if account.status is LoanStatus.ACTIVE else None,
        amount_due=account.amount_due(as_of),
        days_past_due=dpd,
        bucket=bucket(dpd),
        escrow_balance=b.escrow,
        suspense_balance=b.suspense,
        deferred_balance=b.deferred,
        unpaid_fees=b.fees,
        monthly_payment=account.monthly_payment,
    )


def loan_summary(session: Session, loan_number: str, as_of: date | None = None, *, today: date) -> LoanSummary:
    """Summarize a loan as of a date (the business date unless given)."""
    account = require_account(session, loan_number)
    return summarize(account, as_of or current_date(session, today))


def payoff_for(session: Session, loan_number: str, good_through: date | None = None, *, today: date) -> PayoffQuote:
    """Quote a payoff on the business date, good through 10 calendar days later unless given."""
    account = require_account(session, loan_number)
    if account.status is not LoanStatus.ACTIVE:
        raise LoanClosed(f"loan {loan_number} is {account.status.value.replace('_', ' ')}: nothing to pay off")
    quote_date = current_date(session, today)
    return payoff_quote(account, quote_date, good_through or quote_date + timedelta(days=PAYOFF_DAYS))


def loan_numbers_of_borrower(session: Session, borrower_id: int) -> list[str]:
    """Return a borrower's loan numbers."""
    return list(session.scalars(select(Loan.loan_number).where(Loan.borrower_id == borrower_id).order_by(Loan.id)))


def modification_preview(
    session: Session, loan_number: str, modification_rate: Decimal, on: date | None = None, *, today: date
) -> ModificationPlan:
    """Work out, without booking it, the modification waterfall of a loan on the business date."""
    account = require_account(session, loan_number)
    return modification_waterfall(account, modification_rate, on or current_date(session, today))
