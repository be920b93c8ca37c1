"""On a real database: reversal restores every balance exactly, and the ledger always equals the cached balances."""

from __future__ import annotations

import itertools
import os
from datetime import date, timedelta
from decimal import Decimal as D
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from servicing.boarding import board_loans, parse_loan_row
from servicing.eod import assess_late_fees, disburse_escrow
from servicing.payments import PaymentInstruction, post_payments, reverse_payment
from servicing.store.accounts import ledger_balances, load_account
from servicing.store.models import EscrowItem, Loan
from tests.conftest import SECRET
from tests.integration.helpers import MORTGAGE_ROW

DB_EXAMPLES = 300 if os.environ.get("HYPOTHESIS_PROFILE") == "thorough" else 25
FIXTURE_DB = settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    max_examples=DB_EXAMPLES,
)
numbers = itertools.count(1)
START = date(2026, 1, 1)

ROW = MORTGAGE_ROW


def board(session: Session, method: str) -> str:
    """Board a fresh loan with its own number and phone; return its number."""
    n = next(numbers)
    row = {**ROW, "loan_number": f"L-{n}", "phone": f"+1555{n:07d}"}
    if method == "actual/365":
        row |= {
            "product": "auto",
            "interest_method": "actual/365",
            "escrow_monthly": "",
            "escrow_balance": "",
        }
    board_loans(session, [(n, parse_loan_row(row))], secret=SECRET, boarded_on=START, actor="test")
    return row["loan_number"]


def post(session: Session, loan: str, amount: D, day: date, reference: str, today: date) -> bool:
    """Post one payment; return whether it was taken (a future date or a closed loan is refused)."""
    report = post_payments(
        session,
        [PaymentInstruction(loan, amount, day, reference)],
        today=today,
        business_date=today,
        actor="test",
    )
    assert report.posted == [reference] or report.refused, report
    return bool(report.posted)


def position(session: Session, loan: str) -> dict[str, Any]:
    account = load_account(session, loan)
    assert account is not None
    return {
        "balances": account.balances,
        "paid_through": account.interest_paid_through,
        "installments_paid": account.installments_paid,
        "next_due": account.next_due_date,
        "status": account.status,
        "credit": account.dsi_credit,
        "fees": sorted((f.seq, f.outstanding) for f in account.open_fees),
    }


payments_strategy = st.lists(
    st.tuples(st.integers(100, 2500), st.integers(0, 150)), min_size=2, max_size=7, unique_by=lambda p: p[1]
)


@FIXTURE_DB
@given(st.sampled_from(["30/360", "actual/365"]), payments_strategy, st.data())
def test_reversing_any_payment_leaves_the_loan_as_if_it_had_never_been_posted(
    sessions: sessionmaker[Session], method: str, payments: list[tuple[int, int]], data: st.DataObject
) -> None:
    today = START + timedelta(days=200)
    dated = [(D(amount) + D("0.25"), START + timedelta(days=offset + 30)) for amount, offset in payments]
    arrival = data.draw(st.permutations(range(len(dated))), label="arrival order")
    returned = data.draw(st.integers(0, len(dated) - 1), label="returned payment")
    with sessions() as session, session.begin():
        reversed_loan, reference_loan = board(session, method), board(session, method)
    # the first loan receives the payments in arrival order (some backdated), then one comes back unpaid
    for i in arrival:
        with sessions() as session, session.begin():
            post(session, reversed_loan, *dated[i], f"{reversed_loan}-{i}", today)
    with sessions() as session, session.begin():
        reverse_payment(session, f"{reversed_loan}-{returned}", reason="NSF", today=today, business_date=today,
                        actor="test")  # fmt: skip
    # the second loan only ever receives the payments that stayed, in date order
    for i in sorted(set(range(len(dated))) - {returned}, key=lambda i: dated[i][1]):
        with sessions() as session, session.begin():
            post(session, reference_loan, *dated[i], f"{reference_loan}-{i}", today)
    with sessions() as session:
        assert position(session, reversed_loan) == position(session, reference_loan)
        assert_ledger_matches_cache(session)


def assert_ledger_matches_cache(session: Session) -> None:
    from_ledger = ledger_balances(session)
    for loan_id, number in session.execute(select(Loan.id, Loan.loan_number)):
        account = load_account(session, number)
        assert account is not None
        assert from_ledger[loan_id] == account.balances, number


operations = st.lists(
    st.one_of(
        st.tuples(st.just("pay"), st.integers(50, 3000), st.integers(-40, 20)),
        st.tuples(st.just("reverse"), st.integers(0, 20), st.just(0)),
        st.tuples(st.just("day"), st.integers(1, 25), st.just(0)),
    ),
    min_size=1,
    max_size=14,
)


@FIXTURE_DB
@given(st.sampled_from(["30/360", "actual/365"]), operations)
def test_balances_recomputed_from_the_ledger_equal_the_cached_ones_after_any_operations(
    sessions: sessionmaker[Session], method: str, ops: list[tuple[str, int, int]]
) -> None:
    with sessions() as session, session.begin():
        loan = board(session, method)
        loan_id = session.scalar(select(Loan.id).where(Loan.loan_number == loan))
        session.add(EscrowItem(loan_id=loan_id, kind="property_tax", payee="County", amount=D("900.00"),
                               next_due_date=START + timedelta(days=45), frequency_months=6))  # fmt: skip
    day, posted = START + timedelta(days=31), []
    for n, (kind, value, shift) in enumerate(ops):
        with sessions() as session, session.begin():
            if kind == "pay":
                reference = f"{loan}-{n}"
                if post(session, loan, D(value), max(START, day + timedelta(days=shift)), reference, day):
                    posted.append(reference)
            elif kind == "reverse" and posted:
                reference = posted.pop(value % len(posted))
                reverse_payment(session, reference, reason="chargeback", today=day, business_date=day,
                                actor="test", returned_payment_fee=D("25.00"))  # fmt: skip
            else:
                day += timedelta(days=value)
                assess_late_fees(session, day, "test")
                disburse_escrow(session, day, "test")
    with sessions() as session:
        assert_ledger_matches_cache(session)
