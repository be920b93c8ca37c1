"""Reg X 1024.41: appeals in time and by someone else, and no foreclosure while an application is pending.

The mortgage (tests/integration/helpers.py) falls due on the 1st from 2026-02-01 and is never paid here,
so on day D it is (D - 2026-02-01) days delinquent.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from servicing import decisions
from servicing.cases import CaseKind, open_case
from servicing.errors import InvalidInput
from servicing.foreclosure import refer_to_foreclosure, schedule_foreclosure_sale
from servicing.store.models import Loan, Message
from tests.integration.helpers import board

NOW = datetime(2026, 3, 2, 15, tzinfo=UTC)


def application(session: Session, number: str, complete_on: date) -> str:
    loan = session.scalars(select(Loan).where(Loan.loan_number == number)).one()
    case = open_case(session, CaseKind.LOSS_MITIGATION, opened_on=complete_on, country="US", source="console",
                     actor="sam", loan_id=loan.id, borrower_id=loan.borrower_id, summary="lost job")  # fmt: skip
    decisions.mark_application_complete(session, case.reference, on=complete_on, now=NOW, actor="sam", note="all in")
    return case.reference


def denied(session: Session, number: str) -> str:
    reference = application(session, number, date(2026, 3, 2))
    decisions.deny_application(session, reference, "income", on=date(2026, 3, 10), now=NOW, actor="ana",
                               note="DTI too high")  # fmt: skip
    return reference


def test_an_appeal_comes_within_14_days_of_the_denial(sessions: sessionmaker[Session]) -> None:
    # denied 2026-03-10: the borrower may appeal through 2026-03-24 (14 calendar days)
    with sessions.begin() as session:
        reference = denied(session, board(session))
        with pytest.raises(InvalidInput, match=r"appeal window closed on 2026-03-24 \(Reg X 1024.41\(h\)\(2\)\)"):
            decisions.record_appeal(session, reference, on=date(2026, 3, 25), actor="sam", note="late letter")
        assert (
            decisions.record_appeal(session, reference, on=date(2026, 3, 24), actor="sam", note="letter").case.status
            == "appealed"
        )


def test_an_appeal_is_decided_by_someone_other_than_the_specialist_who_denied(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        reference = denied(session, board(session))
        decisions.record_appeal(session, reference, on=date(2026, 3, 20), actor="sam", note="new pay stubs")
        with pytest.raises(InvalidInput, match="someone other than the specialist who denied"):
            decisions.approve_application(session, reference, on=date(2026, 3, 30), now=NOW, actor="ana", note="ok")
        with pytest.raises(InvalidInput, match="someone other than the specialist who denied"):
            decisions.deny_application(session, reference, "income", on=date(2026, 3, 30), now=NOW, actor="ana",
                                       note="still no")  # fmt: skip
        case = decisions.approve_application(session, reference, on=date(2026, 3, 30), now=NOW, actor="sue",
                                             note="income verified").case  # fmt: skip
        assert (case.status, case.closed_on) == ("approved", date(2026, 3, 30))


def test_no_first_notice_or_filing_until_more_than_120_days_delinquent(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        number = board(session)
        # 2026-06-01 is 120 days after 2026-02-01: not yet "more than 120"; 2026-06-02 is 121
        with pytest.raises(InvalidInput, match=r"120 days delinquent.*not before 2026-06-02"):
            refer_to_foreclosure(session, number, on=date(2026, 6, 1), actor="sue", reason="file review")
        loan = refer_to_foreclosure(session, number, on=date(2026, 6, 2), actor="sue", reason="file review")
        assert loan.foreclosure_referred_on == date(2026, 6, 2)


def test_no_referral_or_sale_while_a_complete_application_is_pending(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        number = board(session)
        reference = application(session, number, date(2026, 6, 1))
        with pytest.raises(InvalidInput, match=f"pending \\({reference}\\): no dual tracking"):
            refer_to_foreclosure(session, number, on=date(2026, 6, 10), actor="sue", reason="file review")
        decisions.deny_application(session, reference, "income", on=date(2026, 6, 10), now=NOW, actor="ana",
                                   note="DTI")  # fmt: skip
        # still pending through the appeal window (2026-06-24)
        with pytest.raises(InvalidInput, match="no dual tracking"):
            refer_to_foreclosure(session, number, on=date(2026, 6, 24), actor="sue", reason="file review")
        refer_to_foreclosure(session, number, on=date(2026, 6, 25), actor="sue", reason="no appeal")
        sale = schedule_foreclosure_sale(session, number, sale_on=date(2026, 9, 1), on=date(2026, 6, 26),
                                         actor="sue", reason="court date")  # fmt: skip
        assert sale.foreclosure_sale_on == date(2026, 9, 1)


def test_a_sale_needs_a_referral_first(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        number = board(session)
        with pytest.raises(InvalidInput, match="has not been referred"):
            schedule_foreclosure_sale(session, number, sale_on=date(2026, 9, 1), on=date(2026, 6, 26), actor="sue",
                                      reason="court date")  # fmt: skip


def notices(session: Session) -> list[str]:
    return [m.body for m in session.scalars(select(Message).where(Message.direction == "out").order_by(Message.id))]


def lm_case(session: Session, number: str, opened_on: date) -> str:
    loan = session.scalars(select(Loan).where(Loan.loan_number == number)).one()
    case = open_case(session, CaseKind.LOSS_MITIGATION, opened_on=opened_on, country="US", source="console",
                     actor="sam", loan_id=loan.id, borrower_id=loan.borrower_id, summary="lost job")  # fmt: skip
    return case.reference


def test_an_incomplete_application_names_the_documents_and_a_reasonable_date_to_send_them(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        number = board(session)
        reference = lm_case(session, number, date(2026, 3, 2))
        # acknowledged 2026-03-02: 30 days on is 04-01; the 120th day of the delinquency (since 02-01) is 06-01
        case = decisions.mark_application_incomplete(session, reference, ["income"], on=date(2026, 3, 2), now=NOW,
                                                     actor="sam", note="need pay stubs").case  # fmt: skip
        assert case.data["documents_due"] == "2026-04-01"
        assert "proof of income. Please send them by April 1, 2026" in notices(session)[-1]
        # with a sale on 2026-05-01, 38 days before it (03-24) comes first (90 days before it has passed)
        other = board(session)
        session.execute(update(Loan).where(Loan.loan_number == other).values(foreclosure_sale_on=date(2026, 5, 1)))
        second = lm_case(session, other, date(2026, 3, 2))
        case = decisions.mark_application_incomplete(session, second, ["bank"], on=date(2026, 3, 2), now=NOW,
                                                     actor="sam", note="statements").case  # fmt: skip
        assert case.data["documents_due"] == "2026-03-24"


def test_completion_dates_the_decision_and_the_notice_and_sets_the_protections_and_the_acceptance_window(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        number = board(session)
        session.execute(update(Loan).where(Loan.loan_number == number).values(foreclosure_sale_on=date(2026, 5, 1)))
        reference = lm_case(session, number, date(2026, 2, 20))
        # the last document arrived 2026-03-02 and the specialist marks it on 2026-03-06: the decision is due
        # 30 days after receipt (04-01), the complete notice was due 5 business days after it (03-09), met 03-06
        case = decisions.mark_application_complete(session, reference, on=date(2026, 3, 6), now=NOW, actor="sam",
                                                   note="all in", received_on=date(2026, 3, 2)).case  # fmt: skip
        deadlines = {d.name: (d.due_on, d.met_on) for d in case.deadlines}
        assert deadlines["decision"] == (date(2026, 4, 1), None)
        assert deadlines["complete_notice"] == (date(2026, 3, 9), date(2026, 3, 6))
        # received 60 days before the 2026-05-01 sale: evaluated and no sale meanwhile (> 37), acknowledged (>= 45),
        # no appeal (< 90), 7 days to accept an offer (37 to 90)
        assert case.data["protections"] == {
            "days_before_sale": 60, "evaluated_and_no_sale": True, "acknowledged": True, "appealable": False,
            "acceptance_days": 7,
        }  # fmt: skip
        decisions.approve_application(session, reference, on=date(2026, 3, 20), now=NOW, actor="sue", note="ok")
        assert case.data["accept_by"] == "2026-03-27"
        assert "you may accept them until March 27, 2026" in notices(session)[-1]
        with pytest.raises(InvalidInput, match="a day still to come"):
            decisions.mark_application_complete(session, lm_case(session, number, date(2026, 3, 6)),
                                                on=date(2026, 3, 6), now=NOW, actor="sam", note="x",
                                                received_on=date(2026, 3, 7))  # fmt: skip


def test_an_application_completed_fewer_than_90_days_before_the_sale_has_no_appeal(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        number = board(session)
        session.execute(update(Loan).where(Loan.loan_number == number).values(foreclosure_sale_on=date(2026, 5, 1)))
        # complete 2026-03-02, 60 days before the sale: no appeal is owed (Reg X 1024.41(h)(1): 90 days or more)
        reference = application(session, number, date(2026, 3, 2))
        decisions.deny_application(session, reference, "income", on=date(2026, 3, 10), now=NOW, actor="ana",
                                   note="DTI")  # fmt: skip
        with pytest.raises(InvalidInput, match="no appeal"):
            decisions.record_appeal(session, reference, on=date(2026, 3, 12), actor="sam", note="letter")
