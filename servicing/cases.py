"""Cases and their regulatory clocks: payoff requests, notices of error, information requests,
loss-mitigation applications, early-intervention tasks, and UK arrears information.

A case's clocks are those of its loan's jurisdiction, counted on that country's business days:
Reg X and Reg Z clocks for US loans, MCOB 13 arrears information for UK loans. Elsewhere no rule
here sets a clock: a case keeps the same periods as the servicer's own standard, named so
(docs/compliance.md), and early intervention is a US task.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
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
    ARREARS_INFORMATION = "arrears_information"
    BROKEN_PROMISE = "broken_promise"  # a specialist's follow-up of a promise to pay end of day found broken


class CaseIdentity(StrEnum):
    """Whether the borrower a case is linked to is the person who opened it (a case opened by a verified
    borrower, or at the servicer's desk, carries no mark)."""

    NOT_VERIFIED = "not_verified"  # linked by the phone on file or the linked Telegram chat, before verification
    CONFIRMED = "confirmed"  # a specialist confirmed it
    NOT_THE_BORROWER = "not_the_borrower"  # a specialist found it was someone else: unlinked


def identity_unconfirmed(case: Case) -> bool:
    """Tell whether a specialist must still confirm who opened the case before deciding anything on it."""
    return (case.data or {}).get("identity") == CaseIdentity.NOT_VERIFIED.value


class Topic(StrEnum):
    """What a notice of error or an information request is about, where Reg X gives it its own clock."""

    GENERAL = "general"
    PAYOFF_STATEMENT = "payoff_statement"  # an error in a payoff statement: 1024.35(e)(3)(i)(A)
    FORECLOSURE_SALE = "foreclosure_sale"  # an error that would lead to a wrongful foreclosure sale: (e)(3)(i)(B)
    OWNER = "owner"  # who owns or is assignee of the loan: 1024.36(d)(2)(i)(A)


TOPICS = {
    CaseKind.NOTICE_OF_ERROR: (Topic.GENERAL, Topic.PAYOFF_STATEMENT, Topic.FORECLOSURE_SALE),
    CaseKind.REQUEST_FOR_INFORMATION: (Topic.GENERAL, Topic.OWNER),
}
NOT_EXTENDABLE = frozenset(
    {Topic.PAYOFF_STATEMENT, Topic.FORECLOSURE_SALE, Topic.OWNER}
)  # 1024.35(e)(3)(ii), 36(d)(2)(ii)


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
    CaseKind.ARREARS_INFORMATION: "AI",
    CaseKind.BROKEN_PROMISE: "BP",
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
FORECLOSURE_ERROR_CLOCK = Clock("resolve", 30, True, "Reg X 1024.35(e)(3)(i)(B)")  # or before the sale, if earlier
OWNER_REQUEST_CLOCK = Clock("answer", 10, True, "Reg X 1024.36(d)(2)(i)(A)")
TOPIC_CLOCKS = {
    Topic.PAYOFF_STATEMENT: PAYOFF_ERROR_CLOCK,
    Topic.FORECLOSURE_SALE: FORECLOSURE_ERROR_CLOCK,
    Topic.OWNER: OWNER_REQUEST_CLOCK,
}
EXTENSION_DAYS = 15
DECISION_CLOCK = Clock("decision", 30, False, "Reg X 1024.41(c)(1)")
APPEAL_CLOCK = Clock("appeal_window", 14, False, "Reg X 1024.41(h)")
# MCOB 13.4.1R(1): within 15 business days of a UK borrower falling into arrears (two payments missed)
ARREARS_INFORMATION_CLOCK = Clock("send_information", 15, True, "FCA MCOB 13.4.1R(1)")
# Outside the US no rule here times these cases; the servicer keeps the same periods as its own standard,
# named so that no one takes them for a legal deadline (and the dates the bot promises hold)
SERVICER_STANDARD = "servicer standard (non-US loan)"
REG_X_COUNTRIES = frozenset({"US"})  # where the Reg X and Reg Z clocks of this module apply
ARREARS_INFORMATION_COUNTRIES = frozenset({"GB"})
NOTICE_EVERY_DAYS = 180  # Reg X 1024.39(b)(1): the written notice is not required more than once in 180 days
# No rule times the follow-up of a broken promise to pay: the servicer's own standard, two business days
BROKEN_PROMISE_CLOCK = Clock("follow_up", 2, True, "servicer standard: broken promise to pay")
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


COMPLETE_NOTICE_CLOCK = Clock("complete_notice", 5, True, "Reg X 1024.41(c)(3)")
DOCUMENTS_WITHIN_DAYS, DOCUMENTS_AT_LEAST_DAYS = 30, 7


@dataclass(frozen=True)
class Protections:
    """What Reg X 1024.41 owes a complete application, by how long before a scheduled sale it arrived."""

    days_before_sale: int | None  # None: no sale scheduled
    evaluated_and_no_sale: bool  # more than 37 days: (c)(1) evaluation in 30 days, (g) no sale meanwhile
    acknowledged: bool  # 45 days or more: (b)(2)(i)(B) the 5-day acknowledgement
    appealable: bool  # 90 days or more: (h) appeal of a denial
    acceptance_days: int  # (e)(1): at least 14 days to accept an offer, 7 when 37 to 90 days before the sale

    @classmethod
    def of(cls, received_on: date, sale_on: date | None) -> Protections:
        """Return the protections of an application received on a day, with or without a sale scheduled."""
        if sale_on is None:
            return cls(None, True, True, True, 14)
        days = (sale_on - received_on).days
        acceptance = 14 if days >= 90 else 7 if days > 37 else 0
        return cls(days, days > 37, days >= 45, days >= 90, acceptance)


def documents_due(on: date, delinquent_since: date | None, sale_on: date | None) -> date:
    """Return a reasonable date for the missing documents (Reg X 1024.41(b)(2)(ii) and its commentary).

    The earliest of 30 days from now, the 120th day of delinquency, 90 and 38 days before a scheduled
    sale, counting only those still ahead; never less than 7 days to send them.
    """
    candidates = [on + timedelta(days=DOCUMENTS_WITHIN_DAYS)]
    if delinquent_since is not None:
        candidates.append(delinquent_since + timedelta(days=120))
    if sale_on is not None:
        candidates += [sale_on - timedelta(days=90), sale_on - timedelta(days=38)]
    ahead = [day for day in candidates if day > on]
    return max(on + timedelta(days=DOCUMENTS_AT_LEAST_DAYS), min(ahead, default=candidates[0]))


def due_date(start: date, clock: Clock, country: str) -> date:
    """Return when a clock started on `start` runs out (business or calendar days)."""
    if clock.business:
        return add_business_days(start, clock.days, country)
    return start + timedelta(days=clock.days)


def opening_clocks(kind: CaseKind, country: str, topic: Topic = Topic.GENERAL) -> list[Clock]:
    """Return the clocks a case starts with in its loan's country: Reg X and Reg Z ones only for US loans.

    A payoff-statement or foreclosure-sale error, and a request for the owner's identity, replace the
    general resolution or answer clock with their own.
    """
    if kind is CaseKind.ARREARS_INFORMATION:
        return [ARREARS_INFORMATION_CLOCK] if country in ARREARS_INFORMATION_COUNTRIES else []
    clocks = list(OPENING_CLOCKS.get(kind, ()))
    if topic in TOPIC_CLOCKS:
        clocks = [clocks[0], TOPIC_CLOCKS[topic]]
    return [in_jurisdiction(clock, country) for clock in clocks]


def in_jurisdiction(clock: Clock, country: str) -> Clock:
    """Return a Reg X or Reg Z clock as it applies in a country: itself in the US, the servicer's standard elsewhere."""
    return clock if country in REG_X_COUNTRIES else replace(clock, rule=SERVICER_STANDARD)


def topic_of(kind: CaseKind, topic: Topic | str) -> Topic:
    """Return a case's topic, refusing one its kind does not have."""
    try:
        chosen = Topic(topic)
    except ValueError as error:
        raise InvalidInput(f"unknown topic {topic!r}") from error
    if chosen is not Topic.GENERAL and chosen not in TOPICS.get(kind, ()):
        raise InvalidInput(f"a {kind.value.replace('_', ' ')} cannot be about {chosen.value.replace('_', ' ')}")
    return chosen


def _scheduled_sale(session: Session, loan_id: int | None) -> date | None:
    """Return the foreclosure sale date scheduled on a loan, if any."""
    if loan_id is None:
        return None
    return session.scalar(select(Loan.foreclosure_sale_on).where(Loan.id == loan_id))


def loan_country(session: Session, loan_id: int | None, servicer_country: str) -> str:
    """Return the country whose rules and calendar a case follows: its loan's, else the servicer's."""
    if loan_id is None:
        return servicer_country
    return session.scalar(select(Loan.country).where(Loan.id == loan_id)) or servicer_country


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
    topic: Topic | str = Topic.GENERAL,
) -> Case:
    """Open a case with every deadline it carries from day one in its loan's country; return it with its reference.

    `country` is the servicer's: the rules and calendar of a case without a loan. A foreclosure-sale
    error must be resolved before a scheduled sale when that comes before its 30 business days.
    """
    topic = topic_of(kind, topic)
    country = loan_country(session, loan_id, country)
    clocks = opening_clocks(kind, country, topic)
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
        data={**(data or {}), "jurisdiction": country, **({"topic": topic.value} if kind in TOPICS else {})},
    )
    session.add(case)
    session.flush()
    case.reference = f"{PREFIXES[kind]}-{case.id:06d}"
    sale_on = _scheduled_sale(session, loan_id) if topic is Topic.FORECLOSURE_SALE else None
    for clock in clocks:
        due_on = due_date(opened_on, clock, country)
        if clock is FORECLOSURE_ERROR_CLOCK and sale_on is not None:
            due_on = min(due_on, sale_on - timedelta(days=1))  # "prior to the date of a foreclosure sale"
        session.add(CaseDeadline(case_id=case.id, name=clock.name, rule=clock.rule, due_on=due_on))
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


