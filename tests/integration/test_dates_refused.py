"""Dates that cannot be right are refused: a loan originated in the future, a payment from before we serviced it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from servicing.boarding import board_loans, parse_loan_row
from servicing.payments import PaymentInstruction, post_payments
from servicing.store.models import Loan, Payment
from tests.conftest import SECRET
from tests.integration.helpers import MORTGAGE_ROW, board

TODAY = date(2026, 3, 20)


def test_a_loan_originated_after_today_is_refused_and_nothing_is_boarded(sessions: sessionmaker[Session]) -> None:
    row = {**MORTGAGE_ROW, "loan_number": "F-1", "phone": "+15556660001", "origination_date": "2026-04-10",
           "first_payment_date": "2026-06-01"}  # fmt: skip
    with sessions.begin() as session:
        report = board_loans(session, [(7, parse_loan_row(row))], secret=SECRET, boarded_on=TODAY, actor="test")
        assert [(r.line, r.reason) for r in report.refused] == [(7, "origination_date: 2026-04-10 is in the future")]
        assert session.scalar(select(func.count()).select_from(Loan)) == 0


def test_a_payment_from_before_a_boarded_loan_came_to_us_is_refused(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        # boarded mid-life: next installment due 2026-03-01, so our servicing starts with the period from 2026-02-01
        board(session, loan_number="MID-1", original_principal="150000.00", principal_balance="140000.00",
              next_due_date="2026-03-01", boarded_on=TODAY)  # fmt: skip
        report = post_payments(session, [PaymentInstruction("MID-1", Decimal("100.00"), date(2026, 1, 15), "OLD-1")],
                               today=TODAY, business_date=TODAY, actor="test")  # fmt: skip
        assert [r.reason for r in report.refused] == [
            "received date 2026-01-15 is before our servicing of the loan began (2026-02-01)"
        ]
        assert session.scalar(select(func.count()).select_from(Payment)) == 0
