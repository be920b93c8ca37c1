"""Accounts built in memory for the pure tests, with the terms spelled out."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from servicing.rules.account import Account, Product
from servicing.rules.interest import Compounding, InterestMethod, level_payment
from servicing.rules.ledger import Balances


def mortgage(
    principal: str = "200000.00",
    rate: str = "0.06",
    term: int = 360,
    first_due: date = date(2026, 2, 1),
    escrow: str = "0.00",
    currency: str = "USD",
    compounding: Compounding = Compounding.MONTHLY,
    grace: int = 15,
) -> Account:
    """Return a new 30/360 mortgage whose first installment is due on `first_due`."""
    amount, annual = Decimal(principal), Decimal(rate)
    return Account(
        loan_id=1,
        loan_number="M-1",
        currency=currency,
        product=Product.MORTGAGE,
        interest_method=InterestMethod.SCHEDULED_30_360,
        compounding=compounding,
        annual_rate=annual,
        monthly_payment=level_payment(amount, annual, term, currency, compounding),
        term_months=term,
        schedule_anchor=first_due,
        late_fee_rate=Decimal("0.05"),
        late_fee_grace_days=grace,
        escrow_monthly=Decimal(escrow),
        interest_paid_through=first_due - relativedelta(months=1) - timedelta(days=1),
        balances=Balances(principal=amount, escrow=Decimal(0)),
    )


def personal(
    principal: str = "10000.00",
    rate: str = "0.12",
    term: int = 36,
    originated: date = date(2026, 1, 15),
    first_due: date = date(2026, 2, 15),
    currency: str = "USD",
) -> Account:
    """Return a new daily-simple-interest (actual/365) loan originated on `originated`."""
    amount, annual = Decimal(principal), Decimal(rate)
    return Account(
        loan_id=2,
        loan_number="P-1",
        currency=currency,
        product=Product.PERSONAL,
        interest_method=InterestMethod.DAILY_ACTUAL_365,
        compounding=Compounding.MONTHLY,
        annual_rate=annual,
        monthly_payment=level_payment(amount, annual, term, currency),
        term_months=term,
        schedule_anchor=first_due,
        late_fee_rate=Decimal("0.05"),
        late_fee_grace_days=15,
        escrow_monthly=Decimal(0),
        interest_paid_through=originated,
        balances=Balances(principal=amount),
    )
