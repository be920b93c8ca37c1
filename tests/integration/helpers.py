"""Boarding loans for database tests: one mortgage row, changed per test."""

from __future__ import annotations

import itertools
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from servicing.boarding import board_loans, parse_loan_row
from tests.conftest import SECRET

MORTGAGE_ROW = {
    "product": "mortgage", "borrower_first_name": "Ana", "borrower_last_name": "Silva",
    "date_of_birth": "1980-05-04", "tax_id_last4": "1234", "postal_code": "10001", "country": "US",
    "locale": "en_US", "currency": "USD", "original_principal": "150000.00", "annual_rate": "0.055",
    "term_months": "360", "origination_date": "2025-12-10", "first_payment_date": "2026-02-01",
    "interest_method": "30/360", "escrow_monthly": "200.00", "escrow_balance": "300.00",
}  # fmt: skip
_numbers = itertools.count(1)


def board(session: Session, boarded_on: date = date(2026, 1, 1), **fields: Any) -> str:
    """Board one loan (a mortgage unless fields say otherwise) with its own number and phone; return its number."""
    n = next(_numbers)
    row = {**MORTGAGE_ROW, "loan_number": f"L-{n}", "phone": f"+1555{n:07d}", **fields}
    report = board_loans(session, [(n, parse_loan_row(row))], secret=SECRET, boarded_on=boarded_on, actor="test")
    assert report.boarded == [row["loan_number"]], report
    return str(row["loan_number"])


class Clock:
    """A clock the test moves."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now
