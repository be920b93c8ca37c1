"""Bank accounts on file: added, replaced or removed by a specialist (or boarding, or a bank's correction), audited.

The account number is kept only as a Fernet token (`servicing.ach.vault`) and shown as its last 4 digits;
no log line or audit detail ever holds it whole. The routing number is the bank's public identifier: it is
kept plain and checked by its ABA check digit. A loan has at most one active account; adding another
replaces it (an active autopay follows the new account). `Loan.bank_account_last4` mirrors the active one,
so the one-time payments of `servicing.scheduled` and the bot keep working as before.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from servicing.ach.nacha import CHECKING_DEBIT, SAVINGS_DEBIT, is_routing_number
from servicing.ach.vault import Vault
from servicing.audit import record_audit
from servicing.errors import InvalidInput, LoanNotFound, ServicingError
from servicing.store.bulk import insert_rows_returning_ids
from servicing.store.models import AchFile, AutopayEnrolment, BankAccount, Loan, table_of, utcnow

ACCOUNT_NUMBER = re.compile(r"[0-9A-Za-z-]{4,17}")  # the entry detail's DFI account number holds 17 characters


class AccountType(StrEnum):
    """Checking or savings: it decides the transaction code of a debit (27 or 37)."""

    CHECKING = "checking"
    SAVINGS = "savings"

    @property
    def debit_code(self) -> str:
        """Return the NACHA transaction code of a debit to this kind of account."""
        return CHECKING_DEBIT if self is AccountType.CHECKING else SAVINGS_DEBIT


class BankAccountRefused(ServicingError):
    """A bank account change that cannot be made; the reason is the message."""


@dataclass(frozen=True)
class BankDetails:
    """A bank account as typed or boarded, checked: routing by its check digit, the number by its shape."""

    routing: str
    account_number: str
    account_type: AccountType

    @property
    def last4(self) -> str:
        """Return the last 4 characters of the account number."""
        return self.account_number[-4:]

    @property
    def masked(self) -> str:
        """Return the account number as it may be shown: its last 4 digits only."""
        return mask(self.last4)


def mask(last4: str) -> str:
    """Return how an account number is shown everywhere: its last 4 digits."""
    return f"****{last4}"


def check_bank_details(routing: str, account_number: str, account_type: str, field: str = "bank") -> BankDetails:
    """Return checked bank details, or refuse them naming the field (never echoing an account number)."""
    routing, account_number = routing.strip(), account_number.strip().replace(" ", "")
    if not is_routing_number(routing):
        raise InvalidInput(f"{field}_routing: {routing!r} is not a routing number (9 digits, ABA check digit)")
    if not ACCOUNT_NUMBER.fullmatch(account_number):
        raise InvalidInput(f"{field}_account: an account number is 4 to 17 digits or letters (hyphens allowed)")
    try:
        kind = AccountType(account_type.strip().lower())
    except ValueError as error:
        raise InvalidInput(f"{field}_type: {account_type!r} is not checking or savings") from error
    return BankDetails(routing, account_number, kind)


def audit_detail(details: BankDetails) -> dict[str, str]:
    """Return what the audit log keeps of an account: routing, type and the masked number."""
    return {"routing": details.routing, "account": details.masked, "type": details.account_type.value}


@dataclass(frozen=True)
class BankAccountView:
    """An account on file as any screen shows it: masked."""

    id: int
    routing: str
    masked: str
    account_type: str
    status: str
    source: str
    added_at: datetime
    added_by: str
    ended_reason: str | None


def _loan(session: Session, loan_number: str) -> Loan:
    loan = session.scalar(select(Loan).where(Loan.loan_number == loan_number).with_for_update())
    if loan is None:
        raise LoanNotFound(loan_number)
    return loan


def active_bank_account(session: Session, loan_id: int) -> BankAccount | None:
    """Return a loan's active bank account, if any."""
    return session.scalar(
        select(BankAccount).where(BankAccount.loan_id == loan_id, BankAccount.status == "active").limit(1)
    )


