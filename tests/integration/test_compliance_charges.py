"""Charges a regulator would test: a payment is credited as of the day received (Reg Z 1026.36(c)(1)).

The mortgage of these tests (tests/integration/helpers.py `board`): 150,000 at 5.5% over 360 months,
first due 2026-02-01, 200 escrow, 15 days of grace, late fee 5% of P&I.
P&I = 851.68; the installment is 851.68 + 200.00 = 1,051.68; the late fee 5% x 851.68 = 42.58.
End of day on 2026-02-17 (2026-02-01 + 15 days of grace + 1) charges it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from servicing.eod import run_eod
from servicing.payments import PaymentInstruction, post_payments
from servicing.queries import payoff_for
from servicing.store.models import Fee, LedgerEntry, Loan
from tests.integration.helpers import board

INSTALLMENT = D("1051.68")
LATE_FEE = D("42.58")
IN_GRACE = date(2026, 2, 10)  # within 2026-02-01 + 15 days
AFTER_GRACE = date(2026, 2, 20)


def pay(sessions: sessionmaker[Session], number: str, amount: D, received: date, reference: str, on: date) -> None:
    with sessions.begin() as session:
        report = post_payments(
            session, [PaymentInstruction(number, amount, received, reference)], today=on, business_date=on,
            actor="test",
        )  # fmt: skip
        assert report.posted == [reference]


def charged_a_late_fee(sessions: sessionmaker[Session]) -> str:
    with sessions.begin() as session:
        number = board(session)
    run_eod(sessions, date(2026, 2, 17), country="US")
    with sessions() as session:
        assert [f.amount for f in session.scalars(select(Fee))] == [LATE_FEE]
    return number


def loan(session: Session, number: str) -> Loan:
    row = session.scalar(select(Loan).where(Loan.loan_number == number))
    assert row is not None
    return row


def reversals(session: Session) -> list[LedgerEntry]:
    return list(session.scalars(select(LedgerEntry).where(LedgerEntry.reference.like("fee:%:unearned"))))


def test_a_payment_received_in_grace_but_posted_after_the_fee_reverses_the_fee(
    sessions: sessionmaker[Session],
) -> None:
    number = charged_a_late_fee(sessions)
    # received 2026-02-10 (in grace), posted 2026-02-18, the day after end of day charged 42.58
    pay(sessions, number, INSTALLMENT, IN_GRACE, "LOCKBOX-1", date(2026, 2, 18))
    with sessions() as session:
        row = loan(session, number)
        assert row.fees_balance == 0  # 42.58 charged, 42.58 reversed
        [entry] = reversals(session)
        assert entry.kind == "fee_waived"
        assert entry.fees == -LATE_FEE
        assert entry.suspense == 0
        assert "paid on 2026-02-10, within its 15-day grace period" in entry.memo
        assert session.scalar(select(Fee.outstanding)) == 0
        # the payoff carries no late fee either
        assert payoff_for(session, number, date(2026, 2, 28), today=date(2026, 2, 18)).fees == 0


def test_a_payment_received_after_grace_leaves_the_fee_in_place(sessions: sessionmaker[Session]) -> None:
    number = charged_a_late_fee(sessions)
    pay(sessions, number, INSTALLMENT, AFTER_GRACE, "LOCKBOX-1", date(2026, 2, 20))
    with sessions() as session:
        assert loan(session, number).fees_balance == LATE_FEE
        assert reversals(session) == []


def test_the_fee_is_reversed_whatever_the_posting_order(sessions: sessionmaker[Session]) -> None:
    # First a payment received after grace (2026-02-20) pays installment 1 late: the fee stands. Then a
    # payment received in grace (2026-02-10) arrives from the lockbox: credited as of its receipt it pays
    # installment 1 in time (the later one is replayed onto installment 2), so the fee was never earned.
    number = charged_a_late_fee(sessions)
    pay(sessions, number, INSTALLMENT, AFTER_GRACE, "ACH-1", date(2026, 2, 20))
    with sessions() as session:
        assert loan(session, number).fees_balance == LATE_FEE
    pay(sessions, number, INSTALLMENT, IN_GRACE, "LOCKBOX-1", date(2026, 2, 23))
    with sessions() as session:
        assert loan(session, number).fees_balance == 0
        assert len(reversals(session)) == 1
    # a later payment reverses nothing more: the reversal happens once
    pay(sessions, number, INSTALLMENT, date(2026, 3, 1), "ACH-2", date(2026, 3, 2))
    with sessions() as session:
        assert len(reversals(session)) == 1


def test_a_late_fee_already_paid_goes_back_to_the_borrower_as_funds_in_suspense(
    sessions: sessionmaker[Session],
) -> None:
    # received in grace with the fee added: 1,051.68 + 42.58 = 1,094.26, posted after the fee. The waterfall
    # pays installment 1, then the 42.58 fee; the fee was not earned, so the 42.58 goes to suspense.
    number = charged_a_late_fee(sessions)
    pay(sessions, number, INSTALLMENT + LATE_FEE, IN_GRACE, "LOCKBOX-1", date(2026, 2, 18))
    with sessions() as session:
        row = loan(session, number)
        assert row.fees_balance == 0
        assert row.suspense_balance == LATE_FEE
        [entry] = reversals(session)
        assert (entry.fees, entry.suspense) == (0, LATE_FEE)


def test_a_uk_loan_is_charged_its_fixed_arrears_charge_not_a_percentage(sessions: sessionmaker[Session]) -> None:
    # MCOB 12.4.1R: the portfolio's fixed arrears charge, GBP 15.00, once for the installment due 2026-02-01
    # (not 5% of its P&I); end of day on 2026-02-17 is the first day past 15 days of grace.
    with sessions.begin() as session:
        number = board(session, country="GB", locale="en_GB", currency="GBP", postal_code="SW1A 1AA",
                       late_fee_amount="15.00")  # fmt: skip
    run_eod(sessions, date(2026, 2, 17), country="GB")
    with sessions() as session:
        assert [(f.amount, f.installment_due_date) for f in session.scalars(select(Fee))] == [
            (D("15.00"), date(2026, 2, 1))
        ]
        assert loan(session, number).late_fee_rate == 0