def extend_resolution(session: Session, reference: str, country: str, actor: str, *, on: date, reason: str) -> Case:
    """Extend a notice of error's or information request's resolution by 15 business days, once.

    Reg X 1024.35(e)(3)(ii) and 1024.36(d)(2)(ii): only before the original deadline has passed, with the
    reason told to the borrower (`reason` is what they are told; the caller sends it), and never for a
    payoff-statement or foreclosure-sale error or a request for the owner's identity. `country` is the
    servicer's; the business days are those of the case's loan's country.
    """
    case = get_case(session, reference)
    country = loan_country(session, case.loan_id, country)
    if case.data.get("extended"):
        raise InvalidInput(f"case {reference} was already extended")
    if case.data.get("topic") in NOT_EXTENDABLE:
        raise InvalidInput(f"case {reference} is about a {case.data['topic'].replace('_', ' ')}: no extension")
    deadline = next((d for d in case.deadlines if d.name in {"resolve", "answer"} and d.met_on is None), None)
    if deadline is None:
        raise InvalidInput(f"case {reference} has nothing to extend")
    if on > deadline.due_on:
        raise InvalidInput(
            f"case {reference}: the deadline {deadline.due_on.isoformat()} has passed; too late to extend"
        )
    if not reason.strip():
        raise InvalidInput("an extension needs the reason the borrower is told")
    deadline.due_on = add_business_days(deadline.due_on, EXTENSION_DAYS, country)
    case.data = {**case.data, "extended": True, "extension_reason": reason}
    _refresh_due_on(session, case)
    record_audit(session, actor, "case.extended", "case", reference, {"reason": reason})
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


