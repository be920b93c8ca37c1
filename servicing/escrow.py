"""Use cases of a loan's escrow account: put a bill on it, run the annual analysis, show where it stands.

Each loads the loan, applies the arithmetic of `servicing.rules.escrow`, and writes the result,
its ledger lines and an audit entry in the caller's transaction.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicing.audit import record_audit
from servicing.errors import InvalidInput, LoanNotFound
from servicing.rules.account import Account, LoanStatus
from servicing.rules.escrow import (
    DEFAULT_POLICY,
    ESCROWED_PRODUCTS,
    FREQUENCIES,
    AnalysisPolicy,
    EscrowBill,
    EscrowKind,
    EscrowStatement,
    analyze_escrow,
    is_current_for_escrow,
)
from servicing.rules.ledger import EntryKind
from servicing.rules.money import ZERO, is_money, to_money
from servicing.store.accounts import business_date, ledger_row, load_account, save_accounts
from servicing.store.bulk import insert_rows
from servicing.store.models import EscrowItem, LedgerEntry

REFUND_MEMO = "surplus refunded to borrower"
_BILL_REFERENCE = re.compile(r"^escrow:(\d+):")  # how end of day references a bill it paid
# -- use cases ------------------------------------------------------------------------------------------


def add_escrow_item(
    session: Session,
    loan_number: str,
    *,
    kind: EscrowKind | str,
    payee: str,
    amount: Decimal,
    next_due_date: date,
    frequency_months: int = 12,
    actor: str,
) -> EscrowItem:
    """Put a tax or insurance bill on a loan's escrow account; end of day pays it when due."""
    account = _escrowed_account(session, loan_number, for_update=False)
    bill = EscrowBill(
        kind=_kind(kind),
        payee=_payee(payee),
        amount=_bill_amount(amount, account.currency),
        next_due_date=_future_due_date(session, next_due_date),
        frequency_months=_frequency(frequency_months),
    )
    _refuse_duplicate(session, account, bill)
    item = EscrowItem(
        loan_id=account.loan_id,
        kind=bill.kind.value,
        payee=bill.payee,
        amount=bill.amount,
        next_due_date=bill.next_due_date,
        frequency_months=bill.frequency_months,
    )
    session.add(item)
    session.flush()
    record_audit(session, actor, "escrow.item_added", "loan", loan_number, _bill_detail(item.id, bill))
    return item


def run_escrow_analysis(
    session: Session,
    loan_number: str,
    *,
    on: date,
    actor: str,
    policy: AnalysisPolicy = DEFAULT_POLICY,
) -> EscrowStatement:
    """Analyze a loan's escrow account: set the new monthly deposit, refund a surplus due, audit it."""
    account = _escrowed_account(session, loan_number, for_update=True)
    _refuse_backdated(session, on)
    bills = _bills_of(session, account)
    if not bills and account.balances.escrow == 0 and account.escrow_monthly == 0:
        raise InvalidInput(f"loan {loan_number} has no escrow account to analyze")
    statement = analyze_escrow(
        bills,
        on=on,
        balance=account.balances.escrow,
        current_deposit=account.escrow_monthly,
        is_current=is_current_for_escrow(account.days_past_due(on)),
        schedule_anchor=account.schedule_anchor,
        currency=account.currency,
        next_unpaid_due=account.next_due_date,
        policy=policy,
    )
    account.escrow_monthly = statement.new_deposit
    if statement.refund:
        _refund_surplus(session, account, statement, actor)
    save_accounts(session, [account], business_date(session) or on)
    record_audit(session, actor, "escrow.analyzed", "loan", loan_number, statement.summary())
    return statement


def _refund_surplus(session: Session, account: Account, statement: EscrowStatement, actor: str) -> None:
    """Book the surplus going back to the borrower, dated the analysis day (well within the 30 days)."""
    day = statement.analyzed_on
    line = account.book(EntryKind.ESCROW_DISBURSEMENT, day, REFUND_MEMO, escrow=-statement.refund)
    reference = f"escrow-refund:{account.loan_number}:{day.isoformat()}"
    insert_rows(session, LedgerEntry.__table__, [ledger_row(account.loan_id, line, actor, reference)])


