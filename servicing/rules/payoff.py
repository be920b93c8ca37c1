"""The payoff quote: what it takes to close a loan on a good-through date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from servicing.rules.account import Account
from servicing.rules.money import ZERO, to_money


@dataclass(frozen=True)
class PayoffQuote:
    """A payoff statement's figures, in the loan's currency."""

    loan_number: str
    currency: str
    quote_date: date
    good_through: date
    principal: Decimal
    interest: Decimal
    fees: Decimal
    escrow_advance: Decimal
    deferred: Decimal
    suspense: Decimal
    total: Decimal
    per_diem: Decimal
    escrow_refund: Decimal


def payoff_quote(account: Account, quote_date: date, good_through: date) -> PayoffQuote:
    """Quote principal + interest to G + fees + escrow advance + deferred - suspense."""
    balances = account.balances
    interest = balances.interest + account.interest_through(good_through)
    escrow_advance = to_money(max(ZERO, -balances.escrow), account.currency)
    total = balances.principal + interest + balances.fees + escrow_advance + balances.deferred - balances.suspense
    return PayoffQuote(
        loan_number=account.loan_number,
        currency=account.currency,
        quote_date=quote_date,
        good_through=good_through,
        principal=balances.principal,
        interest=interest,
        fees=balances.fees,
        escrow_advance=escrow_advance,
        deferred=balances.deferred,
        suspense=balances.suspense,
        total=total,
        per_diem=account.per_diem(),
        escrow_refund=to_money(max(ZERO, balances.escrow), account.currency),
    )
