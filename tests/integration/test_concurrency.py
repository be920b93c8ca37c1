"""Two processes at once on PostgreSQL: the same payment posted twice is posted once."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from servicing.boarding import board_loans, parse_loan_row
from servicing.payments import PaymentInstruction, PostingReport, post_payments
from servicing.store.accounts import ledger_balances, load_account
from servicing.store.models import Payment
from tests.conftest import SECRET
from tests.integration.helpers import MORTGAGE_ROW as ROW

TODAY = date(2026, 3, 20)


def test_the_same_payment_posted_from_two_workers_at_once_is_posted_once(
    sessions: sessionmaker[Session],
) -> None:
    if sessions.kw["bind"].dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers; row locks are a PostgreSQL matter")
    with sessions() as session, session.begin():
        board_loans(session, [(2, parse_loan_row({**ROW, "loan_number": "C-1", "phone": "+15550000001"}))],
                    secret=SECRET, boarded_on=TODAY, actor="test")  # fmt: skip
    payment = PaymentInstruction("C-1", D("1051.68"), date(2026, 2, 1), "ACH-777")
    reports: list[PostingReport] = []
    barrier = threading.Barrier(2)

    def worker() -> None:
        with sessions() as session, session.begin():
            barrier.wait()
            reports.append(post_payments(session, [payment], today=TODAY, business_date=TODAY, actor="worker"))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(len(r.posted) for r in reports) == [0, 1]
    assert sorted(len(r.already_posted) for r in reports) == [0, 1]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Payment)) == 1
        account = load_account(session, "C-1")
        assert account is not None
        assert account.installments_paid == 1
        assert ledger_balances(session)[account.loan_id] == account.balances
