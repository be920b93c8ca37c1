"""Posting a payment: the waterfall, suspense, curtailment, payoff, and reversal.

Pure functions over an `Account`: they change it and return what they booked, so the caller
can store the lines, and a reversal can undo exactly what a payment did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from dateutil.relativedelta import relativedelta

from servicing.errors import PaymentRefused, ReversalRefused
from servicing.rules.account import Account, FeeKind, LoanStatus, paid_through_for_due
from servicing.rules.ledger import Balances, EntryKind, LedgerLine
from servicing.rules.money import ZERO, is_money
from servicing.rules.payoff import payoff_quote

FEE_ORDER = (FeeKind.LATE, FeeKind.RETURNED_PAYMENT, FeeKind.OTHER)


@dataclass(frozen=True)
class PaidInstallment:
    """An installment a payment satisfied, with its split."""

    number: int
    due_date: date
    principal: Decimal
    interest: Decimal
    escrow: Decimal


@dataclass(frozen=True)
class Position:
    """The parts of an account's state that a payment moves besides its balances."""

    interest_paid_through: date
    installments_paid: int
    dsi_credit: Decimal
    status: str

    @classmethod
    def of(cls, account: Account) -> Position:
        """Capture an account's position."""
        return cls(
            account.interest_paid_through,
            account.installments_paid,
            account.dsi_credit,
            account.status.value,
        )

    def restore(self, account: Account) -> None:
        """Put an account back where it stood."""
        account.interest_paid_through = self.interest_paid_through
        account.installments_paid = self.installments_paid
        account.dsi_credit = self.dsi_credit
        account.status = LoanStatus(self.status)


@dataclass
class Application:
    """What posting one payment did: ledger lines, installments and fees paid, and the prior position."""

    amount: Decimal
    received_on: date
    before: Position
    lines: list[LedgerLine] = field(default_factory=list)
    installments: list[PaidInstallment] = field(default_factory=list)
    fees_paid: list[tuple[int, Decimal]] = field(default_factory=list)
    escrow_shortage_paid: Decimal = ZERO
    paid_off: bool = False

    def total_change(self) -> Balances:
        """Return the sum of the bucket changes this payment booked."""
        total = Balances()
        for line in self.lines:
            total = total.plus(line.change)
        return total

    def to_record(self) -> dict[str, Any]:
        """Return what a reversal needs, as JSON-friendly data."""
        return {
            "before": {
                "interest_paid_through": self.before.interest_paid_through.isoformat(),
                "installments_paid": self.before.installments_paid,
                "dsi_credit": str(self.before.dsi_credit),
                "status": self.before.status,
            },
            "fees": [[seq, str(amount)] for seq, amount in self.fees_paid],
            "installments": [i.number for i in self.installments],
            "escrow_shortage": str(self.escrow_shortage_paid),
        }


def check_payment(account: Account, amount: Decimal, received_on: date, business_date: date) -> None:
    """Refuse a payment that cannot be posted, with the reason."""
    if account.status is not LoanStatus.ACTIVE:
        raise PaymentRefused(f"loan {account.loan_number} is {account.status.value.replace('_', ' ')}")
    if amount <= 0:
        raise PaymentRefused("amount must be positive")
    if not is_money(amount, account.currency):
        raise PaymentRefused(f"amount {amount} is finer than {account.currency} allows")
    if received_on > business_date:
        raise PaymentRefused(f"received date {received_on} is in the future")


def post_payment(account: Account, amount: Decimal, received_on: date) -> Application:
    """Credit a payment as of the day it was received."""
    application = Application(amount, received_on, Position.of(account))
    if _pays_off(account, amount, received_on):
        _post_payoff(account, application)
    elif account.is_scheduled:
        _post_scheduled(account, application)
    else:
        _post_daily_simple(account, application)
    return application


def _pays_off(account: Account, amount: Decimal, received_on: date) -> bool:
    """Tell whether a payment covers the payoff on its received date (quoted only when it might)."""
    if amount + account.balances.suspense < account.balances.principal:
        return False
    total = payoff_quote(account, received_on, received_on).total
    return total > 0 and amount >= total


# -- payoff ---------------------------------------------------------------------------------------


