"""Each loan follows its own country's rules and business days (docs/compliance.md, "Jurisdiction").

Reg X and Reg Z clocks apply to US loans; a UK loan two payments behind gets an arrears-information
task (MCOB 13.4.1R) instead of early intervention; other countries have no regulatory clock yet.
The loans of these tests fall due on the 1st from 2026-02-01 (tests/integration/helpers.py).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from servicing.cases import CaseKind, open_case
from servicing.eod import run_eod
from servicing.store.models import Case, Loan
from tests.integration.helpers import board

UK = {"country": "GB", "locale": "en_GB", "currency": "GBP", "postal_code": "SW1A 1AA"}


def loan_id(session: Session, number: str) -> int:
    found = session.scalar(select(Loan.id).where(Loan.loan_number == number))
    assert found is not None
    return found


def cases_of(session: Session, kind: CaseKind) -> list[Case]:
    return list(session.scalars(select(Case).where(Case.kind == kind.value)))


def test_a_uk_loan_two_payments_behind_gets_arrears_information_due_in_15_uk_business_days(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        number = board(session, **UK)
    # 2026-03-01 (a Sunday) is the second installment missed; end of day on Monday 2026-03-02 sees it:
    # the oldest unpaid (2026-02-01) is due more than a month before.
    run_eod(sessions, date(2026, 3, 1), country="GB")
    with sessions() as session:
        assert cases_of(session, CaseKind.ARREARS_INFORMATION) == []  # one payment missed is not arrears yet
    run_eod(sessions, date(2026, 3, 2), country="GB")
    with sessions() as session:
        [case] = cases_of(session, CaseKind.ARREARS_INFORMATION)
        assert case.loan_id == loan_id(session, number)
        assert case.reference.startswith("AI-")
        # Mon 2026-03-02 + 15 UK business days: Mar 3-6 (4), 9-13 (9), 16-20 (14), Mon 23 (15)
        [deadline] = case.deadlines
        assert (deadline.name, deadline.due_on, deadline.rule) == ("send_information", date(2026, 3, 23),
                                                                   "FCA MCOB 13.4.1R(1)")  # fmt: skip
        assert case.data["jurisdiction"] == "GB"
        # no Reg X early intervention for a UK loan, though 29 days past due the next days would reach 30
    run_eod(sessions, date(2026, 3, 20), country="GB")
    with sessions() as session:
        assert cases_of(session, CaseKind.EARLY_INTERVENTION) == []
        assert len(cases_of(session, CaseKind.ARREARS_INFORMATION)) == 1  # one per arrears, not one a day


def test_a_us_loan_gets_early_intervention_and_no_arrears_information(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        board(session)
    run_eod(sessions, date(2026, 3, 20), country="US")  # 2026-02-01 + 30 days = 2026-03-03
    with sessions() as session:
        # day 36 and 45 of the delinquency, and live contact again for the unpaid 2026-03-01
        assert len(cases_of(session, CaseKind.EARLY_INTERVENTION)) == 2
        assert cases_of(session, CaseKind.ARREARS_INFORMATION) == []


def test_a_notice_of_error_on_a_uk_loan_carries_the_servicers_standard_not_reg_x(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        uk = loan_id(session, board(session, **UK))
        us = loan_id(session, board(session))
        uk_case = open_case(session, CaseKind.NOTICE_OF_ERROR, opened_on=date(2026, 3, 2), country="US",
                            source="console", actor="test", loan_id=uk)  # fmt: skip
        us_case = open_case(session, CaseKind.NOTICE_OF_ERROR, opened_on=date(2026, 3, 2), country="US",
                            source="console", actor="test", loan_id=us)  # fmt: skip
        # the same periods on UK business days, named as the servicer's standard: Mon 2026-03-02 + 5 = 03-09;
        # + 30 = 04-14, one day later than in the US because Good Friday (04-03) is a UK-wide bank holiday
        assert [(d.name, d.due_on, d.rule) for d in uk_case.deadlines] == [
            ("acknowledge", date(2026, 3, 9), "servicer standard (non-US loan)"),
            ("resolve", date(2026, 4, 14), "servicer standard (non-US loan)"),
        ]
        assert uk_case.data["jurisdiction"] == "GB"
        assert {d.rule for d in us_case.deadlines} == {"Reg X 1024.35(d)", "Reg X 1024.35(e)(3)"}
        assert [d.name for d in us_case.deadlines] == ["acknowledge", "resolve"]
        # a UK payoff request keeps the 7 business days as the servicer's own (the date the bot promises):
        # Mon 2026-03-02 + 7 UK business days = Wed 2026-03-11
        payoff = open_case(session, CaseKind.PAYOFF_REQUEST, opened_on=date(2026, 3, 2), country="US",
                           source="sms", actor="test", loan_id=uk)  # fmt: skip
        assert [(d.due_on, d.rule) for d in payoff.deadlines] == [
            (date(2026, 3, 11), "servicer standard (non-US loan)")
        ]


def test_a_us_loan_counts_us_business_days_even_when_the_servicer_is_elsewhere(
    sessions: sessionmaker[Session],
) -> None:
    # A servicer in the UK (its country GB) services a US loan. A payoff request opened Tuesday 2026-11-24
    # is due in 7 US business days: 25 (1), Thanksgiving 26 skipped, 27 (2), 30 (3), Dec 1 (4), 2 (5), 3 (6),
    # 4 (7) -> 2026-12-04. On the UK calendar it would be 2026-12-03.
    with sessions.begin() as session:
        us = loan_id(session, board(session))
        case = open_case(session, CaseKind.PAYOFF_REQUEST, opened_on=date(2026, 11, 24), country="GB",
                         source="console", actor="test", loan_id=us)  # fmt: skip
        assert case.due_on == date(2026, 12, 4)
        assert case.data["jurisdiction"] == "US"
