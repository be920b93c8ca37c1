"""Cases and their regulatory clocks: payoff requests, notices of error, information requests,
loss-mitigation applications and early-intervention tasks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy import case as when
from sqlalchemy.orm import Session, selectinload

from servicing.audit import record_audit
from servicing.errors import CaseNotFound, InvalidInput
from servicing.rules.calendar import add_business_days, business_days_between
from servicing.store.models import AuditEntry, Case, CaseDeadline, Loan, table_of, utcnow


class CaseKind(StrEnum):
    """The regulated requests and tasks a servicer must answer on time."""

    PAYOFF_REQUEST = "payoff_request"
    NOTICE_OF_ERROR = "notice_of_error"
    REQUEST_FOR_INFORMATION = "request_for_information"
    LOSS_MITIGATION = "loss_mitigation"
    EARLY_INTERVENTION = "early_intervention"


@dataclass(frozen=True)
class Clock:
    """One deadline a case carries from the moment it opens."""

    name: str
    days: int
    business: bool
    rule: str


PREFIXES = {
    CaseKind.PAYOFF_REQUEST: "PR",
    CaseKind.NOTICE_OF_ERROR: "NE",
    CaseKind.REQUEST_FOR_INFORMATION: "RI",
    CaseKind.LOSS_MITIGATION: "LM",
    CaseKind.EARLY_INTERVENTION: "EI",
}

OPENING_CLOCKS: dict[CaseKind, tuple[Clock, ...]] = {
    CaseKind.PAYOFF_REQUEST: (Clock("send_statement", 7, True, "Reg Z 1026.36(c)(3)"),),
    CaseKind.NOTICE_OF_ERROR: (
        Clock("acknowledge", 5, True, "Reg X 1024.35(d)"),
        Clock("resolve", 30, True, "Reg X 1024.35(e)(3)"),
    ),
    CaseKind.REQUEST_FOR_INFORMATION: (
        Clock("acknowledge", 5, True, "Reg X 1024.36(c)"),
        Clock("answer", 30, True, "Reg X 1024.36(d)(2)"),
    ),
    CaseKind.LOSS_MITIGATION: (Clock("completeness_notice", 5, True, "Reg X 1024.41(b)(2)(i)(B)"),),
}

PAYOFF_ERROR_CLOCK = Clock("resolve", 7, True, "Reg X 1024.35(e)(3)(i)(A)")
EXTENSION_DAYS = 15
DECISION_CLOCK = Clock("decision", 30, False, "Reg X 1024.41(c)(1)")
APPEAL_CLOCK = Clock("appeal_window", 14, False, "Reg X 1024.41(h)")
EARLY_INTERVENTION_CLOCKS = (
    Clock("live_contact", 36, False, "Reg X 1024.39(a)"),
    Clock("written_notice", 45, False, "Reg X 1024.39(b)"),
)

LOSS_MITIGATION_STATES = {
    "started": {"submitted_incomplete", "submitted_complete"},
    "submitted_incomplete": {"submitted_complete"},
    "submitted_complete": {"under_review"},
    "under_review": {"approved", "denied"},
    "denied": {"appealed"},
    "appealed": {"approved", "denied_final"},
}


def due_date(start: date, clock: Clock, country: str) -> date:
    """Return when a clock started on `start` runs out (business or calendar days)."""
    if clock.business:
        return add_business_days(start, clock.days, country)
    return start + timedelta(days=clock.days)


def open_case(
    session: Session,
    kind: CaseKind,
    *,
    opened_on: date,
    country: str,
    source: str,
    actor: str,
    loan_id: int | None = None,
    borrower_id: int | None = None,
    summary: str = "",
    data: dict[str, Any] | None = None,
    payoff_error: bool = False,
) -> Case:
    """Open a case with every deadline it carries from day one; return it with its reference."""
    clocks = list(OPENING_CLOCKS[kind])
    if kind is CaseKind.NOTICE_OF_ERROR and payoff_error:
        clocks = [clocks[0], PAYOFF_ERROR_CLOCK]
    status = "started" if kind is CaseKind.LOSS_MITIGATION else "open"
    case = Case(
        reference=f"{PREFIXES[kind]}-new",
        kind=kind.value,
        status=status,
        loan_id=loan_id,
        borrower_id=borrower_id,
        opened_on=opened_on,
        opened_at=utcnow(),
        source=source,
        summary=summary[:300],
        data=data or {},
    )
    session.add(case)
    session.flush()
    case.reference = f"{PREFIXES[kind]}-{case.id:06d}"
    for clock in clocks:
        session.add(
            CaseDeadline(case_id=case.id, name=clock.name, rule=clock.rule, due_on=due_date(opened_on, clock, country))
        )
    session.flush()
    _refresh_due_on(session, case)
    record_audit(session, actor, "case.opened", "case", case.reference, {"kind": kind.value, "source": source})
    return case


@dataclass(frozen=True)
class PayoffRequest:
    """A loan's payoff-statement request for one good-through date, and whether this call opened it."""

    case: Case
    opened: bool