def record_complete_notice(session: Session, case: Case, received_on: date, sent_on: date) -> None:
    """Record the complete-application notice sent on `sent_on`, due 5 business days after completion."""
    country = case.data.get("jurisdiction", "US")
    clock = in_jurisdiction(COMPLETE_NOTICE_CLOCK, country)
    due = due_date(received_on, clock, country)
    session.add(CaseDeadline(case_id=case.id, name=clock.name, rule=clock.rule, due_on=due, met_on=sent_on))
    session.flush()
    _refresh_due_on(session, case)


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
    clock = in_jurisdiction(clock, case.data.get("jurisdiction", "US"))
    session.add(
        CaseDeadline(case_id=case.id, name=clock.name, rule=clock.rule, due_on=start + timedelta(days=clock.days))
    )
    session.flush()


@dataclass(frozen=True)
class DelinquencyTask:
    """A task end of day opens for a delinquent loan: which delinquency, its deadlines, what it is about."""

    loan_id: int
    borrower_id: int
    since: date  # the due date of the oldest unpaid installment when the task was opened
    deadlines: tuple[tuple[Clock, date], ...]
    about: str = ""


def early_intervention_due(
    loan_id: int,
    borrower_id: int,
    since: date,
    due_dates: Sequence[date],
    *,
    contacts_asked: frozenset[date],
    delinquency_known: bool,
    last_notice: date | None,
) -> list[DelinquencyTask]:
    """Return the Reg X 1024.39 tasks a US delinquency still needs, none twice.

    Live contact by day 36 of the delinquency (`since` + 36), and again within 36 days of each later due
    date (in `due_dates`, those fallen due so far) while the borrower stays delinquent; the written notice
    by day 45, once per delinquency and not again within 180 days of the last one sent. `contacts_asked`
    are the loan's live-contact deadlines already set (a rolled delinquency may share them).
    """
    [contact, notice] = EARLY_INTERVENTION_CLOCKS
    tasks = []
    first: list[tuple[Clock, date]] = []
    if since + timedelta(days=contact.days) not in contacts_asked:
        first.append((contact, since + timedelta(days=contact.days)))
    notice_due = since + timedelta(days=notice.days)
    if not delinquency_known and (last_notice is None or (notice_due - last_notice).days >= NOTICE_EVERY_DAYS):
        first.append((notice, notice_due))
    if first:
        tasks.append(DelinquencyTask(loan_id, borrower_id, since, tuple(first)))
    for due in due_dates:
        if due > since and due + timedelta(days=contact.days) not in contacts_asked:
            deadline = (contact, due + timedelta(days=contact.days))
            tasks.append(
                DelinquencyTask(loan_id, borrower_id, since, (deadline,), f"the payment due {due} is unpaid too")
            )
    return tasks


