"""Workouts against the database: rows written, ledger agreeing with the loan, end of day honouring them.

Loans M-1001 and M-1002 are both 200,000.00 at 6% for 360 months (30/360), P&I 1,199.10 plus 250.00
escrow, first due 2026-03-01, boarded with 500.00 in escrow; neither borrower pays anything.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from servicing.boarding import board_loans, parse_loan_row
from servicing.cases import CaseKind, open_case
from servicing.eod import run_business_day
from servicing.errors import LoanNotFound, WorkoutRefused
from servicing.payments import PaymentInstruction, post_payments
from servicing.rules.ledger import Balances
from servicing.rules.payoff import payoff_quote
from servicing.store.accounts import ledger_balances, load_account
from servicing.store.models import AuditEntry, EscrowItem, Fee, LedgerEntry, Loan, Workout
from servicing.workouts import defer_payments, end_forbearance, modify_loan, place_forbearance, start_repayment_plan

D = Decimal
FIXTURES = Path(__file__).parent.parent / "fixtures"
BOARDED_ON = date(2026, 2, 20)
# end-of-day dates one day past each installment's 15-day grace (March 1, April 1, May 1)
PAST_GRACE = (date(2026, 3, 17), date(2026, 4, 17), date(2026, 5, 18))


def mortgage_row(loan_number: str, phone: str) -> dict[str, str]:
    with (FIXTURES / "loans_small.csv").open(encoding="utf-8") as handle:
        row = next(r for r in csv.DictReader(handle) if r["loan_number"] == "M-1001")
    return {**row, "loan_number": loan_number, "phone": phone}


@pytest.fixture
def loans(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """Board M-1001 and M-1002 and return the session factory."""
    rows = [mortgage_row("M-1001", "+15551230001"), mortgage_row("M-1002", "+15551230002")]
    with sessions() as session, session.begin():
        records = [(line, parse_loan_row(row)) for line, row in enumerate(rows, start=2)]
        report = board_loans(session, records, secret="s", boarded_on=BOARDED_ON, actor="test")
        assert report.boarded == ["M-1001", "M-1002"]
    return sessions


def in_transaction(sessions: sessionmaker[Session], work: Callable[[Session], Any]) -> Any:
    with sessions() as session, session.begin():
        return work(session)


def run_days(sessions: sessionmaker[Session], *days: date) -> None:
    for day in days:
        with sessions() as session, session.begin():
            run_business_day(session, day, "eod")


def loan(session: Session, loan_number: str) -> Loan:
    found = session.scalar(select(Loan).where(Loan.loan_number == loan_number))
    assert found is not None
    return found


def balances_of(row: Loan) -> Balances:
    return Balances(
        row.principal_balance, row.interest_balance, row.escrow_balance,
        row.fees_balance, row.suspense_balance, row.deferred_balance,
    )  # fmt: skip


def assert_ledger_agrees(sessions: sessionmaker[Session]) -> None:
    """Check every loan's cached balances equal the sum of its ledger lines."""
    with sessions() as session:
        from_ledger = ledger_balances(session)
        for row in session.scalars(select(Loan)):
            assert balances_of(row) == from_ledger[row.id], row.loan_number


def late_fees_of(session: Session, loan_number: str) -> list[Decimal]:
    return list(session.scalars(select(Fee.amount).join(Loan, Loan.id == Fee.loan_id).where(
        Loan.loan_number == loan_number).order_by(Fee.seq)))  # fmt: skip


# -- forbearance ------------------------------------------------------------------------------------


def test_no_late_fee_is_assessed_while_a_forbearance_is_active(loans: sessionmaker[Session]) -> None:
    workout = in_transaction(
        loans,
        lambda s: place_forbearance(
            s, "M-1001", months=3, reduced_payment=D("0"), starts_on=date(2026, 3, 1), actor="specialist"
        ),
    )
    assert (workout.kind, workout.status, workout.ends_on) == ("forbearance", "active", date(2026, 5, 31))
    run_days(loans, *PAST_GRACE)
    with loans() as session:
        assert late_fees_of(session, "M-1001") == []
        # the loan beside it, with no forbearance, is charged 5% of 1,199.10 = 59.96 for each installment
        assert late_fees_of(session, "M-1002") == [D("59.96")] * 3
        # interest keeps accruing and the missed installments still count: 2026-05-18 - 2026-03-01 = 78 days
        assert loan(session, "M-1001").days_past_due == 78
        # 30/360 from 2026-01-31 (day 30) to 2026-05-18: 4 x 30 + 18 - 30 = 108 days;
        # 200,000 x 0.06 x 108 / 360 = 3,600.00
        assert loan(session, "M-1001").accrued_interest == D("3600.00")
    assert_ledger_agrees(loans)


