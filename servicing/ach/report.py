"""The daily ACH report: per effective date, drafts exported (count, amount), returned by code, and the return rate."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from servicing.rules.money import to_money
from servicing.store.models import AchDraft, AchReturn, Loan

PERCENT = Decimal("0.01")


def ach_report(
    session: Session, today: date, *, since: date | None = None, until: date | None = None
) -> list[dict[str, Any]]:
    """Count and sum the drafts of each effective date, their returns by code, and the share returned."""
    drafts = (
        select(AchDraft.effective_date, Loan.currency, func.count(), func.sum(AchDraft.amount))
        .join(Loan, Loan.id == AchDraft.loan_id)
        .group_by(AchDraft.effective_date, Loan.currency)
        .order_by(AchDraft.effective_date, Loan.currency)
    )
    returns = (
        select(AchDraft.effective_date, Loan.currency, AchReturn.code, func.count(), func.sum(AchDraft.amount))
        .select_from(AchReturn)
        .join(AchDraft, AchDraft.id == AchReturn.draft_id)
        .join(Loan, Loan.id == AchDraft.loan_id)
        .where(AchReturn.kind == "return")
        .group_by(AchDraft.effective_date, Loan.currency, AchReturn.code)
    )
    changes = (
        select(AchDraft.effective_date, Loan.currency, func.count())
        .select_from(AchReturn)
        .join(AchDraft, AchDraft.id == AchReturn.draft_id)
        .join(Loan, Loan.id == AchDraft.loan_id)
        .where(AchReturn.kind == "change")
        .group_by(AchDraft.effective_date, Loan.currency)
    )
    period = [AchDraft.effective_date >= since] if since else []
    period += [AchDraft.effective_date <= until] if until else []
    drafts, returns, changes = drafts.where(*period), returns.where(*period), changes.where(*period)
    by_code: dict[tuple[date, str], dict[str, int]] = defaultdict(dict)
    returned: dict[tuple[date, str], tuple[int, Decimal]] = {}
    for day, currency, code, count, total in session.execute(returns):
        by_code[(day, currency)][code] = count
        n, amount = returned.get((day, currency), (0, Decimal(0)))
        returned[(day, currency)] = (n + count, amount + Decimal(total))
    noc = {(day, currency): count for day, currency, count in session.execute(changes)}
    rows = []
    for day, currency, count, total in session.execute(drafts):
        n, amount = returned.get((day, currency), (0, Decimal(0)))
        rows.append({
            "effective_date": day, "currency": currency, "exported": count,
            "exported_amount": to_money(total, currency), "returned": n, "returned_amount": to_money(amount, currency),
            "return_rate_percent": (Decimal(100) * n / count).quantize(PERCENT),
            "returns_by_code": " ".join(f"{code}:{k}" for code, k in sorted(by_code[(day, currency)].items())),
            "changes": noc.get((day, currency), 0),
        })  # fmt: skip
    return rows
