"""End of day on a real database: late fees once, days past due, early intervention, scheduled payments,
escrow bills, overdue cases, interest accrual equal to the core's figure, and idempotence per date."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, sessionmaker

from servicing.cases import CaseKind, open_case
from servicing.eod import SHORTEST_MONTH_DAYS, run_eod
from servicing.errors import PaymentRefused
from servicing.scheduled import cancel_scheduled_payment, schedule_payment
from servicing.store.accounts import business_date, ledger_balances, load_account
from servicing.store.migrations import versions
from servicing.store.models import LATE_FEE_FROM, Case, EscrowItem, Fee, LedgerEntry, Loan, ScheduledPayment
from tests.integration.helpers import board

# The mortgage of these tests: 150,000 at 5.5% over 360 months, first due 2026-02-01, 200 escrow.
# P&I = 851.68 (150000 x 0.0045833 / (1 - 1.0045833^-360) = 851.6835); installment 1,051.68.


def loan_row(session: Session, number: str) -> Loan:
    loan = session.scalar(select(Loan).where(Loan.loan_number == number))
    assert loan is not None
    return loan


def eod(sessions: sessionmaker[Session], through: date) -> None:
    run_eod(sessions, through, country="US")


def test_a_late_fee_is_charged_once_the_day_after_grace_and_never_twice(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        number = board(session)
    eod(sessions, date(2026, 2, 16))  # 2026-02-01 + 15 days of grace: not late yet
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Fee)) == 0
    eod(sessions, date(2026, 2, 17))
    eod(sessions, date(2026, 2, 27))
    with sessions() as session:
        fees = session.scalars(select(Fee)).all()
        # 5% of 851.68 = 42.584 -> 42.58, for the installment due 2026-02-01 only
        assert [(f.amount, f.installment_due_date) for f in fees] == [(D("42.58"), date(2026, 2, 1))]
        assert loan_row(session, number).fees_balance == D("42.58")
    eod(sessions, date(2026, 3, 17))  # March installment past grace too (Mar 16 + 1)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Fee)) == 2


def test_days_past_due_count_from_the_oldest_unpaid_installment(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        number = board(session)
    eod(sessions, date(2026, 3, 20))
    with sessions() as session:
        assert loan_row(session, number).days_past_due == 47  # 2026-02-01 -> 2026-03-20


def test_a_30_day_delinquency_opens_one_early_intervention_task_with_day_36_and_45_deadlines(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        board(session)
    eod(sessions, date(2026, 3, 6))
    eod(sessions, date(2026, 3, 13))
    with sessions() as session:
        case, again = session.scalars(
            select(Case).where(Case.kind == CaseKind.EARLY_INTERVENTION.value).order_by(Case.id)
        ).all()
        # delinquent since 2026-02-01: live contact by day 36 (2026-03-09), written notice by day 45 (2026-03-18)
        assert {d.name: d.due_on for d in case.deadlines} == {
            "live_contact": date(2026, 3, 9),
            "written_notice": date(2026, 3, 18),
        }
        assert case.reference.startswith("EI-")
        assert case.overdue  # 2026-03-13 is past the live-contact deadline and nobody met it
        # still delinquent when 2026-03-01 fell due: live contact again within 36 days of it (2026-04-06)
        assert {d.name: d.due_on for d in again.deadlines} == {"live_contact": date(2026, 4, 6)}
        assert again.delinquency_since == date(2026, 2, 1)


def test_an_early_intervention_task_opens_on_the_very_day_the_delinquency_reaches_30_days(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        board(session)
    eod(sessions, date(2026, 3, 2))  # 29 days after 2026-02-01
    with sessions() as session:
        assert session.scalars(select(Case).where(Case.kind == CaseKind.EARLY_INTERVENTION.value)).all() == []
    eod(sessions, date(2026, 3, 3))  # day 30
    with sessions() as session:
        cases = session.scalars(select(Case).where(Case.kind == CaseKind.EARLY_INTERVENTION.value)).all()
        # the delinquency's task, and the one for 2026-03-01 (fallen due meanwhile), both opened that day
        assert [(c.opened_on, c.delinquency_since) for c in cases] == [(date(2026, 3, 3), date(2026, 2, 1))] * 2


def test_running_end_of_day_again_for_the_same_date_changes_nothing(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        board(session)
    eod(sessions, date(2026, 3, 20))
    with sessions() as session:
        before = session.scalar(select(func.count()).select_from(LedgerEntry)), ledger_balances(session)
    report = run_eod(sessions, date(2026, 3, 20), country="US")
    with sessions() as session:
        after = session.scalar(select(func.count()).select_from(LedgerEntry)), ledger_balances(session)
        assert business_date(session) == date(2026, 3, 20)
    assert report.days == []
    assert before == after


def test_end_of_day_accrues_exactly_the_interest_the_core_computes(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        numbers = [
            board(session),
            board(session, currency="CAD", country="CA", locale="fr_CA", compounding="semiannual"),
            board(session, product="auto", interest_method="actual/365", escrow_monthly="", escrow_balance=""),
            board(session, product="personal", interest_method="actual/365", currency="IDR", country="ID",
                  locale="id_ID", original_principal="75000000", escrow_monthly="", escrow_balance=""),
        ]  # fmt: skip
    eod(sessions, date(2026, 2, 20))
    with sessions() as session:
        for number in numbers:
            account = load_account(session, number)
            assert account is not None
            assert loan_row(session, number).accrued_interest == account.interest_through(date(2026, 2, 20))
    # one figure by hand: 150,000 x 0.055 x 50 / 360 (2025-12-31 -> 2026-02-20 in 30/360) = 1,145.83
    with sessions() as session:
        assert loan_row(session, numbers[0]).accrued_interest == D("1145.83")


def test_a_scheduled_payment_is_posted_on_its_date_and_a_cancelled_one_is_not(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        number = board(session, bank_account_last4="6789")
        kept = schedule_payment(session, number, amount=D("1051.68"), pay_on=date(2026, 1, 30),
                                today=date(2026, 1, 20), via="sms", actor="bot")  # fmt: skip
        dropped = schedule_payment(session, number, amount=D("50.00"), pay_on=date(2026, 1, 29),
                                   today=date(2026, 1, 20), via="sms", actor="bot")  # fmt: skip
        cancel_scheduled_payment(session, dropped.reference, today=date(2026, 1, 21), actor="bot")
    eod(sessions, date(2026, 2, 2))
    with sessions() as session:
        statuses = dict(session.execute(select(ScheduledPayment.reference, ScheduledPayment.status)).all())
        assert statuses == {kept.reference: "posted", dropped.reference: "cancelled"}
        account = load_account(session, number)
        assert account is not None
        assert account.installments_paid == 1  # paid ahead of 2026-02-01, credited on 2026-01-30


def test_a_payment_cannot_be_scheduled_without_a_bank_account_or_cancelled_on_its_day(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        without = board(session)
        with pytest.raises(PaymentRefused, match="no bank account"):
            schedule_payment(session, without, amount=D("10.00"), pay_on=date(2026, 1, 30),
                             today=date(2026, 1, 20), via="sms", actor="bot")  # fmt: skip
        number = board(session, bank_account_last4="6789")
        scheduled = schedule_payment(session, number, amount=D("10.00"), pay_on=date(2026, 1, 30),
                                     today=date(2026, 1, 20), via="sms", actor="bot")  # fmt: skip
        with pytest.raises(PaymentRefused, match="can no longer be cancelled"):
            cancel_scheduled_payment(session, scheduled.reference, today=date(2026, 1, 30), actor="bot")


def test_an_escrow_bill_is_paid_on_its_due_date_as_an_advance_when_the_account_is_short(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        number = board(session)
        session.add(EscrowItem(loan_id=loan_row(session, number).id, kind="property_tax", payee="County",
                               amount=D("1800.00"), next_due_date=date(2026, 2, 10), frequency_months=12))  # fmt: skip
    eod(sessions, date(2026, 2, 10))
    with sessions() as session:
        loan = loan_row(session, number)
        assert loan.escrow_balance == D("-1500.00")  # 300 boarded - 1,800 paid: a 1,500 advance
        assert ledger_balances(session)[loan.id].escrow == D("-1500.00")
        assert session.scalar(select(EscrowItem.next_due_date)) == date(2027, 2, 10)


def test_a_payoff_request_not_answered_in_seven_business_days_is_overdue(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        number = board(session)
        case = open_case(session, CaseKind.PAYOFF_REQUEST, opened_on=date(2026, 2, 2), country="US",
                         source="console", actor="ana", loan_id=loan_row(session, number).id)  # fmt: skip
        reference = case.reference
    # Mon 2026-02-02 + 7 business days = Wed 2026-02-11 (no holiday between)
    eod(sessions, date(2026, 2, 11))
    with sessions() as session:
        assert not session.scalar(select(Case.overdue).where(Case.reference == reference))
    eod(sessions, date(2026, 2, 12))
    with sessions() as session:
        assert session.scalar(select(Case.overdue).where(Case.reference == reference))


def test_on_postgresql_the_late_fees_are_looked_for_through_the_index_of_the_first_day_a_fee_may_be_owed(
    sessions: sessionmaker[Session],
) -> None:
    if sessions.kw["bind"].dialect.name != "postgresql":
        pytest.skip("ix_loans_late_fee_from is PostgreSQL's (migration 0027)")
    with sessions.begin() as session:
        for _ in range(3):
            board(session)
    engine = sessions.kw["bind"]
    seen: list[tuple[str, Any]] = []

    def keep_the_candidates_query(_c: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.startswith("SELECT loans.loan_number") and "late_fee_through" in statement:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep_the_candidates_query)
    try:
        eod(sessions, date(2026, 2, 17))
    finally:
        event.remove(engine, "before_cursor_execute", keep_the_candidates_query)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Fee)) == 3, "the fees are charged as before"
        statement, parameters = seen[0]
        cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(row[0] for row in cursor.execute("EXPLAIN " + statement, parameters))
    assert "ix_loans_late_fee_from" in plan, plan


def test_the_late_fee_index_is_the_expression_end_of_day_asks_for_with_the_shortest_month() -> None:
    expression = str(LATE_FEE_FROM.compile(dialect=postgresql.dialect())).replace("loans.", "")
    migration = Path(versions.__path__[0], "0027_late_fee_from.py").read_text()
    assert f"ELSE {SHORTEST_MONTH_DAYS} END" in expression
    assert " ".join(expression.split()) in " ".join(migration.replace('"', "").split())