def test_ending_a_forbearance_spares_its_months_late_fees_and_a_deferral_then_makes_the_loan_current(
    loans: sessionmaker[Session],
) -> None:
    in_transaction(
        loans,
        lambda s: place_forbearance(
            s, "M-1001", months=3, reduced_payment=D("0"), starts_on=date(2026, 3, 1), actor="specialist"
        ),
    )
    run_days(loans, *PAST_GRACE)
    ended = in_transaction(loans, lambda s: end_forbearance(s, "M-1001", on=date(2026, 5, 29), actor="sp"))
    with loans() as session:
        stored = session.get(Workout, ended.id)
        assert stored is not None
        assert (stored.status, stored.ends_on) == ("ended", date(2026, 5, 29))  # two days before the plan
        # arrears: 3 unpaid installments of 1,449.10 = 4,347.30 (no fee was charged, nothing in suspense)
        assert stored.terms["arrears_at_end"] == "4347.30"
    run_days(loans, date(2026, 5, 29))
    with loans() as session:
        assert late_fees_of(session, "M-1001") == []  # the forbearance months are never charged later

    workout = in_transaction(
        loans, lambda s: defer_payments(s, "M-1001", months=3, on=date(2026, 5, 29), actor="specialist")
    )
    # 3 x 1,199.10 = 3,597.30: principal 199.10 + 200.10 + 201.10 = 600.30,
    # interest 1,000.00 + 999.00 + 998.00 = 2,997.00
    assert workout.terms["deferred"] == "3597.30"
    assert (workout.terms["principal"], workout.terms["interest"]) == ("600.30", "2997.00")
    with loans() as session:
        row = loan(session, "M-1001")
        assert (row.days_past_due, row.next_due_date, row.installments_paid) == (0, date(2026, 6, 1), 3)
        assert (row.deferred_balance, row.principal_balance) == (D("3597.30"), D("199399.70"))
        assert row.interest_paid_through == date(2026, 4, 30)
    run_days(loans, date(2026, 6, 1))
    with loans() as session:
        assert loan(session, "M-1001").days_past_due == 0
    assert_ledger_agrees(loans)


# -- repayment plan -----------------------------------------------------------------------------------


def test_a_repayment_plan_is_stored_with_its_schedule_and_keeps_late_fees_away(
    loans: sessionmaker[Session],
) -> None:
    run_days(loans, PAST_GRACE[0])  # March's installment is charged 59.96 before the plan
    workout = in_transaction(
        loans, lambda s: start_repayment_plan(s, "M-1001", months=3, starts_on=date(2026, 3, 20), actor="sp")
    )
    # arrears before April 1: 1,449.10 + 59.96 = 1,509.06; / 3 = 503.02 each month
    assert workout.terms["arrears"] == "1509.06"
    assert [line["total"] for line in workout.terms["lines"]] == ["1952.12"] * 3  # 1,449.10 + 503.02
    assert workout.ends_on == date(2026, 6, 1)
    run_days(loans, *PAST_GRACE[1:])
    with loans() as session:
        assert late_fees_of(session, "M-1001") == [D("59.96")]
    assert_ledger_agrees(loans)


# -- modification -----------------------------------------------------------------------------------------


def test_modifying_a_loan_three_payments_behind_waives_fees_capitalizes_arrears_and_forbears_principal(
    loans: sessionmaker[Session],
) -> None:
    with loans() as session, session.begin():
        m1001 = loan(session, "M-1001")
        session.add(EscrowItem(loan_id=m1001.id, kind="property_tax", payee="County", amount=D("1500.00"),
                               next_due_date=date(2026, 4, 10), frequency_months=12))  # fmt: skip
    # three late fees of 59.96; the tax bill leaves escrow at 500.00 - 1,500.00 = -1,000.00
    run_days(loans, *PAST_GRACE)
    rate, on = D("0.05"), date(2026, 5, 20)
    workout = in_transaction(loans, lambda s: modify_loan(s, "M-1001", modification_rate=rate, on=on, actor="sp"))
    # the hand-checked plan of tests/unit/test_workouts.py: 1,226.77, 1,099.09, 983.68, then 959.28 with
    # 5,059.37 forborne (204,000.00 = 200,000 + 3,000.00 interest + 1,000.00 escrow advance)
    assert [s["payment"] for s in workout.terms["steps"]] == ["1226.77", "1099.09", "983.68", "959.28"]
    assert (workout.kind, workout.status) == ("modification", "completed")
    with loans() as session:
        row = loan(session, "M-1001")
        assert (row.principal_balance, row.deferred_balance) == (D("198940.63"), D("5059.37"))
        assert row.fees_balance == row.escrow_balance == row.interest_balance == 0
        assert (row.annual_rate, row.term_months, row.monthly_payment) == (D("0.05"), 480, D("959.28"))
        assert row.schedule_anchor == row.next_due_date == date(2026, 6, 1)
        assert row.installments_paid == 0
        assert (row.interest_paid_through, row.days_past_due) == (date(2026, 4, 30), 0)
        fees = session.execute(select(Fee.amount, Fee.outstanding).where(Fee.loan_id == row.id)).all()
        assert [(amount, outstanding) for amount, outstanding in fees] == [(D("59.96"), 0)] * 3
        reference = f"workout:{workout.id}"
        kinds = session.scalars(
            select(LedgerEntry.kind).where(LedgerEntry.reference == reference).order_by(LedgerEntry.id)
        ).all()
        capitalized = ["interest_accrual", "capitalization", "capitalization", "deferral"]
        assert kinds == ["fee_waived"] * 3 + capitalized
        assert session.scalar(select(AuditEntry.action).where(AuditEntry.subject_id == "M-1001")) == (
            "workout.loan_modified"
        )
        # payoff now includes the interest-free deferred balance: 198,940.63 + 5,059.37 + May's interest to
        # 2026-05-20 (198,940.63 x 0.05 x 20 / 360 = 552.61)
        account = load_account(session, "M-1001")
        assert account is not None
        assert payoff_quote(account, date(2026, 5, 20), date(2026, 5, 20)).total == D("204552.61")
    assert_ledger_agrees(loans)


