"""What an action would do to a loan, worked out by the core without committing, and a loan's state fingerprint."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from servicing.approvals.actions import ActionKind, Circumstances, MoneyAction, perform
from servicing.queries import current_date, require_account, summarize
from servicing.store.models import Fee, LedgerEntry, Loan, Payment, Workout

# The figures shown before and after, in the order a specialist reads them.
FIGURES = (
    "status", "amount_due", "next_due_date", "days_past_due", "principal_balance", "monthly_payment",
    "escrow_balance", "suspense_balance", "deferred_balance", "unpaid_fees",
)  # fmt: skip
WORKOUT_TERMS = ("months", "reduced_payment", "regular_payment", "arrears", "deferred", "payment_before",
                 "target_payment", "first_due_date")  # fmt: skip
BUCKETS = ("principal", "interest", "escrow", "fees", "suspense", "deferred")


@dataclass(frozen=True)
class EntryEffect:
    """A ledger entry the action books: its kind, day and amount per bucket (the payment's allocation)."""

    kind: str
    effective_date: date
    amounts: dict[str, Decimal]
    memo: str


@dataclass(frozen=True)
class Effect:
    """An action's effect on a loan: the figures before and after, the entries it books, and the loan's state."""

    loan_number: str
    currency: str
    as_of: date
    before: dict[str, str]
    after: dict[str, str]
    entries: tuple[EntryEffect, ...]
    outcome: str
    loan_state: str
    workouts: tuple[dict[str, str], ...] = ()  # a workout it starts: kind, dates and the terms worth reading

    def changed(self) -> list[str]:
        """Return the figures the action changes."""
        return [name for name in FIGURES if self.before.get(name) != self.after.get(name)]

    def to_json(self) -> dict[str, Any]:
        """Return the effect as JSON data (amounts as text, exact)."""
        return {
            "loan_number": self.loan_number, "currency": self.currency, "as_of": self.as_of.isoformat(),
            "before": self.before, "after": self.after, "outcome": self.outcome, "loan_state": self.loan_state,
            "entries": [
                {"kind": e.kind, "effective_date": e.effective_date.isoformat(), "memo": e.memo,
                 "amounts": {k: str(v) for k, v in e.amounts.items()}}
                for e in self.entries
            ],
            "workouts": list(self.workouts),
        }  # fmt: skip

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Effect:
        """Read an effect back from its JSON data."""
        entries = tuple(
            EntryEffect(
                e["kind"],
                date.fromisoformat(e["effective_date"]),
                {k: Decimal(v) for k, v in e["amounts"].items()},
                e["memo"],
            )
            for e in data["entries"]
        )
        return cls(
            data["loan_number"], data["currency"], date.fromisoformat(data["as_of"]), data["before"], data["after"],
            entries, data["outcome"], data["loan_state"], tuple(data.get("workouts", ())),
        )  # fmt: skip


def preview(session: Session, action: MoneyAction, who: Circumstances) -> Effect:
    """Work out what the action would do by running it in a savepoint that is then rolled back.

    The figures are those of the very use case that would run, so a preview equals the result on an unchanged
    loan. Nothing is kept: not the ledger entries, the notices, the audit entries nor the letters (`who` should
    carry no `letters` in a preview: files are not rolled back).
    """
    state = loan_state(session, action.loan_number)
    as_of = current_date(session, who.today)
    before = loan_figures(session, action.loan_number, as_of)
    last_entry, last_workout = _last_entry_id(session, action.loan_number), _last_workout_id(session)
    with session.begin_nested() as savepoint:
        outcome = perform(session, action, who).word
        session.flush()
        after = loan_figures(session, action.loan_number, as_of)
        entries = _entries_after(session, action.loan_number, last_entry)
        workouts = workouts_after(session, action.loan_number, last_workout)
        savepoint.rollback()
    currency = session.scalar(select(Loan.currency).where(Loan.loan_number == action.loan_number)) or ""
    return Effect(action.loan_number, currency, as_of, before, after, entries, outcome, state, workouts)


def already_done(session: Session, action: MoneyAction) -> bool:
    """Tell whether a manual payment's reference is already posted (its second submit changes nothing)."""
    if action.kind is not ActionKind.PAYMENT:
        return False
    reference = str(action.terms.get("reference") or "").strip()
    return session.scalar(select(Payment.id).where(Payment.reference == reference)) is not None


def loan_state(session: Session, loan_number: str) -> str:
    """Return a fingerprint of everything an action's effect depends on: it changes when the loan changes.

    The loan's cached balances and terms, its latest ledger entry, its payments, fees and workouts, and the
    business date (end of day accrues, ages and charges).
    """
    loan = session.scalar(select(Loan).where(Loan.loan_number == loan_number))
    if loan is None:
        return ""
    parts: list[Any] = [
        loan.status, loan.principal_balance, loan.interest_balance, loan.escrow_balance, loan.fees_balance,
        loan.suspense_balance, loan.deferred_balance, loan.next_due_date, loan.days_past_due, loan.monthly_payment,
        loan.escrow_monthly, loan.term_months, loan.annual_rate, loan.installments_paid, loan.interest_paid_through,
        _last_entry_id(session, loan_number), current_date(session, date.min),
        tuple(session.execute(select(Payment.id, Payment.status).where(Payment.loan_id == loan.id))),
        tuple(session.execute(select(Fee.id, Fee.outstanding).where(Fee.loan_id == loan.id))),
        tuple(session.execute(select(Workout.id, Workout.status).where(Workout.loan_id == loan.id))),
    ]  # fmt: skip
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


def loan_figures(session: Session, loan_number: str, as_of: date) -> dict[str, str]:
    """Return the figures a specialist reads before and after an action, as text (amounts exact)."""
    session.expire_all()  # read the balances as they are now in this transaction
    summary = summarize(require_account(session, loan_number), as_of)
    return {name: "" if getattr(summary, name) is None else str(getattr(summary, name)) for name in FIGURES}


def _last_entry_id(session: Session, loan_number: str) -> int:
    found = session.scalar(
        select(func.max(LedgerEntry.id)).join(Loan, Loan.id == LedgerEntry.loan_id)
        .where(Loan.loan_number == loan_number)
    )  # fmt: skip
    return found or 0


def _last_workout_id(session: Session) -> int:
    return session.scalar(select(func.max(Workout.id))) or 0


def workouts_after(session: Session, loan_number: str, last_workout: int) -> tuple[dict[str, str], ...]:
    """Return the workouts the loan got after a given one: kind, dates and the terms worth reading, as text."""
    rows = session.scalars(
        select(Workout).join(Loan, Loan.id == Workout.loan_id)
        .where(Loan.loan_number == loan_number, Workout.id > last_workout).order_by(Workout.id)
    )  # fmt: skip
    return tuple(
        {"kind": w.kind, "starts_on": w.starts_on.isoformat(), "ends_on": w.ends_on.isoformat() if w.ends_on else "",
         **{key: str(w.terms[key]) for key in WORKOUT_TERMS if key in w.terms}}
        for w in rows
    )  # fmt: skip


def _entries_after(session: Session, loan_number: str, last_entry: int) -> tuple[EntryEffect, ...]:
    rows = session.scalars(
        select(LedgerEntry).join(Loan, Loan.id == LedgerEntry.loan_id)
        .where(Loan.loan_number == loan_number, LedgerEntry.id > last_entry).order_by(LedgerEntry.id)
    )  # fmt: skip
    return tuple(
        EntryEffect(row.kind, row.effective_date, {b: getattr(row, b) for b in BUCKETS}, row.memo) for row in rows
    )