def request_payoff_statement(
    session: Session,
    *,
    loan_id: int,
    borrower_id: int | None,
    good_through: date,
    opened_on: date,
    country: str,
    source: str,
    actor: str,
) -> PayoffRequest:
    """Open a loan's payoff request for a good-through date, or return the one already open for that date."""
    # the loan's row lock makes two channels asking at once find one request rather than open two
    session.execute(select(Loan.id).where(Loan.id == loan_id).with_for_update())
    through = good_through.isoformat()
    open_requests = session.scalars(
        select(Case).where(
            Case.kind == CaseKind.PAYOFF_REQUEST.value, Case.loan_id == loan_id, Case.closed_on.is_(None)
        )
    )
    already = next((case for case in open_requests if case.data.get("good_through") == through), None)
    if already is not None:
        return PayoffRequest(already, opened=False)
    case = open_case(session, CaseKind.PAYOFF_REQUEST, opened_on=opened_on, country=country, source=source,
                     actor=actor, loan_id=loan_id, borrower_id=borrower_id,
                     summary=f"payoff statement good through {through} requested by the borrower",
                     data={"good_through": through})  # fmt: skip
    return PayoffRequest(case, opened=True)


def _refresh_due_on(session: Session, case: Case) -> None:
    session.refresh(case, ["deadlines"])
    open_dates = [d.due_on for d in case.deadlines if d.met_on is None]
    case.due_on = min(open_dates) if open_dates else None


def get_case(session: Session, reference: str) -> Case:
    """Return the case with that reference, or refuse."""
    case = session.scalar(select(Case).where(Case.reference == reference))
    if case is None:
        raise CaseNotFound(f"no case {reference}")
    return case


def meet_deadline(session: Session, reference: str, name: str, on: date, actor: str) -> Case:
    """Record that a case's deadline was met (acknowledged, answered, statement sent)."""
    case = get_case(session, reference)
    deadline = next((d for d in case.deadlines if d.name == name and d.met_on is None), None)
    if deadline is None:
        raise InvalidInput(f"case {reference} has no open deadline {name!r}")
    deadline.met_on = on
    _refresh_due_on(session, case)
    case.overdue = bool(case.due_on and case.due_on < on)
    record_audit(session, actor, "case.deadline_met", "case", reference, {"deadline": name})
    return case


def extend_resolution(session: Session, reference: str, country: str, actor: str) -> Case:
    """Extend a notice of error's or information request's resolution by 15 business days, once."""
    case = get_case(session, reference)
    if case.data.get("extended"):
        raise InvalidInput(f"case {reference} was already extended")
    deadline = next((d for d in case.deadlines if d.name in {"resolve", "answer"} and d.met_on is None), None)
    if deadline is None:
        raise InvalidInput(f"case {reference} has nothing to extend")
    deadline.due_on = add_business_days(deadline.due_on, EXTENSION_DAYS, country)
    case.data = {**case.data, "extended": True}
    _refresh_due_on(session, case)
    record_audit(session, actor, "case.extended", "case", reference, {})
    return case


def move_loss_mitigation(session: Session, reference: str, to: str, on: date, actor: str) -> Case:
    """Move a loss-mitigation application along its states, starting the clocks each state starts."""
    case = get_case(session, reference)
    if case.kind != CaseKind.LOSS_MITIGATION.value:
        raise InvalidInput(f"case {reference} is not a loss-mitigation application")
    if to not in LOSS_MITIGATION_STATES.get(case.status, set()):
        raise InvalidInput(f"a {case.status.replace('_', ' ')} application cannot become {to.replace('_', ' ')}")
    if to.startswith("submitted"):
        _meet(case, "completeness_notice", on)
    if to == "submitted_complete":
        _add_clock(session, case, DECISION_CLOCK, on)
    if to in {"approved", "denied", "denied_final"}:
        _meet(case, "decision", on)
    if to == "denied":
        _add_clock(session, case, APPEAL_CLOCK, on)
    if to == "appealed":
        _meet(case, "appeal_window", on)
        _add_clock(session, case, Clock("appeal_decision", 30, False, "Reg X 1024.41(h)(4)"), on)
    if to in {"approved", "denied_final"}:
        _meet(case, "appeal_decision", on)
        case.closed_on = on
    case.status = to
    session.flush()
    _refresh_due_on(session, case)
    record_audit(session, actor, "case.status", "case", reference, {"status": to})
    return case


def close_case(session: Session, reference: str, on: date, actor: str, outcome: str) -> Case:
    """Close a case, meeting whatever deadlines are still open."""
    case = get_case(session, reference)
    for deadline in case.deadlines:
        if deadline.met_on is None:
            deadline.met_on = on
    case.status = "closed"
    case.closed_on = on
    case.data = {**case.data, "outcome": outcome}
    _refresh_due_on(session, case)
    record_audit(session, actor, "case.closed", "case", reference, {"outcome": outcome})
    return case