def add_bank_account(
    session: Session, loan_number: str, details: BankDetails, *, vault: Vault, actor: str, source: str = "console"
) -> BankAccount:
    """Put a bank account on file for a loan, replacing the active one (an active autopay follows it); audit it."""
    loan = _loan(session, loan_number)
    previous = active_bank_account(session, loan.id)
    if previous is not None:
        previous.status, previous.ended_at, previous.ended_by = "replaced", utcnow(), actor
        previous.ended_reason = "replaced by a new account"
    account = BankAccount(
        loan_id=loan.id, routing=details.routing, account_encrypted=vault.seal(details.account_number),
        account_last4=details.last4, account_type=details.account_type.value, status="active", source=source,
        added_by=actor,
    )  # fmt: skip
    session.add(account)
    session.flush()
    loan.bank_account_last4 = details.last4
    if previous is not None:
        session.execute(
            update(AutopayEnrolment)
            .where(AutopayEnrolment.bank_account_id == previous.id, AutopayEnrolment.status == "active")
            .values(bank_account_id=account.id)
        )
    detail: dict[str, Any] = {**audit_detail(details), "source": source}
    if previous is not None:
        detail["replaces"] = mask(previous.account_last4)
    record_audit(session, actor, "bank_account.added", "loan", loan_number, detail)
    return account


def remove_bank_account(session: Session, loan_number: str, *, actor: str, reason: str) -> BankAccount:
    """Take the active bank account off file; refused while autopay draws on it."""
    if not reason.strip():
        raise InvalidInput("a reason is required")
    loan = _loan(session, loan_number)
    account = active_bank_account(session, loan.id)
    if account is None:
        raise BankAccountRefused(f"loan {loan_number} has no bank account on file")
    autopay = session.scalar(
        select(AutopayEnrolment.id).where(AutopayEnrolment.loan_id == loan.id, AutopayEnrolment.status == "active")
    )
    if autopay is not None:
        raise BankAccountRefused("autopay draws on this account: stop autopay first")
    account.status, account.ended_at, account.ended_by, account.ended_reason = "removed", utcnow(), actor, reason[:200]
    loan.bank_account_last4 = None
    record_audit(session, actor, "bank_account.removed", "loan", loan_number,
                 {"account": mask(account.account_last4), "reason": reason})  # fmt: skip
    return account


def bank_accounts(session: Session, loan_number: str) -> list[BankAccountView]:
    """Return a loan's bank accounts, the active one first, masked."""
    loan = session.scalar(select(Loan).where(Loan.loan_number == loan_number))
    if loan is None:
        raise LoanNotFound(loan_number)
    rows = session.scalars(
        select(BankAccount).where(BankAccount.loan_id == loan.id).order_by(BankAccount.status != "active",
                                                                            BankAccount.id.desc())
    )  # fmt: skip
    return [_view(a) for a in rows]


def _view(a: BankAccount) -> BankAccountView:
    return BankAccountView(a.id, a.routing, mask(a.account_last4), a.account_type, a.status, a.source, a.added_at,
                           a.added_by, a.ended_reason)  # fmt: skip


def board_bank_accounts(
    session: Session, accounts: Sequence[tuple[int, str, BankDetails]], *, vault: Vault, actor: str
) -> None:
    """Put boarded loans' bank accounts on file: (loan id, loan number, details) each, one audit entry each."""
    if not accounts:
        return
    now = utcnow()
    rows = [
        {"loan_id": loan_id, "routing": d.routing, "account_encrypted": vault.seal(d.account_number),
         "account_last4": d.last4, "account_type": d.account_type.value, "status": "active", "source": "boarding",
         "added_at": now, "added_by": actor}
        for loan_id, _, d in accounts
    ]  # fmt: skip
    insert_rows_returning_ids(session, table_of(BankAccount), rows)
    for _, loan_number, details in accounts:
        record_audit(session, actor, "bank_account.added", "loan", loan_number,
                     {**audit_detail(details), "source": "boarding"})  # fmt: skip


@dataclass(frozen=True)
class Rotation:
    """What a key rotation did: secrets (accounts, kept files) re-encrypted with the newest key, and those on it."""

    rotated: int
    already_current: int


def rotate_bank_account_keys(session: Session, vault: Vault, *, actor: str) -> Rotation:
    """Re-encrypt every stored account number (and kept origination file) with the newest key.

    The old keys open whatever is not rotated yet, so the command may run while the console works; run again,
    it finds everything current.
    """
    rotated = current = 0
    for account in session.scalars(select(BankAccount).order_by(BankAccount.id).with_for_update()):
        if vault.is_current(account.account_encrypted):
            current += 1
            continue
        account.account_encrypted = vault.rotate(account.account_encrypted)
        rotated += 1
    for kept in session.scalars(select(AchFile).where(AchFile.content_encrypted.is_not(None)).with_for_update()):
        token = kept.content_encrypted or ""
        if vault.is_current(token):
            current += 1
            continue
        kept.content_encrypted = vault.rotate(token)
        rotated += 1
    record_audit(session, actor, "data_key.rotated", "bank_accounts", "all",
                 {"rotated": rotated, "already_current": current})  # fmt: skip
    return Rotation(rotated, current)
