"""Delinquency: buckets by days past due, and which installments have earned a late fee."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from servicing.rules.account import Account
from servicing.rules.money import to_money

BUCKETS = ("current", "1-29", "30-59", "60-89", "90-119", "120+")


def bucket(days_past_due: int) -> str:
    """Return the delinquency bucket of a number of days past due."""
    if days_past_due <= 0:
        return "current"
    if days_past_due < 30:
        return "1-29"
    if days_past_due >= 120:
        return "120+"
    return BUCKETS[days_past_due // 30 + 1]


def late_fees_due(account: Account, day: date) -> list[tuple[date, Decimal]]:
    """Return (installment due date, fee) for each installment past its grace period on `day` and not yet charged.

    One fee per installment, never twice (late_fee_through remembers the last one charged); the
    fee is the loan's fixed late charge when it has one (UK, EU, Canadian mortgages), otherwise the
    late-fee rate times that installment's principal and interest.
    """
    fees: list[tuple[date, Decimal]] = []
    grace = timedelta(days=account.late_fee_grace_days)
    principal = account.balances.principal
    for number in account.installments_due_by(day):
        due = account.due_date(number)
        if due + grace >= day:
            break
        if account.late_fee_through is not None and due <= account.late_fee_through:
            continue
        payment, paid_principal, _ = account.principal_and_interest(number, principal)
        principal -= paid_principal
        fee = account.late_fee_amount if account.late_fee_amount > 0 else payment * account.late_fee_rate
        fees.append((due, to_money(fee, account.currency)))
    return fees
