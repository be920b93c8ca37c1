"""Foreclosure milestones on a loan, recorded only when Reg X allows them (no dual tracking).

A servicer refers a US loan to foreclosure (the first notice or filing) only once it is more than
120 days delinquent and never while a complete loss-mitigation application waits for its decision,
its appeal window or its appeal (Reg X 1024.41(f)); it schedules a sale only when no such application
is pending (1024.41(g)). Each use case runs in the caller's transaction and is audited.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from servicing.audit import record_audit
from servicing.cases import REG_X_COUNTRIES, CaseKind
from servicing.errors import InvalidInput, LoanNotFound
from servicing.store.models import Case, CaseDeadline, Loan

FIRST_NOTICE_AFTER_DAYS = 120  # Reg X 1024.41(f)(1)(i): "more than 120 days delinquent"
# A complete application is pending from completeness until the decision, and after a denial through its
# appeal window and any appeal
PENDING_STATES = ("submitted_complete", "under_review", "appealed")


def refer_to_foreclosure(session: Session, loan_number: str, *, on: date, actor: str, reason: str) -> Loan:
    """Record the loan's referral to foreclosure (the first notice or filing), if Reg X allows it on `on`."""
    loan = _loan(session, loan_number)
    if loan.foreclosure_referred_on is not None:
        raise InvalidInput(f"loan {loan_number} was referred on {loan.foreclosure_referred_on.isoformat()}")
    if loan.country in REG_X_COUNTRIES:
        delinquent = (on - loan.next_due_date).days if loan.next_due_date < on else 0
        if delinquent <= FIRST_NOTICE_AFTER_DAYS:
            allowed = loan.next_due_date + timedelta(days=FIRST_NOTICE_AFTER_DAYS + 1)
            raise InvalidInput(
                f"loan {loan_number} is {delinquent} days delinquent: no first notice or filing before it is more "
                f"than {FIRST_NOTICE_AFTER_DAYS} (not before {allowed.isoformat()}; Reg X 1024.41(f)(1))"
            )
        _refuse_while_an_application_is_pending(session, loan, on, "1024.41(f)(2)")
    loan.foreclosure_referred_on = on
    record_audit(session, actor, "loan.foreclosure_referred", "loan", loan_number,
                 {"on": on.isoformat(), "reason": reason})  # fmt: skip
    return loan


def schedule_foreclosure_sale(
    session: Session, loan_number: str, *, sale_on: date, on: date, actor: str, reason: str
) -> Loan:
    """Record the date of a foreclosure sale on a referred loan, if no complete application is pending."""
    loan = _loan(session, loan_number)
    if loan.foreclosure_referred_on is None:
        raise InvalidInput(f"loan {loan_number} has not been referred to foreclosure")
    if sale_on <= loan.foreclosure_referred_on:
        raise InvalidInput("a sale comes after the referral")
    if loan.country in REG_X_COUNTRIES:
        _refuse_while_an_application_is_pending(session, loan, on, "1024.41(g)")
    loan.foreclosure_sale_on = sale_on
    record_audit(session, actor, "loan.foreclosure_sale_scheduled", "loan", loan_number,
                 {"sale_on": sale_on.isoformat(), "reason": reason})  # fmt: skip
    return loan


def _refuse_while_an_application_is_pending(session: Session, loan: Loan, on: date, rule: str) -> None:
    appeal_open = exists().where(
        CaseDeadline.case_id == Case.id,
        CaseDeadline.name == "appeal_window",
        CaseDeadline.met_on.is_(None),
        CaseDeadline.due_on >= on,
    )
    pending = session.scalar(
        select(Case.reference).where(
            Case.loan_id == loan.id,
            Case.kind == CaseKind.LOSS_MITIGATION.value,
            Case.closed_on.is_(None),
            or_(Case.status.in_(PENDING_STATES), and_(Case.status == "denied", appeal_open)),
        )
    )
    if pending is not None:
        raise InvalidInput(
            f"loan {loan.loan_number} has a complete loss-mitigation application pending ({pending}): "
            f"no dual tracking (Reg X {rule})"
        )


def _loan(session: Session, loan_number: str) -> Loan:
    loan = session.scalar(select(Loan).where(Loan.loan_number == loan_number).with_for_update())
    if loan is None:
        raise LoanNotFound(loan_number)
    return loan
