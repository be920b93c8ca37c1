"""Reports: delinquency buckets, payments posted, open cases, the audit log."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from servicing.delinquency import BUCKETS
from servicing.models import AuditEntry, Case, Loan, Payment
from servicing.money import to_money

Report = Callable[[Session, date], list[dict[str, Any]]]


def _bucket_expression() -> Any:
    dpd = Loan.days_past_due
    return case(
        (dpd <= 0, "current"), (dpd < 30, "1-29"), (dpd < 60, "30-59"),
        (dpd < 90, "60-89"), (dpd < 120, "90-119"), else_="120+",
    )  # fmt: skip


def delinquency_report(session: Session, today: date) -> list[dict[str, Any]]:
    """Count active loans and principal per delinquency bucket and currency."""
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


def payments_report(session: Session, today: date) -> list[dict[str, Any]]:
    """Sum payments posted per received date, currency and status."""
    query = (
        select(Payment.received_on, Loan.currency, Payment.status, func.count(), func.sum(Payment.amount))
        .join(Loan, Loan.id == Payment.loan_id)
        .group_by(Payment.received_on, Loan.currency, Payment.status)
        .order_by(Payment.received_on, Loan.currency)
    )
    return [
        {"received_on": d, "currency": c, "status": s, "payments": n, "amount": to_money(total, c)}
        for d, c, s, n, total in session.execute(query)
    ]


def cases_report(session: Session, today: date) -> list[dict[str, Any]]:
    """List open cases with their next deadline, oldest deadline first."""
    query = (
        select(
            Case.reference,
            Case.kind,
            Case.status,
            Case.opened_on,
            Case.due_on,
            Case.overdue,
            Loan.loan_number,
        )
        .outerjoin(Loan, Loan.id == Case.loan_id)
        .where(Case.closed_on.is_(None))
        .order_by(Case.due_on, Case.id)
    )
    return [
        {"reference": r, "kind": k, "status": s, "opened_on": o, "due_on": d,
         "overdue": bool(od) or (d is not None and d < today), "loan_number": n or ""}
        for r, k, s, o, d, od, n in session.execute(query)
    ]  # fmt: skip


def audit_report(session: Session, today: date) -> list[dict[str, Any]]:
    """List the latest 1000 audit entries, newest first."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1000)
    return [
        {"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "subject_type": e.subject_type,
         "subject_id": e.subject_id}
        for e in session.scalars(query)
    ]  # fmt: skip


REPORTS: dict[str, Report] = {
    "delinquency": delinquency_report,
    "payments": payments_report,
    "cases": cases_report,
    "audit": audit_report,
}
