"""Reg X clocks of notices of error and information requests by topic, and their one extension.

Business days are US ones; 2026-03-02 is a Monday and no federal holiday falls in March or April 2026.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from servicing.cases import CaseKind, extend_resolution, open_case
from servicing.errors import InvalidInput
from servicing.store.models import Case, Loan
from tests.integration.helpers import board

OPENED = date(2026, 3, 2)


def a_loan(session: Session, **fields: object) -> int:
    number = board(session)
    if fields:
        session.execute(update(Loan).where(Loan.loan_number == number).values(**fields))
    loan_id = session.scalar(select(Loan.id).where(Loan.loan_number == number))
    assert loan_id is not None
    return loan_id


def opened(session: Session, kind: CaseKind, topic: str, loan_id: int) -> Case:
    return open_case(session, kind, opened_on=OPENED, country="US", source="console", actor="ana", loan_id=loan_id,
                     topic=topic)  # fmt: skip


def resolve_by(case: Case) -> date:
    return next(d.due_on for d in case.deadlines if d.name in {"resolve", "answer"})


def test_a_payoff_statement_error_is_resolved_in_seven_business_days_with_no_extension(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        case = opened(session, CaseKind.NOTICE_OF_ERROR, "payoff_statement", a_loan(session))
        assert resolve_by(case) == date(2026, 3, 11)  # Mar 3, 4, 5, 6, 9, 10, 11
        with pytest.raises(InvalidInput, match="payoff statement: no extension"):
            extend_resolution(session, case.reference, "US", "ana", on=date(2026, 3, 5), reason="research")


def test_a_foreclosure_sale_error_is_resolved_before_the_sale_or_in_thirty_business_days(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        # 30 business days from 2026-03-02 is 2026-04-13; a sale on 2026-03-20 comes first: resolve by 03-19
        before_sale = opened(session, CaseKind.NOTICE_OF_ERROR, "foreclosure_sale",
                             a_loan(session, foreclosure_sale_on=date(2026, 3, 20)))  # fmt: skip
        assert resolve_by(before_sale) == date(2026, 3, 19)
        no_sale = opened(session, CaseKind.NOTICE_OF_ERROR, "foreclosure_sale", a_loan(session))
        assert resolve_by(no_sale) == date(2026, 4, 13)
        with pytest.raises(InvalidInput, match="foreclosure sale: no extension"):
            extend_resolution(session, no_sale.reference, "US", "ana", on=OPENED, reason="research")


def test_a_request_for_the_owners_identity_is_answered_in_ten_business_days_with_no_extension(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        case = opened(session, CaseKind.REQUEST_FOR_INFORMATION, "owner", a_loan(session))
        assert resolve_by(case) == date(2026, 3, 16)  # Mar 3-6 (4), 9-13 (9), 16 (10)
        with pytest.raises(InvalidInput, match="owner: no extension"):
            extend_resolution(session, case.reference, "US", "ana", on=OPENED, reason="research")


def test_an_extension_comes_before_the_deadline_and_with_a_reason(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        case = opened(session, CaseKind.REQUEST_FOR_INFORMATION, "general", a_loan(session))
        assert resolve_by(case) == date(2026, 4, 13)  # 30 business days
        with pytest.raises(InvalidInput, match="too late to extend"):
            extend_resolution(session, case.reference, "US", "ana", on=date(2026, 4, 14), reason="research")
        with pytest.raises(InvalidInput, match="needs the reason"):
            extend_resolution(session, case.reference, "US", "ana", on=date(2026, 4, 13), reason=" ")
        extend_resolution(session, case.reference, "US", "ana", on=date(2026, 4, 13), reason="research")
        assert resolve_by(case) == date(2026, 5, 4)  # + 15 business days
        assert case.data["extension_reason"] == "research"


def test_a_topic_its_kind_does_not_have_is_refused(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        loan_id = a_loan(session)
        with pytest.raises(InvalidInput, match="cannot be about payoff statement"):
            opened(session, CaseKind.REQUEST_FOR_INFORMATION, "payoff_statement", loan_id)
        with pytest.raises(InvalidInput, match="unknown topic"):
            opened(session, CaseKind.NOTICE_OF_ERROR, "gossip", loan_id)