# -- the summary the bot and console show ------------------------------------------------------------


@dataclass(frozen=True)
class EscrowBillView:
    """A bill on the escrow account as a borrower or specialist sees it."""

    item_id: int
    kind: EscrowKind
    payee: str
    amount: Decimal
    next_due_date: date
    frequency_months: int
    last_paid_on: date | None


@dataclass(frozen=True)
class EscrowPayment:
    """A bill the escrow account paid: when, how much, what and to whom."""

    paid_on: date
    amount: Decimal
    kind: EscrowKind | None
    payee: str | None
    memo: str


@dataclass(frozen=True)
class EscrowSummary:
    """Where a loan's escrow stands: balance, deposit, bills, the last one paid and the next one due."""

    loan_number: str
    currency: str
    balance: Decimal
    monthly_deposit: Decimal
    items: tuple[EscrowBillView, ...]
    last_disbursement: EscrowPayment | None
    next_disbursement: EscrowBillView | None

    @property
    def advance(self) -> Decimal:
        """Return what the servicer has advanced (a negative balance), or zero."""
        return max(ZERO, -self.balance)

    @property
    def has_escrow(self) -> bool:
        """Tell whether the loan has an escrow account at all."""
        return bool(self.items) or self.balance != 0 or self.monthly_deposit != 0


def escrow_summary(session: Session, loan_number: str) -> EscrowSummary:
    """Return a loan's escrow balance, bills, last bill paid and next bill due (were my taxes paid?)."""
    account = load_account(session, loan_number)
    if account is None:
        raise LoanNotFound(loan_number)
    views = tuple(_view(row, account.currency) for row in _item_rows(session, account.loan_id))
    upcoming = min(views, key=lambda v: (v.next_due_date, v.item_id), default=None)
    return EscrowSummary(
        loan_number=account.loan_number,
        currency=account.currency,
        balance=account.balances.escrow,
        monthly_deposit=account.escrow_monthly,
        items=views,
        last_disbursement=_last_bill_paid(session, account, {v.item_id: v for v in views}),
        next_disbursement=upcoming if account.status is LoanStatus.ACTIVE else None,
    )


def _last_bill_paid(session: Session, account: Account, views: dict[int, EscrowBillView]) -> EscrowPayment | None:
    """Return the latest bill end of day paid from escrow (refunds to the borrower are not bills)."""
    entry = session.execute(
        select(LedgerEntry.effective_date, LedgerEntry.escrow, LedgerEntry.reference, LedgerEntry.memo)
        .where(
            LedgerEntry.loan_id == account.loan_id,
            LedgerEntry.kind == EntryKind.ESCROW_DISBURSEMENT.value,
            LedgerEntry.reference.like("escrow:%"),
        )
        .order_by(LedgerEntry.effective_date.desc(), LedgerEntry.id.desc())
        .limit(1)
    ).one_or_none()
    if entry is None:
        return None
    match = _BILL_REFERENCE.match(entry.reference or "")
    bill = views.get(int(match.group(1))) if match else None
    return EscrowPayment(
        paid_on=entry.effective_date,
        amount=to_money(-entry.escrow, account.currency),
        kind=bill.kind if bill else None,
        payee=bill.payee if bill else None,
        memo=entry.memo,
    )


# -- checks and loading ------------------------------------------------------------------------------


def _escrowed_account(session: Session, loan_number: str, *, for_update: bool) -> Account:
    """Return an active loan that can carry escrow, or refuse with the reason."""
    account = load_account(session, loan_number, for_update=for_update)
    if account is None:
        raise LoanNotFound(loan_number)
    if account.status is not LoanStatus.ACTIVE:
        raise InvalidInput(f"loan {loan_number} is {account.status.value}; its escrow account is closed")
    if account.product not in ESCROWED_PRODUCTS:
        raise InvalidInput(f"loan {loan_number} is a {account.product.value} loan; only mortgages carry escrow")
    return account