def _post_payoff(account: Account, application: Application) -> None:
    day = application.received_on
    accrued = account.interest_through(day)
    if accrued:
        application.lines.append(account.book(EntryKind.INTEREST_ACCRUAL, day, "interest to payoff", interest=accrued))
    application.fees_paid = account.take_fees(account.balances.fees, FEE_ORDER)
    b = account.balances
    advance = max(ZERO, -b.escrow)
    application.lines.append(
        account.book(
            EntryKind.PAYOFF,
            day,
            "paid in full",
            principal=-b.principal,
            interest=-b.interest,
            fees=-b.fees,
            escrow=advance,
            deferred=-b.deferred,
            suspense=application.amount - (b.principal + b.interest + b.fees + advance + b.deferred),
        )
    )
    if account.balances.escrow > 0:
        application.lines.append(
            account.book(
                EntryKind.ESCROW_DISBURSEMENT,
                day,
                "escrow balance refunded to borrower after payoff",
                escrow=-account.balances.escrow,
            )
        )
    account.interest_paid_through = day
    _close(account, application)


def _close(account: Account, application: Application) -> None:
    """Mark the loan paid off: nothing is owed and no installment is left."""
    account.status = LoanStatus.PAID_OFF
    account.installments_paid = account.term_months
    application.paid_off = True


# -- scheduled (30/360) loans -----------------------------------------------------------------------


def _post_scheduled(account: Account, application: Application) -> None:
    day = application.received_on
    funds = application.amount + account.balances.suspense
    applied = 0
    # 1. every unpaid installment due on or before R that the funds cover, oldest first
    for number in account.installments_due_by(day):
        if funds < account.installment_amount(number):
            break
        funds -= _pay_installment(account, application, number)
        applied += 1
    still_due = bool(account.installments_due_by(day))
    next_number = account.installments_paid + 1
    next_is_near = (
        account.balances.principal > 0
        and next_number <= account.term_months
        and account.due_date(next_number) <= day + relativedelta(months=1)
    )
    # 2. one installment paid ahead, when nothing is due and nothing was applied
    if not applied and not still_due and next_is_near and funds >= account.installment_amount(next_number):
        funds -= _pay_installment(account, application, next_number)
        applied, next_is_near = 1, False
    # 3. an escrow shortage billed, then fees, only once no installment due is left unpaid
    if not still_due:
        funds -= _pay_escrow_billed(account, application, funds)
        funds -= _pay_fees(account, application, funds)
    # 4. what is left waits in suspense (a partial payment) or reduces principal
    if not (still_due or (not applied and next_is_near)):
        funds -= _curtail(account, application, funds)
    _settle_suspense(account, application, funds)


def _pay_installment(account: Account, application: Application, number: int) -> Decimal:
    """Apply one whole installment: interest, then principal, then escrow; return what it cost."""
    day = application.received_on
    payment, principal, interest = account.principal_and_interest(number, account.balances.principal)
    escrow = account.escrow_deposit(number)
    if interest:
        application.lines.append(
            account.book(EntryKind.INTEREST_ACCRUAL, day, f"interest, installment {number}", interest=interest)
        )
    application.lines.append(
        account.book(
            EntryKind.PAYMENT,
            day,
            f"installment {number}",
            interest=-interest,
            principal=-principal,
            escrow=escrow,
        )
    )
    due = account.due_date(number)
    application.installments.append(PaidInstallment(number, due, principal, interest, escrow))
    account.interest_paid_through = paid_through_for_due(due)
    account.installments_paid = number
    return payment + escrow


def _pay_escrow_billed(account: Account, application: Application, funds: Decimal) -> Decimal:
    """Put funds toward an escrow shortage or deficiency billed by an analysis, into escrow; return what it took."""
    amount = min(funds, account.escrow_shortage_due)
    if amount <= 0:
        return ZERO
    account.escrow_shortage_due -= amount
    application.escrow_shortage_paid += amount
    memo = "billed escrow shortage paid into escrow"
    application.lines.append(account.book(EntryKind.ESCROW_DEPOSIT, application.received_on, memo, escrow=amount))
    return amount


