"""Reports: delinquency buckets, payments posted, the specialists' queue, the case pipeline, the audit log,
promises to pay (made, kept, broken: servicing/outreach/promises.py) and the contact policy's decisions (outreach).

Every report takes the session, today and an optional period (`since`/`until`, both inclusive) and returns
rows of plain values (money as Decimal in the row's currency), which `csv_text` writes for the CLI and the
console alike. The queries group in SQL; only the rows of the answer are touched in Python.
"""

from __future__ import annotations

import csv
import io
import json
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from servicing.ach.report import ach_report
from servicing.conversations import sla_target
from servicing.desk.satisfaction import satisfaction_report
from servicing.outreach.promises import promises_report
from servicing.rules.delinquency import BUCKETS
from servicing.rules.money import to_money
from servicing.store.models import AuditEntry, Borrower, Case, ContactDecision, Loan, Payment, utcnow

AUDIT_REPORT_LIMIT = 1000
MINUTES = Decimal("0.1")
# A spreadsheet reads a cell starting with one of these as a formula ("=HYPERLINK(...)" typed by a borrower).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class Report(Protocol):
    """A report: rows for a period (both ends inclusive, either open)."""

    def __call__(
        self, session: Session, today: date, *, since: date | None = None, until: date | None = None
    ) -> list[dict[str, Any]]: ...


def _bucket_expression() -> Any:
    dpd = Loan.days_past_due
    return case(
        (dpd <= 0, "current"), (dpd < 30, "1-29"), (dpd < 60, "30-59"),
        (dpd < 90, "60-89"), (dpd < 120, "90-119"), else_="120+",
    )  # fmt: skip


def delinquency_report(
    session: Session, today: date, *, since: date | None = None, until: date | None = None
) -> list[dict[str, Any]]:
    """Count active loans and principal per delinquency bucket and currency (a snapshot: the period is ignored)."""
    bucket = _bucket_expression().label("bucket")
    query = (
        select(bucket, Loan.currency, func.count(), func.sum(Loan.principal_balance))
        .where(Loan.status == "active")
        .group_by(bucket, Loan.currency)
    )
    rows = {(b, c): (n, total) for b, c, n, total in session.execute(query)}
    order = {b: i for i, b in enumerate(BUCKETS)}
    return [
        {"bucket": b, "currency": c, "loans": n, "principal": to_money(total or Decimal(0), c)}
        for (b, c), (n, total) in sorted(rows.items(), key=lambda item: (order[item[0][0]], item[0][1]))
    ]


def payments_report(
    session: Session, today: date, *, since: date | None = None, until: date | None = None
) -> list[dict[str, Any]]:
    """Sum payments per received date, currency and status."""
    query = (
        select(Payment.received_on, Loan.currency, Payment.status, func.count(), func.sum(Payment.amount))
        .join(Loan, Loan.id == Payment.loan_id)
        .group_by(Payment.received_on, Loan.currency, Payment.status)
        .order_by(Payment.received_on, Loan.currency, Payment.status)
    )
    query = _between(query, Payment.received_on, since, until)
    return [
        {"received_on": d, "currency": c, "status": s, "payments": n, "amount": to_money(total, c)}
        for d, c, s, n, total in session.execute(query)
    ]


def cases_report(
    session: Session, today: date, *, since: date | None = None, until: date | None = None
) -> list[dict[str, Any]]:
    """Count cases opened in the period by kind and stage: still open, closed, and open past a deadline."""
    still_open = Case.closed_on.is_(None)
    query = (
        select(
            Case.kind,
            Case.status,
            func.sum(case((still_open, 1), else_=0)),
            func.sum(case((still_open, 0), else_=1)),
            func.sum(case((still_open & (Case.due_on < today), 1), else_=0)),
        )
        .group_by(Case.kind, Case.status)
        .order_by(Case.kind, Case.status)
    )
    query = _between(query, Case.opened_on, since, until)
    return [
        {"kind": kind, "stage": stage, "open": int(n_open or 0), "closed": int(n_closed or 0),
         "overdue": int(n_overdue or 0)}
        for kind, stage, n_open, n_closed, n_overdue in session.execute(query)
    ]  # fmt: skip


def open_cases_report(session: Session, today: date) -> list[dict[str, Any]]:
    """List open cases with their next deadline, oldest deadline first."""
    query = (
        select(Case.reference, Case.kind, Case.status, Case.opened_on, Case.due_on, Case.overdue, Loan.loan_number)
        .outerjoin(Loan, Loan.id == Case.loan_id)
        .where(Case.closed_on.is_(None))
        .order_by(Case.due_on, Case.id)
    )
    return [
        {"reference": r, "kind": k, "status": s, "opened_on": o, "due_on": d,
         "overdue": bool(od) or (d is not None and d < today), "loan_number": n or ""}
        for r, k, s, o, d, od, n in session.execute(query)
    ]  # fmt: skip


