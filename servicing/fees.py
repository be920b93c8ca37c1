"""Use cases about fees on a loan: waiving one, and reversing late fees a timely payment shows were never earned."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicing.audit import record_audit
from servicing.errors import LoanClosed, LoanNotFound, ServicingError
from servicing.rules.account import Account, FeeKind, LoanStatus
from servicing.rules.ledger import EntryKind
from servicing.rules.money import ZERO, to_money
from servicing.store.accounts import business_date, ledger_row, load_account, save_accounts, save_open_fees
from servicing.store.bulk import insert_rows
from servicing.store.models import Fee, Installment, LedgerEntry


class FeeWaiverRefused(ServicingError):
    """A fee that cannot be waived (unknown, on another loan, already paid or waived); the reason is the message."""


def waive_fee(session: Session, loan_number: str, fee_id: int, *, actor: str, reason: str, on: date) -> Fee:
    """Waive what is still owed on one fee: a `fee_waived` ledger entry, the fee zeroed, an audit entry."""
    if not reason.strip():
        raise FeeWaiverRefused("a fee waiver needs a reason")
    account = _open_account(session, loan_number)
    fee = _fee_of(session, account, fee_id)
    amount = to_money(fee.outstanding, account.currency)
    if amount <= 0:
        raise FeeWaiverRefused(f"fee {fee_id} of loan {loan_number} is already paid or waived")
    account.open_fees = [f for f in account.open_fees if f.seq != fee.seq]
    line = account.book(EntryKind.FEE_WAIVED, on, f"{fee.kind} fee #{fee.seq} waived: {reason}", fees=-amount)
    insert_rows(session, LedgerEntry.__table__, [ledger_row(account.loan_id, line, actor, f"fee:{fee.id}")])
    save_open_fees(session, [account], {account.loan_id: {fee.seq}})
    save_accounts(session, [account], business_date(session) or on)
    record_audit(
        session, actor, "fee.waived", "loan", loan_number,
        {"fee_id": fee.id, "kind": fee.kind, "amount": str(amount), "currency": account.currency,
         "reason": reason},
    )  # fmt: skip
    session.refresh(fee)
    return fee


def _open_account(session: Session, loan_number: str) -> Account:
    """Lock an active loan's account, refusing an unknown or closed loan."""
    account = load_account(session, loan_number, for_update=True)
    if account is None:
        raise LoanNotFound(loan_number)
    if account.status is not LoanStatus.ACTIVE:
        raise LoanClosed(f"loan {loan_number} is {account.status.value.replace('_', ' ')}")
    return account


def _fee_of(session: Session, account: Account, fee_id: int) -> Fee:
    """Return a fee of this loan, or refuse an unknown fee or one of another loan."""
    fee = session.scalar(select(Fee).where(Fee.id == fee_id, Fee.loan_id == account.loan_id))
    if fee is None:
        raise FeeWaiverRefused(f"loan {account.loan_number} has no fee {fee_id}")
    return fee


# -- late fees a payment credited as of its receipt shows were never earned (Reg Z 1026.36(c)(1)) ------------

UNEARNED_LATE_FEE = "unearned"  # the ledger reference `fee:<id>:unearned` marks a late fee reversed this way


def reverse_unearned_late_fees(
    session: Session, accounts: Sequence[Account], earliest_received: Mapping[int, date], on: date, actor: str
) -> int:
    """Reverse each late fee whose installment payments credited as of their receipt paid within the grace period.

    A payment is credited as of the day it was received, whatever day it is posted: a late fee that end
    of day charged before a payment received in grace was posted (or before a backdated payment was
    replayed) was never earned. What is still owed on it is waived; what was already paid on it goes back
    to the borrower as funds in suspense. Each reversal is a `fee_waived` ledger entry dated `on` whose
    memo says why, referenced `fee:<id>:unearned` so that it happens once. Returns how many were reversed.
    """
    candidates = [a for a in accounts if _may_have_an_unearned_late_fee(a, earliest_received.get(a.loan_id))]
    if not candidates:
        return 0
    by_id = {a.loan_id: a for a in candidates}
    reversed_count = 0
    touched: dict[int, set[int]] = {}
    rows: list[dict[str, Any]] = []
    for fee, paid_on in _late_fees_paid_in_grace(session, by_id):
        account = by_id[fee.loan_id]
        rows.append(_reverse_late_fee(account, fee, paid_on, on, actor))
        touched.setdefault(account.loan_id, set()).add(fee.seq)
        reversed_count += 1
    insert_rows(session, LedgerEntry.__table__, rows)
    save_open_fees(session, candidates, touched)
    return reversed_count


def _may_have_an_unearned_late_fee(account: Account, earliest_received: date | None) -> bool:
    """Tell, without a query, whether a payment received on that day can have been within a charged fee's grace."""
    if earliest_received is None or account.late_fee_through is None:
        return False
    return earliest_received <= account.late_fee_through + timedelta(days=account.late_fee_grace_days)


def _late_fees_paid_in_grace(session: Session, accounts: Mapping[int, Account]) -> list[tuple[Fee, date]]:
    """Return the loans' late fees not yet reversed whose installment was paid in full within its grace period."""
    fees = session.scalars(
        select(Fee).where(Fee.loan_id.in_(list(accounts)), Fee.kind == FeeKind.LATE.value).order_by(Fee.id)
    ).all()
    if not fees:
        return []
    already = set(
        session.scalars(
            select(LedgerEntry.reference).where(
                LedgerEntry.loan_id.in_(list(accounts)),
                LedgerEntry.reference.in_([f"fee:{fee.id}:{UNEARNED_LATE_FEE}" for fee in fees]),
            )
        )
    )
    paid = {
        (loan_id, due): paid_on
        for loan_id, due, paid_on in session.execute(
            select(Installment.loan_id, Installment.due_date, Installment.paid_on).where(
                Installment.loan_id.in_(list(accounts)), Installment.reversed.is_(False)
            )
        )
    }
    found = []
    for fee in fees:
        if fee.installment_due_date is None or f"fee:{fee.id}:{UNEARNED_LATE_FEE}" in already:
            continue
        paid_on = paid.get((fee.loan_id, fee.installment_due_date))
        grace = timedelta(days=accounts[fee.loan_id].late_fee_grace_days)
        if paid_on is not None and paid_on <= fee.installment_due_date + grace:
            found.append((fee, paid_on))
    return found


def _reverse_late_fee(account: Account, fee: Fee, paid_on: date, on: date, actor: str) -> dict[str, Any]:
    """Book the reversal of one late fee: waive what is owed, return what was paid on it to suspense."""
    outstanding = next((f.outstanding for f in account.open_fees if f.seq == fee.seq), ZERO)
    already_paid: Decimal = to_money(fee.amount, account.currency) - outstanding
    account.open_fees = [f for f in account.open_fees if f.seq != fee.seq]
    due = fee.installment_due_date
    assert due is not None
    memo = (
        f"late fee #{fee.seq} reversed: the installment due {due.isoformat()} was paid on {paid_on.isoformat()}, "
        f"within its {account.late_fee_grace_days}-day grace period (credited as of receipt)"
    )
    line = account.book(EntryKind.FEE_WAIVED, on, memo, fees=-outstanding, suspense=already_paid)
    return ledger_row(account.loan_id, line, actor, f"fee:{fee.id}:{UNEARNED_LATE_FEE}")
