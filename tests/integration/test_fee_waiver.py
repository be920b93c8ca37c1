"""Waiving a fee: a ledger entry lowers the fee bucket, the fee is zeroed, the audit says who and why."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from servicing.eod import run_business_day
from servicing.errors import LoanNotFound, ServicingError
from servicing.fees import FeeWaiverRefused, waive_fee
from servicing.manual_payments import post_manual_payment
from servicing.queries import payoff_for
from servicing.store.accounts import ledger_balances
from servicing.store.models import AuditEntry, Fee, LedgerEntry, Loan
from tests.integration.helpers import board

LATE_FEE_DAY = date(2026, 2, 17)  # the February 1 installment is past its 15 days of grace


@pytest.fixture
def loans(sessions: sessionmaker[Session]) -> tuple[str, str]:
    """Board two mortgages and run the end of day that charges each a late fee."""
    with sessions() as session, session.begin():
        numbers = (board(session), board(session))
    with sessions() as session, session.begin():
        run_business_day(session, LATE_FEE_DAY, "eod")
    return numbers


def fee_of(session: Session, loan_number: str) -> Fee:
    fee = session.scalar(select(Fee).join(Loan, Loan.id == Fee.loan_id).where(Loan.loan_number == loan_number))
    assert fee is not None
    return fee


def assert_ledger_agrees(session: Session) -> None:
    sums = ledger_balances(session)
    for loan in session.scalars(select(Loan)):
        b = sums[loan.id]
        assert (loan.principal_balance, loan.interest_balance, loan.escrow_balance, loan.fees_balance,
                loan.suspense_balance, loan.deferred_balance) == (
                b.principal, b.interest, b.escrow, b.fees, b.suspense, b.deferred), loan.loan_number  # fmt: skip


def snapshot(session: Session) -> tuple[Any, ...]:
    return (
        tuple(session.execute(select(Loan.loan_number, Loan.fees_balance).order_by(Loan.id))),
        tuple(session.execute(select(Fee.id, Fee.outstanding).order_by(Fee.id))),
        session.scalar(select(func.count()).select_from(LedgerEntry)),
        session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "fee.waived")),
    )


def test_a_waived_fee_is_zeroed_by_a_new_ledger_entry_and_the_sums_still_agree(
    sessions: sessionmaker[Session], loans: tuple[str, str]
) -> None:
    number, other = loans
    with sessions() as session, session.begin():
        fee = fee_of(session, number)
        assert fee.outstanding == fee.amount > 0
        payoff_before = payoff_for(session, number, date(2026, 3, 1), today=LATE_FEE_DAY).total
        waive_fee(session, number, fee.id, actor="sue", reason="goodwill", on=LATE_FEE_DAY)
    with sessions() as session:
        fee = fee_of(session, number)
        assert fee.outstanding == 0
        line = session.scalar(select(LedgerEntry).where(LedgerEntry.kind == "fee_waived"))
        assert line is not None
        assert (line.fees, line.principal, line.reference, line.posted_by) == (-fee.amount, 0, f"fee:{fee.id}", "sue")
        assert session.scalar(select(Loan.fees_balance).where(Loan.loan_number == number)) == 0
        assert session.scalar(select(Loan.fees_balance).where(Loan.loan_number == other)) > 0  # untouched
        assert payoff_for(session, number, date(2026, 3, 1), today=LATE_FEE_DAY).total == payoff_before - fee.amount
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "fee.waived"))
        assert (entry.actor, entry.subject_id, entry.detail["reason"]) == ("sue", number, "goodwill")
        assert Decimal(entry.detail["amount"]) == fee.amount
        assert_ledger_agrees(session)


@pytest.mark.parametrize("refusal", ["again", "other loan", "unknown fee", "no reason", "unknown loan"])
def test_a_refused_waiver_changes_nothing(
    sessions: sessionmaker[Session], loans: tuple[str, str], refusal: str
) -> None:
    number, other = loans
    with sessions() as session, session.begin():
        fee_id = fee_of(session, number).id
        if refusal == "again":
            waive_fee(session, number, fee_id, actor="sue", reason="goodwill", on=LATE_FEE_DAY)
    with sessions() as session:
        before = snapshot(session)
    attempts = {
        "again": (number, fee_id, "twice"),
        "other loan": (other, fee_id, "wrong loan"),
        "unknown fee": (number, 999_999, "typo"),
        "no reason": (number, fee_id, "  "),
        "unknown loan": ("NOPE", fee_id, "typo"),
    }
    loan_number, fee, reason = attempts[refusal]
    expected: type[ServicingError] = LoanNotFound if refusal == "unknown loan" else FeeWaiverRefused
    with pytest.raises(expected), sessions() as session, session.begin():
        waive_fee(session, loan_number, fee, actor="sue", reason=reason, on=LATE_FEE_DAY)
    with sessions() as session:
        assert snapshot(session) == before
        assert_ledger_agrees(session)


def test_a_payment_after_a_waiver_never_pays_the_waived_fee(
    sessions: sessionmaker[Session], loans: tuple[str, str]
) -> None:
    number, _ = loans
    with sessions() as session, session.begin():
        fee_id = fee_of(session, number).id
        waive_fee(session, number, fee_id, actor="sue", reason="goodwill", on=LATE_FEE_DAY)
    with sessions() as session, session.begin():
        post_manual_payment(session, number, amount=Decimal("5000.00"), received_on=LATE_FEE_DAY,
                            reference="big-1", reason="lump sum", actor="sam", today=LATE_FEE_DAY)  # fmt: skip
    with sessions() as session:
        assert fee_of(session, number).outstanding == 0
        assert session.scalar(select(Loan.fees_balance).where(Loan.loan_number == number)) == 0
        assert_ledger_agrees(session)