def open_early_intervention(session: Session, tasks: Sequence[DelinquencyTask], opened_on: date) -> list[str]:
    """Open the early-intervention tasks (Reg X 1024.39) of US loans; return their references."""
    return _open_delinquency_tasks(session, CaseKind.EARLY_INTERVENTION, tasks, opened_on, "US")


def open_arrears_information(
    session: Session, loans: Sequence[tuple[int, int, date]], opened_on: date, country: str
) -> list[str]:
    """Open a task to send a UK borrower the arrears information, for each (loan id, borrower id, in arrears since).

    MCOB 13.4.1R(1): within 15 business days (the loan's country's) of falling into arrears.
    """
    deadline = ((ARREARS_INFORMATION_CLOCK, due_date(opened_on, ARREARS_INFORMATION_CLOCK, country)),)
    tasks = [DelinquencyTask(loan_id, borrower_id, since, deadline) for loan_id, borrower_id, since in loans]
    return _open_delinquency_tasks(session, CaseKind.ARREARS_INFORMATION, tasks, opened_on, country)


def _open_delinquency_tasks(
    session: Session, kind: CaseKind, tasks: Sequence[DelinquencyTask], opened_on: date, jurisdiction: str
) -> list[str]:
    """Open a case of `kind` per task, in bulk, with its deadlines; return the references."""
    rows = [
        {
            "loan_id": task.loan_id,
            "borrower_id": task.borrower_id,
            "summary": f"delinquent since {task.since.isoformat()}" + (f"; {task.about}" if task.about else ""),
            "data": {"jurisdiction": jurisdiction},
            "delinquency_since": task.since,
        }
        for task in tasks
    ]
    return _insert_cases(session, kind, rows, [task.deadlines for task in tasks], opened_on)


@dataclass(frozen=True)
class BrokenPromiseFollowUp:
    """A promise to pay end of day found broken: the loan, its borrower and country, and what was promised."""

    promise_id: int
    loan_id: int
    borrower_id: int
    country: str
    about: str  # "promised 500.00 USD for 2026-03-27; 200.00 received"


def open_broken_promise_follow_ups(
    session: Session, follow_ups: Sequence[BrokenPromiseFollowUp], opened_on: date
) -> list[str]:
    """Open a specialist's follow-up task per broken promise, in bulk, due in 2 of its loan's business days."""
    rows = [
        {
            "loan_id": f.loan_id,
            "borrower_id": f.borrower_id,
            "summary": f"broken promise to pay: {f.about}",
            "data": {"jurisdiction": f.country, "promise_id": f.promise_id},
            "delinquency_since": None,
        }
        for f in follow_ups
    ]
    deadlines = [((BROKEN_PROMISE_CLOCK, due_date(opened_on, BROKEN_PROMISE_CLOCK, f.country)),) for f in follow_ups]
    return _insert_cases(session, CaseKind.BROKEN_PROMISE, rows, deadlines, opened_on)


def _insert_cases(
    session: Session,
    kind: CaseKind,
    rows: Sequence[dict[str, Any]],
    deadlines: Sequence[tuple[tuple[Clock, date], ...]],
    opened_on: date,
) -> list[str]:
    """Insert open cases of `kind` opened by end of day, each with its deadlines; return their references."""
    if not rows:
        return []
    cases = table_of(Case)
    full_rows = [
        {
            **row,
            "reference": f"{PREFIXES[kind]}-new-{index}",
            "kind": kind.value,
            "status": "open",
            "opened_on": opened_on,
            "opened_at": utcnow(),
            "source": "eod",
            "due_on": min(due for _, due in clocks),
            "overdue": False,
        }
        for index, (row, clocks) in enumerate(zip(rows, deadlines, strict=True))
    ]
    result = session.connection().execute(insert(cases).returning(cases.c.id, sort_by_parameter_order=True), full_rows)
    ids = [row[0] for row in result]
    references = [f"{PREFIXES[kind]}-{case_id:06d}" for case_id in ids]
    session.connection().execute(
        update(cases).where(cases.c.id == bindparam("b_id")).values(reference=bindparam("b_ref")),
        [{"b_id": i, "b_ref": r} for i, r in zip(ids, references, strict=True)],
    )
    rows_of_deadlines = [
        {"case_id": case_id, "name": clock.name, "rule": clock.rule, "due_on": due, "met_on": None}
        for case_id, clocks in zip(ids, deadlines, strict=True)
        for clock, due in clocks
    ]
    session.connection().execute(insert(table_of(CaseDeadline)), rows_of_deadlines)
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