def _pay_fees(account: Account, application: Application, funds: Decimal) -> Decimal:
    taken = account.take_fees(funds, FEE_ORDER)
    total = sum((amount for _, amount in taken), ZERO)
    if total:
        application.fees_paid.extend(taken)
        application.lines.append(account.book(EntryKind.PAYMENT, application.received_on, "fees", fees=-total))
    return total


def _curtail(account: Account, application: Application, funds: Decimal) -> Decimal:
    amount = min(funds, account.balances.principal)
    if amount > 0:
        application.lines.append(
            account.book(EntryKind.CURTAILMENT, application.received_on, "extra principal", principal=-amount)
        )
    return max(amount, ZERO)


def _settle_suspense(account: Account, application: Application, held: Decimal) -> None:
    """Leave exactly `held` in suspense and close the loan if nothing is owed any more."""
    change = held - account.balances.suspense
    if change:
        kind = EntryKind.SUSPENSE_IN if change > 0 else EntryKind.SUSPENSE_OUT
        memo = "partial payment held" if change > 0 else "suspense applied"
        application.lines.append(account.book(kind, application.received_on, memo, suspense=change))
    b = account.balances
    if b.principal == 0 and b.interest == 0 and b.fees == 0 and b.deferred == 0:
        _close(account, application)


# -- daily simple interest (actual/365) loans ---------------------------------------------------------


def _post_daily_simple(account: Account, application: Application) -> None:
    day = application.received_on
    funds = application.amount + account.balances.suspense
    accrued = account.interest_through(day)
    if accrued:
        application.lines.append(
            account.book(EntryKind.INTEREST_ACCRUAL, day, "interest to payment date", interest=accrued)
        )
    account.interest_paid_through = max(day, account.interest_paid_through)
    interest = min(funds, account.balances.interest)
    past_due = max(ZERO, _amount_past_due(account, day) - interest)
    principal = min(funds - interest, account.balances.principal, past_due)
    if interest or principal:
        application.lines.append(
            account.book(EntryKind.PAYMENT, day, "interest and principal due", interest=-interest, principal=-principal)
        )
    funds -= interest + principal
    funds -= _pay_escrow_billed(account, application, funds)
    funds -= _pay_fees(account, application, funds)
    extra = _curtail(account, application, funds)
    funds -= extra
    _credit_installments(account, application, interest + principal + extra)
    _settle_suspense(account, application, funds)


def _amount_past_due(account: Account, day: date) -> Decimal:
    """Return the principal and interest still owed on installments due on or before `day` (daily simple)."""
    due = account.installments_due_by(day)
    return max(ZERO, account.monthly_payment * len(due) - account.dsi_credit)


def _credit_installments(account: Account, application: Application, credit: Decimal) -> None:
    """Count installments paid once the cumulative money paid covers them."""
    account.dsi_credit += credit
    while account.installments_paid < account.term_months - 1 and account.dsi_credit >= account.monthly_payment:
        account.dsi_credit -= account.monthly_payment
        account.installments_paid += 1
        number = account.installments_paid
        application.installments.append(PaidInstallment(number, account.due_date(number), ZERO, ZERO, ZERO))


# -- reversal ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeeRef:
    """A fee a reversed payment had paid, to put back."""

    seq: int
    amount: Decimal
    kind: FeeKind
    assessed_on: date


def reverse_application(
    account: Account,
    record: dict[str, Any],
    change: Balances,
    fees: list[FeeRef],
    day: date,
    memo: str,
) -> LedgerLine:
    """Undo a posted payment exactly: book the opposite change and restore its prior position."""
    if account.status is LoanStatus.CHARGED_OFF:
        raise ReversalRefused(f"loan {account.loan_number} is charged off")
    before = record["before"]
    line = LedgerLine(EntryKind.REVERSAL, day, change.negated(), memo)
    account.balances = account.balances.plus(line.change)
    Position(
        date.fromisoformat(before["interest_paid_through"]),
        int(before["installments_paid"]),
        Decimal(before["dsi_credit"]),
        before["status"],
    ).restore(account)
    for fee in fees:
        account.reopen_fee(fee.seq, fee.amount, fee.kind, fee.assessed_on)
    account.escrow_shortage_due += Decimal(record.get("escrow_shortage", "0"))
    return line