def _meet(case: Case, name: str, on: date) -> None:
    for deadline in case.deadlines:
        if deadline.name == name and deadline.met_on is None:
            deadline.met_on = on


def _add_clock(session: Session, case: Case, clock: Clock, start: date) -> None:
    session.add(
        CaseDeadline(case_id=case.id, name=clock.name, rule=clock.rule, due_on=start + timedelta(days=clock.days))
    )
    session.flush()


def open_early_intervention(session: Session, loans: Sequence[tuple[int, int, date]], opened_on: date) -> list[str]:
    """Open an early-intervention task for each (loan id, borrower id, delinquent since); return references."""
    if not loans:
        return []
    rows = [
        {
            "reference": f"EI-new-{loan_id}",
            "kind": CaseKind.EARLY_INTERVENTION.value,
            "status": "open",
            "loan_id": loan_id,
            "borrower_id": borrower_id,
            "opened_on": opened_on,
            "opened_at": utcnow(),
            "source": "eod",
            "summary": f"delinquent since {since.isoformat()}",
            "data": {},
            "due_on": since + timedelta(days=EARLY_INTERVENTION_CLOCKS[0].days),
            "overdue": False,
            "delinquency_since": since,
        }
        for loan_id, borrower_id, since in loans
    ]
    cases = table_of(Case)
    result = session.connection().execute(insert(cases).returning(cases.c.id, sort_by_parameter_order=True), rows)
    ids = [row[0] for row in result]
    references = [f"EI-{case_id:06d}" for case_id in ids]
    session.connection().execute(
        update(cases).where(cases.c.id == bindparam("b_id")).values(reference=bindparam("b_ref")),
        [{"b_id": i, "b_ref": r} for i, r in zip(ids, references, strict=True)],
    )
    deadlines = [
        {
            "case_id": case_id,
            "name": clock.name,
            "rule": clock.rule,
            "due_on": since + timedelta(days=clock.days),
            "met_on": None,
        }
        for case_id, (_, _, since) in zip(ids, loans, strict=True)
        for clock in EARLY_INTERVENTION_CLOCKS
    ]
    session.connection().execute(insert(table_of(CaseDeadline)), deadlines)
    return references


def _bind(name: str) -> Any:
    return bindparam(name)


# -- worklists: what is open, what is due, what is late -------------------------------------------------


@dataclass(frozen=True)
class WorklistCount:
    """How many cases of one kind are open, and how many of them are past a deadline."""

    kind: str
    open: int
    overdue: int


def count_open_cases(session: Session, today: date) -> dict[str, WorklistCount]:
    """Count the open cases of each kind and those with a deadline before `today` still unmet."""
    late = func.sum(when((Case.due_on < today, 1), else_=0))
    query = select(Case.kind, func.count(), late).where(Case.closed_on.is_(None)).group_by(Case.kind)
    counts = {kind: WorklistCount(kind, n, int(overdue or 0)) for kind, n, overdue in session.execute(query)}
    return {kind.value: counts.get(kind.value, WorklistCount(kind.value, 0, 0)) for kind in CaseKind}


def open_cases_of_kind(
    session: Session, kind: CaseKind, *, offset: int = 0, limit: int = 50
) -> tuple[list[tuple[Case, str | None]], int]:
    """Return one page of a kind's open cases (with their loan numbers), nearest deadline first, and the total."""
    where = (Case.kind == kind.value, Case.closed_on.is_(None))
    total = session.scalar(select(func.count()).select_from(Case).where(*where)) or 0
    query = (
        select(Case, Loan.loan_number)
        .outerjoin(Loan, Loan.id == Case.loan_id)
        .where(*where)
        .options(selectinload(Case.deadlines))
        .order_by(Case.due_on.asc().nulls_last(), Case.id)
        .offset(offset)
        .limit(limit)
    )
    return [(case, number) for case, number in session.execute(query)], total


def business_days_left(today: date, due: date, country: str) -> int:
    """Return the business days from `today` to `due`: negative when the deadline has passed."""
    if due >= today:
        return len(business_days_between(today, due, country))
    return -len(business_days_between(due, today, country))


def case_history(session: Session, reference: str) -> list[AuditEntry]:
    """Return the audit entries about a case, oldest first."""
    query = (
        select(AuditEntry)
        .where(AuditEntry.subject_type == "case", AuditEntry.subject_id == reference)
        .order_by(AuditEntry.id)
    )
    return list(session.scalars(query))


def open_deadline(case: Case, name: str) -> CaseDeadline | None:
    """Return the case's unmet deadline of that name, if any."""
    return next((d for d in case.deadlines if d.name == name and d.met_on is None), None)