def test_a_workout_can_answer_the_borrowers_loss_mitigation_case(loans: sessionmaker[Session]) -> None:
    def open_and_forbear(session: Session) -> Workout:
        case = open_case(session, CaseKind.LOSS_MITIGATION, opened_on=date(2026, 3, 2), country="US",
                         source="console", actor="sp", loan_id=loan(session, "M-1001").id)  # fmt: skip
        return place_forbearance(
            session, "M-1001", months=6, reduced_payment=D("300.00"), starts_on=date(2026, 3, 1),
            actor="sp", case_reference=case.reference,
        )  # fmt: skip

    workout = in_transaction(loans, open_and_forbear)
    assert workout.case_id is not None


# -- refusals -----------------------------------------------------------------------------------------------


def snapshot(sessions: sessionmaker[Session]) -> tuple[Any, ...]:
    """Return everything a refused workout must leave as it was."""
    with sessions() as session:
        loans_now = [tuple(r) for r in session.execute(select(Loan.__table__).order_by(Loan.id))]
        tables = (LedgerEntry, Workout, AuditEntry, Fee)
        counts = tuple(session.scalar(select(func.count()).select_from(t)) for t in tables)
        return loans_now, counts


def pay_off(session: Session) -> None:
    account = load_account(session, "M-1002")
    assert account is not None
    day = date(2026, 2, 25)
    instruction = PaymentInstruction("M-1002", payoff_quote(account, day, day).total, day, "PAYOFF-1")
    report = post_payments(session, [instruction], today=day, business_date=day, actor="t")
    assert report.paid_off == ["M-1002"]


def forbear(session: Session, loan_number: str, months: int) -> Workout:
    """Place a forbearance with no payment from 2026-03-01."""
    return place_forbearance(
        session, loan_number, months=months, reduced_payment=D("0"), starts_on=date(2026, 3, 1), actor="sp"
    )


REFUSALS: dict[str, tuple[Callable[[Session], Any], str]] = {
    "forbearance of 2 months": (lambda s: forbear(s, "M-1001", 2), "runs 3 to 12 months, not 2"),
    "forbearance of 13 months": (lambda s: forbear(s, "M-1001", 13), "runs 3 to 12 months, not 13"),
    "forbearance on a paid-off loan": (lambda s: forbear(s, "M-1002", 3), "loan M-1002 is paid off"),
    "deferral on a current loan": (
        lambda s: defer_payments(s, "M-1001", months=3, on=date(2026, 2, 25), actor="sp"),
        "loan M-1001 is current on 2026-02-25: nothing to defer",
    ),
    "second workout during a forbearance": (
        lambda s: modify_loan(s, "M-1003", modification_rate=D("0.03"), on=date(2026, 5, 20), actor="sp"),
        "loan M-1003 is in an active forbearance since 2026-03-01; end it first",
    ),
    "modification rate written as a percentage": (
        lambda s: modify_loan(s, "M-1001", modification_rate=D("4"), on=date(2026, 5, 20), actor="sp"),
        "modification rate 4 is not a rate",
    ),
    "ending a forbearance that was never placed": (
        lambda s: end_forbearance(s, "M-1001", on=date(2026, 5, 20), actor="sp"),
        "loan M-1001 has no active forbearance",
    ),
}  # fmt: skip


@pytest.mark.parametrize("refusal", list(REFUSALS))
def test_refused_workouts_change_nothing(loans: sessionmaker[Session], refusal: str) -> None:
    def prepare(session: Session) -> None:
        pay_off(session)
        board_loans(session, [(2, parse_loan_row(mortgage_row("M-1003", "+15551230003")))],
                    secret="s", boarded_on=BOARDED_ON, actor="test")  # fmt: skip
        forbear(session, "M-1003", 3)

    in_transaction(loans, prepare)
    before = snapshot(loans)
    attempt, reason = REFUSALS[refusal]
    with loans() as session:
        with pytest.raises(WorkoutRefused, match=reason):
            attempt(session)
        session.commit()  # even a caller that commits after the refusal finds nothing written
    assert snapshot(loans) == before
    assert_ledger_agrees(loans)


def test_a_workout_on_an_unknown_loan_is_refused(loans: sessionmaker[Session]) -> None:
    with loans() as session, pytest.raises(LoanNotFound):
        defer_payments(session, "NOPE-1", months=3, on=date(2026, 5, 20), actor="sp")