def _kind(kind: EscrowKind | str) -> EscrowKind:
    try:
        return EscrowKind(kind)
    except ValueError as error:
        allowed = ", ".join(k.value for k in EscrowKind)
        raise InvalidInput(f"kind: {kind!r} is not one of {allowed}") from error


def _payee(payee: str) -> str:
    cleaned = payee.strip() if isinstance(payee, str) else ""
    if not cleaned:
        raise InvalidInput("payee: missing")
    if len(cleaned) > 100:
        raise InvalidInput("payee: longer than 100 characters")
    return cleaned


def _bill_amount(amount: Decimal, currency: str) -> Decimal:
    if not isinstance(amount, Decimal):
        raise InvalidInput(f"amount: expected a Decimal, got {type(amount).__name__}")
    if not amount.is_finite() or amount <= 0:
        raise InvalidInput(f"amount: {amount} must be positive")
    if not is_money(amount, currency):
        raise InvalidInput(f"amount: {amount} has more decimals than {currency} allows")
    return amount


def _future_due_date(session: Session, due: date) -> date:
    if not isinstance(due, date):
        raise InvalidInput(f"next_due_date: expected a date, got {type(due).__name__}")
    last_run = business_date(session)
    if last_run is not None and due <= last_run:
        raise InvalidInput(f"next_due_date: {due.isoformat()} is not after the business date {last_run.isoformat()}")
    return due


def _refuse_backdated(session: Session, on: date) -> None:
    last_run = business_date(session)
    if last_run is not None and on < last_run:
        raise InvalidInput(f"analysis date {on.isoformat()} is before the business date {last_run.isoformat()}")


def _frequency(months: int) -> int:
    if isinstance(months, bool) or months not in FREQUENCIES:
        allowed = ", ".join(str(f) for f in FREQUENCIES)
        raise InvalidInput(f"frequency_months: {months!r} is not one of {allowed}")
    return months


def _refuse_duplicate(session: Session, account: Account, bill: EscrowBill) -> None:
    """Refuse the same bill twice (same kind, payee and due date): a retried request adds nothing."""
    existing = session.scalar(
        select(EscrowItem.id).where(
            EscrowItem.loan_id == account.loan_id,
            EscrowItem.kind == bill.kind.value,
            EscrowItem.payee == bill.payee,
            EscrowItem.next_due_date == bill.next_due_date,
        )
    )
    if existing is not None:
        raise InvalidInput(
            f"{bill.kind.value} to {bill.payee} due {bill.next_due_date.isoformat()} "
            f"is already on loan {account.loan_number}"
        )


def _bill_detail(item_id: int, bill: EscrowBill) -> dict[str, Any]:
    return {
        "item_id": item_id,
        "kind": bill.kind.value,
        "payee": bill.payee,
        "amount": str(bill.amount),
        "next_due_date": bill.next_due_date.isoformat(),
        "frequency_months": bill.frequency_months,
    }


def _item_rows(session: Session, loan_id: int) -> Sequence[EscrowItem]:
    return session.scalars(
        select(EscrowItem).where(EscrowItem.loan_id == loan_id).order_by(EscrowItem.next_due_date, EscrowItem.id)
    ).all()


def _bills_of(session: Session, account: Account) -> list[EscrowBill]:
    return [
        EscrowBill(
            EscrowKind(row.kind),
            row.payee,
            to_money(row.amount, account.currency),
            row.next_due_date,
            row.frequency_months,
        )
        for row in _item_rows(session, account.loan_id)
    ]


def _view(row: EscrowItem, currency: str) -> EscrowBillView:
    return EscrowBillView(
        item_id=row.id,
        kind=EscrowKind(row.kind),
        payee=row.payee,
        amount=to_money(row.amount, currency),
        next_due_date=row.next_due_date,
        frequency_months=row.frequency_months,
        last_paid_on=row.last_paid_on,
    )
