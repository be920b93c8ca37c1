"""Use cases about fees on a loan: waiving one, with a ledger entry and an audit entry."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicing.audit import record_audit
from servicing.errors import LoanClosed, LoanNotFound, ServicingError
from servicing.rules.account import Account, LoanStatus
from servicing.rules.ledger import EntryKind
from servicing.rules.money import to_money
from servicing.store.accounts import business_date, ledger_row, load_account, save_accounts, save_open_fees
from servicing.store.bulk import insert_rows
from servicing.store.models import Fee, LedgerEntry


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
