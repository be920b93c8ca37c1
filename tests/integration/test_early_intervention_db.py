"""End of day keeps the Reg X 1024.39 clocks of a US delinquency that rolls and lingers.

The mortgage (tests/integration/helpers.py): installments of 1,051.68 due on the 1st from 2026-02-01.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from servicing.cases import CaseKind
from servicing.decisions import record_written_notice
from servicing.eod import run_eod
from servicing.payments import PaymentInstruction, post_payments
from servicing.store.models import Case
from tests.integration.helpers import board


def early_intervention(session: Session) -> list[tuple[date | None, list[tuple[str, date]]]]:
    cases = session.scalars(select(Case).where(Case.kind == CaseKind.EARLY_INTERVENTION.value).order_by(Case.id))
    return [(case.delinquency_since, [(d.name, d.due_on) for d in case.deadlines]) for case in cases]


def test_a_rolling_delinquency_is_contacted_after_each_due_date_and_noticed_once_in_180_days(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        number = board(session)
    # 2026-03-03: 30 days past 2026-02-01. Contact by 03-09, notice by 03-18; 03-01 fell due unpaid too:
    # contact again by 03-01 + 36 = 04-06.
    run_eod(sessions, date(2026, 3, 3), country="US")
    with sessions() as session:
        assert early_intervention(session) == [
            (date(2026, 2, 1), [("live_contact", date(2026, 3, 9)), ("written_notice", date(2026, 3, 18))]),
            (date(2026, 2, 1), [("live_contact", date(2026, 4, 6))]),
        ]
        first = session.scalars(select(Case.reference).where(Case.kind == "early_intervention")).first()
    with sessions.begin() as session:
        assert first is not None
        record_written_notice(session, first, on=date(2026, 3, 10), actor="sam", note="39(b) letter mailed")
        # the borrower catches up one installment on 2026-03-20: still delinquent, now since 2026-03-01
        post_payments(session, [PaymentInstruction(number, D("1051.68"), date(2026, 3, 20), "P-1")],
                      today=date(2026, 3, 20), business_date=date(2026, 3, 20), actor="test")  # fmt: skip
    # 2026-03-31: 30 days past 03-01. Its day-36 contact (04-06) is already asked; its notice (by 04-15) is
    # within 180 days of the one sent 03-10: no new task.
    run_eod(sessions, date(2026, 3, 31), country="US")
    with sessions() as session:
        assert len(early_intervention(session)) == 2
    # 2026-04-01 falls due unpaid: contact again by 04-01 + 36 = 05-07
    run_eod(sessions, date(2026, 4, 2), country="US")
    with sessions() as session:
        assert early_intervention(session)[2:] == [(date(2026, 3, 1), [("live_contact", date(2026, 5, 7))])]
    run_eod(sessions, date(2026, 4, 10), country="US")  # nothing twice
    with sessions() as session:
        assert len(early_intervention(session)) == 3