# -- the queue ------------------------------------------------------------------------------------------


def queue_report(
    session: Session,
    today: date,
    *,
    since: date | None = None,
    until: date | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Per day (UTC) of escalation: conversations escalated and claimed, wait and handle times, SLA breaches.

    Wait is escalated -> first claim, handle time is first claim -> resolved (minutes); a conversation breaches
    its SLA when it waited (or is still waiting) longer than `sla_target` of its escalation reason.
    """
    moment = now or utcnow()
    days: dict[date, _QueueDay] = {}
    for escalated_at, reason, claimed_at, resolved_at in session.execute(_escalations(since, until)):
        day = days.setdefault(escalated_at.astimezone(UTC).date(), _QueueDay())
        day.escalated += 1
        waited = (claimed_at or moment) - escalated_at
        if waited > sla_target(reason):
            day.breaches += 1
        if claimed_at is not None:
            day.waits.append(_minutes(claimed_at - escalated_at))
            if resolved_at is not None:
                day.handle_times.append(_minutes(resolved_at - claimed_at))
    return [days[day].row(day) for day in sorted(days)]


@dataclass
class _QueueDay:
    escalated: int = 0
    breaches: int = 0

    def __post_init__(self) -> None:
        self.waits: list[Decimal] = []
        self.handle_times: list[Decimal] = []

    def row(self, day: date) -> dict[str, Any]:
        return {
            "day": day,
            "escalated": self.escalated,
            "claimed": len(self.waits),
            "mean_wait_minutes": _mean(self.waits),
            "median_wait_minutes": _median(self.waits),
            "resolved": len(self.handle_times),
            "mean_handle_minutes": _mean(self.handle_times),
            "median_handle_minutes": _median(self.handle_times),
            "sla_breaches": self.breaches,
        }


ESCALATED, CLAIMED, RESOLVED = "conversation.escalated", "conversation.claimed", "conversation.resolved"


def _escalations(since: date | None, until: date | None) -> Select[Any]:
    """Each escalation in the period: when, why, its first claim and its first resolution (one pass, in SQL).

    A conversation's events, in time order, are numbered by how many escalations came before them (a running
    sum over a window); an escalation and the claim and resolution that follow it share that number. A
    conversation is escalated again only after it was resolved, so the first claim after an escalation is its own.
    """
    is_escalation = AuditEntry.action == ESCALATED
    in_period = [AuditEntry.subject_type == "conversation", AuditEntry.action.in_((ESCALATED, CLAIMED, RESOLVED))]
    if since is not None:
        in_period.append(AuditEntry.at >= _start_of(since))
    if until is not None:  # later claims and resolutions still count for the period's escalations
        in_period.append(~is_escalation | (AuditEntry.at < _start_of(until + timedelta(days=1))))
    rounds = (
        select(
            AuditEntry.subject_id.label("conversation"),
            AuditEntry.action.label("action"),
            AuditEntry.at.label("at"),
            case((is_escalation, AuditEntry.detail["reason"].as_string())).label("reason"),
            func.sum(case((is_escalation, 1), else_=0))
            .over(partition_by=AuditEntry.subject_id, order_by=(AuditEntry.at, AuditEntry.id))
            .label("round"),
        )
        .where(*in_period)
        .subquery()
    )

    def first(action: str) -> Any:
        return func.min(case((rounds.c.action == action, rounds.c.at)))

    escalated_at = first(ESCALATED)
    return (
        select(escalated_at, func.max(rounds.c.reason), first(CLAIMED), first(RESOLVED))
        .where(rounds.c.round > 0)
        .group_by(rounds.c.conversation, rounds.c.round)
        .order_by(escalated_at)
    )


def _minutes(span: timedelta) -> Decimal:
    return (Decimal(span.total_seconds()) / 60).quantize(MINUTES)


def _mean(values: Sequence[Decimal]) -> Decimal | None:
    return (sum(values, Decimal(0)) / len(values)).quantize(MINUTES) if values else None


def _median(values: Sequence[Decimal]) -> Decimal | None:
    return Decimal(statistics.median(values)).quantize(MINUTES) if values else None


# -- the audit log --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilter:
    """What a supervisor looks for in the audit log; empty fields match everything."""

    actor: str = ""
    action: str = ""
    subject_type: str = ""
    subject_id: str = ""
    since: date | None = None
    until: date | None = None


def search_audit(
    session: Session, where: AuditFilter, *, offset: int = 0, limit: int = 100
) -> tuple[list[AuditEntry], int]:
    """Return one page of matching audit entries, newest first, and how many match in all."""
    query = _audit_matching(where)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    entries = list(session.scalars(query.order_by(AuditEntry.id.desc()).offset(offset).limit(limit)))
    return entries, total


def audit_rows(entries: Iterable[AuditEntry]) -> list[dict[str, Any]]:
    """Return audit entries as report rows."""
    return [
        {"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "subject_type": e.subject_type,
         "subject_id": e.subject_id, "detail": e.detail}
        for e in entries
    ]  # fmt: skip


def audit_report(
    session: Session, today: date, *, since: date | None = None, until: date | None = None
) -> list[dict[str, Any]]:
    """List the latest 1000 audit entries of the period, newest first."""
    entries, _ = search_audit(session, AuditFilter(since=since, until=until), limit=AUDIT_REPORT_LIMIT)
    return audit_rows(entries)


def _audit_matching(where: AuditFilter) -> Select[tuple[AuditEntry]]:
    query = select(AuditEntry)
    exact = (
        (AuditEntry.actor, where.actor),
        (AuditEntry.action, where.action),
        (AuditEntry.subject_type, where.subject_type),
        (AuditEntry.subject_id, where.subject_id),
    )
    for column, value in exact:
        if value:
            query = query.where(column == value)
    if where.since is not None:
        query = query.where(AuditEntry.at >= _start_of(where.since))
    if where.until is not None:
        query = query.where(AuditEntry.at < _start_of(where.until + timedelta(days=1)))
    return query


# -- outreach -------------------------------------------------------------------------------------------


def masked_name(first_name: str, last_name: str) -> str:
    """Return a borrower's name as reports show it: initials only ("A. S.")."""
    return " ".join(f"{part.strip()[:1].upper()}." for part in (first_name, last_name) if part.strip())


