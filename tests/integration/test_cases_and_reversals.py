"""Cases carry their legal clocks from the moment they open; returned payments undo exactly what they did."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from servicing.cases import CaseKind, extend_resolution, meet_deadline, move_loss_mitigation, open_case
from servicing.errors import InvalidInput, LoanClosed, ReversalRefused
from servicing.payments import PaymentInstruction, post_payments, reverse_payment
from servicing.queries import payoff_for
from servicing.store.accounts import ledger_balances, load_account
from servicing.store.models import AuditEntry, Loan, Payment
from tests.integration.helpers import board

TODAY = date(2026, 3, 20)


def deadlines(case: object) -> dict[str, date]:
    return {d.name: d.due_on for d in case.deadlines}  # type: ignore[attr-defined]


def test_a_notice_of_error_opens_with_its_acknowledgement_and_resolution_deadlines(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        case = open_case(session, CaseKind.NOTICE_OF_ERROR, opened_on=date(2026, 3, 2), country="US",
                         source="bot", actor="bot", summary="late fee charged by mistake")  # fmt: skip
        assert deadlines(case) == {"acknowledge": date(2026, 3, 9), "resolve": date(2026, 4, 13)}
        assert case.due_on == date(2026, 3, 9)
        meet_deadline(session, case.reference, "acknowledge", date(2026, 3, 4), "ana")
        assert case.due_on == date(2026, 4, 13)
        # one 15-business-day extension: 2026-04-13 + 15 business days = 2026-05-04
        extend_resolution(session, case.reference, "US", "ana", on=date(2026, 4, 13), reason="research")
        assert case.due_on == date(2026, 5, 4)
        with pytest.raises(InvalidInput, match="already extended"):
            extend_resolution(session, case.reference, "US", "ana", on=date(2026, 4, 14), reason="research")


def test_an_error_about_a_payoff_must_be_resolved_in_seven_business_days(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        case = open_case(session, CaseKind.NOTICE_OF_ERROR, opened_on=date(2026, 3, 2), country="US",
                         source="console", actor="ana", topic="payoff_statement")  # fmt: skip
        assert deadlines(case)["resolve"] == date(2026, 3, 11)


def test_a_loss_mitigation_application_moves_through_its_states_with_their_clocks(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        case = open_case(session, CaseKind.LOSS_MITIGATION, opened_on=date(2026, 3, 2), country="US",
                         source="bot", actor="bot", summary="lost job")  # fmt: skip
        assert case.reference.startswith("LM-")
        assert deadlines(case) == {"completeness_notice": date(2026, 3, 9)}
        move_loss_mitigation(session, case.reference, "submitted_complete", date(2026, 3, 5), "ana")
        assert case.due_on == date(2026, 4, 4)  # decision within 30 days of a complete application
        move_loss_mitigation(session, case.reference, "under_review", date(2026, 3, 6), "ana")
        move_loss_mitigation(session, case.reference, "denied", date(2026, 3, 20), "ana")
        assert case.due_on == date(2026, 4, 3)  # the borrower may appeal for 14 days
        with pytest.raises(InvalidInput, match="cannot become approved"):
            move_loss_mitigation(session, case.reference, "approved", date(2026, 3, 21), "ana")
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.subject_id == case.reference)).all()
        assert actions == ["case.opened", "case.status", "case.status", "case.status"]


def post(session: Session, loan: str, amount: str, day: date, reference: str) -> None:
    post_payments(session, [PaymentInstruction(loan, D(amount), day, reference)], today=TODAY,
                  business_date=TODAY, actor="test")  # fmt: skip


def test_a_returned_payment_is_undone_and_later_payments_are_replayed(
    sessions: sessionmaker[Session],
) -> None:
    # installment 1,051.69 (851.68 P&I + 200 escrow); three payments, the first comes back NSF
    with sessions.begin() as session:
        loan = board(session)
        post(session, loan, "1051.68", date(2026, 2, 1), "A")
        post(session, loan, "1051.68", date(2026, 3, 1), "B")
        post(session, loan, "500.00", date(2026, 3, 10), "C")
    with sessions.begin() as session:
        account = reverse_payment(session, "A", reason="NSF", today=TODAY, business_date=TODAY, actor="ana",
                                  returned_payment_fee=D("25.00"))  # fmt: skip
        # B now pays installment 1 (due Feb 1); C is short of installment 2 and waits in suspense
        assert account.installments_paid == 1
        assert account.next_due_date == date(2026, 3, 1)
        assert account.balances.suspense == D("500.00")
        assert account.balances.fees == D("25.00")
        assert ledger_balances(session)[account.loan_id] == account.balances
        status = session.scalar(select(Payment.status).where(Payment.reference == "A"))
        assert status == "reversed"
    with sessions.begin() as session, pytest.raises(ReversalRefused, match="already reversed"):
        reverse_payment(session, "A", reason="NSF", today=TODAY, business_date=TODAY, actor="ana")


def test_a_paid_off_loan_keeps_its_closing_date_and_reopens_if_the_payoff_is_returned(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        loan = board(session)
        account = load_account(session, loan)
        assert account is not None
        post(session, loan, "150000.00", date(2025, 12, 31), "PAYOFF")  # paid through 2025-12-31: principal only
        assert session.scalar(select(Loan.closed_on).where(Loan.loan_number == loan)) == TODAY
    with sessions.begin() as session:
        post(session, loan, "10.00", date(2026, 1, 5), "LATE-CHECK")  # refused: paid off
        assert session.scalar(select(Loan.closed_on).where(Loan.loan_number == loan)) == TODAY
        with pytest.raises(LoanClosed, match="paid off: nothing to pay off"):
            payoff_for(session, loan, today=TODAY)
        reverse_payment(session, "PAYOFF", reason="chargeback", today=TODAY, business_date=TODAY, actor="ana")
        loan_row = session.scalar(select(Loan).where(Loan.loan_number == loan))
        assert loan_row is not None
        assert (loan_row.status, loan_row.closed_on, loan_row.principal_balance) == (
            "active",
            None,
            D("150000"),
        )
