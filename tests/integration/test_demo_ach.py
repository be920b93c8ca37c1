"""The demo's ACH day: its next file drafts autopay, a validator accepts it, returns reverse and stop autopay."""

from __future__ import annotations

from datetime import timedelta

from achkit import validate
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from servicing.ach.nacha import read_file
from servicing.ach.origination import default_effective_date
from servicing.ach.returns import apply_returns_file
from servicing.demo.ach import load_demo_ach
from servicing.demo.portfolio import demo_plan, load_demo
from servicing.eod import run_eod
from servicing.queries import current_date
from servicing.store.models import AchDraft, AutopayEnrolment, Loan, Message, Payment
from tests.conftest import SECRET
from tests.integration.ach_helpers import VAULT, context, export, returns_file
from tests.integration.test_demo import AS_OF


def test_a_demo_day_drafts_autopay_into_a_valid_file_and_its_returns_reverse_two_payments_and_stop_one_autopay(
    sessions: sessionmaker[Session],
) -> None:
    load_demo(sessions, secret=SECRET, as_of=AS_OF, country="US")
    drafting = load_demo_ach(sessions, demo_plan(AS_OF).loan_numbers, vault=VAULT, country="US",
                             servicer="Loanline Demo Servicing", phone="+1 800 555 0100")  # fmt: skip
    assert drafting >= 1
    with sessions.begin() as session:
        business = current_date(session, AS_OF)
        effective = default_effective_date(business, "US")
        made = export(session, effective, business)
    assert validate(made.content.decode("ascii")) == {"ok": True, "errors": []}
    assert made.entries >= 3 and read_file(made.content).batches[0].effective_date == effective
    run_eod(sessions, effective, country="US")
    with sessions() as session:
        drafts = session.scalars(select(AchDraft).order_by(AchDraft.kind, AchDraft.id)).all()
        assert {d.status for d in drafts} == {"posted"}
        autopay = next(d for d in drafts if d.kind == "autopay")
        other = next(d for d in drafts if d.id != autopay.id)
    data = returns_file(made.content, {autopay.trace_number: "R02", other.trace_number: "R01"})
    with sessions() as session:
        before = session.scalar(select(func.max(Message.id))) or 0
        returned = session.scalars(select(Loan.loan_number).where(Loan.id.in_([autopay.loan_id, other.loan_id]))).all()
    with sessions.begin() as session:
        report = apply_returns_file(session, data, context(effective + timedelta(days=1)))
    assert (report.reversed_payments, report.autopay_stopped, report.borrowers_told) == (2, 1, 2)
    with sessions() as session:
        reversed_ = session.scalars(select(Payment.reference).where(Payment.status == "reversed")).all()
        assert sorted(reversed_) == sorted([autopay.reference, other.reference])
        stopped = session.scalars(select(AutopayEnrolment).where(AutopayEnrolment.loan_id == autopay.loan_id)).one()
        assert stopped.status == "stopped" and "R02" in (stopped.stop_reason or "")
        told = session.scalars(select(Message.body).where(Message.id > before)).all()
    # each borrower is told in their own language (the demo has Arabic and Chinese borrowers): by the loan's last 4
    assert sorted(n[-4:] for n in returned for body in told if n[-4:] in body) == sorted(n[-4:] for n in returned)