def outreach_report(
    session: Session, today: date, *, since: date | None = None, until: date | None = None
) -> list[dict[str, Any]]:
    """List every decision of the contact policy in the period (by the UTC day it was made), oldest first."""
    query = (
        select(ContactDecision.decided_at, Loan.loan_number, Borrower.first_name, Borrower.last_name,
               ContactDecision.kind, ContactDecision.purpose, ContactDecision.channel, ContactDecision.status,
               ContactDecision.reason, ContactDecision.send_after)
        .join(Borrower, Borrower.id == ContactDecision.borrower_id)
        .outerjoin(Loan, Loan.id == ContactDecision.loan_id)
        .order_by(ContactDecision.decided_at, ContactDecision.id)
    )  # fmt: skip
    if since is not None:
        query = query.where(ContactDecision.decided_at >= _start_of(since))
    if until is not None:
        query = query.where(ContactDecision.decided_at < _start_of(until + timedelta(days=1)))
    return [
        {"decided_at": row.decided_at.astimezone(UTC).isoformat(timespec="seconds"),
         "loan_number": row.loan_number or "", "borrower": masked_name(row.first_name, row.last_name),
         "kind": row.kind, "purpose": row.purpose, "channel": row.channel or "", "status": row.status,
         "reason": row.reason or "",
         "send_after": row.send_after.astimezone(UTC).isoformat(timespec="seconds") if row.send_after else ""}
        for row in session.execute(query)
    ]  # fmt: skip


# -- shared ---------------------------------------------------------------------------------------------


def _between(query: Select[Any], column: Any, since: date | None, until: date | None) -> Select[Any]:
    if since is not None:
        query = query.where(column >= since)
    if until is not None:
        query = query.where(column <= until)
    return query


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def csv_text(rows: Sequence[dict[str, Any]]) -> str:
    """Write report rows as CSV: money as plain decimal strings, dates in ISO form, a header row first.

    Text that a spreadsheet would run as a formula is neutralised (`spreadsheet_safe`); numbers stay numbers.
    """
    out = io.StringIO()
    if rows:
        # RFC 4180's CRLF: with it, a cell holding a CR is quoted too, instead of splitting the row in two
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n")
        writer.writeheader()
        writer.writerows({key: _plain(value) for key, value in row.items()} for row in rows)
    return out.getvalue()


def spreadsheet_safe(text: str) -> str:
    """Return text a spreadsheet shows as text: a cell starting with = + - @, a tab or a CR gets a leading '."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _plain(value: Any) -> Any:
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, Decimal):
        return format(value, "f")  # a figure of ours: "-12.50" is a number, not a formula
    if isinstance(value, date | datetime):
        return value.isoformat()
    if value is None:
        return ""
    if isinstance(value, dict):
        return spreadsheet_safe(json.dumps(value, sort_keys=True, default=str))
    return spreadsheet_safe(str(value))


REPORTS: dict[str, Report] = {
    "delinquency": delinquency_report,
    "payments": payments_report,
    "cases": cases_report,
    "audit": audit_report,
    "queue": queue_report,
    "promises": promises_report,
    "outreach": outreach_report,
    "ach": ach_report,
    "satisfaction": satisfaction_report,
}
