"""A loan account in memory: its terms, its balances and where it stands on its schedule.

Every change to the balances goes through `Account.book`, which returns the ledger line it
booked, so the cached balances and the ledger cannot drift apart.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from servicing.rules.interest import Compounding, InterestMethod, interest_between, per_diem
from servicing.rules.ledger import Balances, EntryKind, LedgerLine
from servicing.rules.money import ZERO, to_money
from servicing.rules.schedule import due_date_of, installment_interest, split_installment


class LoanStatus(StrEnum):
    """Where a loan is in its life."""

    ACTIVE = "active"
    PAID_OFF = "paid_off"
    CHARGED_OFF = "charged_off"


class Product(StrEnum):
    """What kind of loan it is."""

    MORTGAGE = "mortgage"
    PERSONAL = "personal"
    AUTO = "auto"
    BUSINESS = "business"


class FeeKind(StrEnum):
    """Why a fee was charged."""

    LATE = "late"
    RETURNED_PAYMENT = "returned_payment"
    OTHER = "other"


@dataclass
class OpenFee:
    """A fee with money still owed on it."""

    seq: int
    kind: FeeKind
    assessed_on: date
    outstanding: Decimal


@dataclass
class Account:
    """A loan's terms and state, as the posting rules need them."""

    loan_id: int
    loan_number: str
    currency: str
    product: Product
    interest_method: InterestMethod
    compounding: Compounding
    annual_rate: Decimal
    monthly_payment: Decimal
    term_months: int
    schedule_anchor: date
    late_fee_rate: Decimal
    late_fee_grace_days: int
    escrow_monthly: Decimal
    interest_paid_through: date
    installments_paid: int = 0
    status: LoanStatus = LoanStatus.ACTIVE
    balances: Balances = field(default_factory=Balances)
    dsi_credit: Decimal = ZERO
    late_fee_through: date | None = None
    fee_seq: int = 0
    late_fee_amount: Decimal = ZERO  # a fixed late charge; when zero, the rate applies
    open_fees: list[OpenFee] = field(default_factory=list)
    # An escrow analysis changes the deposit from the first installment of its computation year
    # (`escrow_monthly_from`); installments due before it keep the deposit they were billed with.
    escrow_previous_monthly: Decimal = ZERO
    escrow_monthly_from: date | None = None
    escrow_shortage_due: Decimal = ZERO  # an escrow shortage or deficiency billed and not yet paid

    # -- the schedule -------------------------------------------------------------------------

    @property
    def is_scheduled(self) -> bool:
        """Tell whether installments are billed 30/360 in arrears (mortgages)."""
        return self.interest_method is InterestMethod.SCHEDULED_30_360

    @property
    def next_installment(self) -> int:
        """Return the number of the oldest installment not paid in full."""
        return min(self.installments_paid + 1, self.term_months)

    def due_date(self, number: int) -> date:
        """Return the due date of an installment of the current schedule."""
        return due_date_of(self.schedule_anchor, number)

    @property
    def next_due_date(self) -> date:
        """Return the due date of the oldest installment not paid in full."""
        return self.due_date(self.next_installment)

    def installments_due_by(self, day: date) -> list[int]:
        """Return the unpaid installment numbers due on or before `day`, oldest first."""
        numbers = []
        number = self.installments_paid + 1
        while number <= self.term_months and self.due_date(number) <= day:
            numbers.append(number)
            number += 1
        if not numbers and self.is_matured_unpaid(day):
            numbers.append(self.term_months)
        return numbers

    def is_matured_unpaid(self, day: date) -> bool:
        """Tell whether the last installment has fallen due and money is still owed."""
        return (
            self.status is LoanStatus.ACTIVE
            and self.balances.principal > 0
            and self.installments_paid >= self.term_months
            and self.due_date(self.term_months) <= day
        )

    def principal_and_interest(self, number: int, principal: Decimal) -> tuple[Decimal, Decimal, Decimal]:
        """Return (payment, principal, interest) of installment `number` on the given principal (30/360)."""
        interest = installment_interest(
            principal,
            self.annual_rate,
            self.interest_method,
            self.compounding,
            self.interest_paid_through,
            self.due_date(number),
            self.currency,
        )
        payment, paid_principal = split_installment(
            principal, self.monthly_payment, interest, number >= self.term_months
        )
        return payment, paid_principal, interest

    def installment_amount(self, number: int) -> Decimal:
        """Return what installment `number` costs now: principal and interest plus its escrow deposit."""
        payment, _, _ = self.principal_and_interest(number, self.balances.principal)
        return payment + self.escrow_deposit(number)

    def escrow_deposit(self, number: int) -> Decimal:
        """Return the escrow deposit installment `number` carries: the one in force on its due date."""
        starts = self.escrow_monthly_from
        if starts is None or self.escrow_previous_monthly == self.escrow_monthly or self.due_date(number) >= starts:
            return self.escrow_monthly
        return self.escrow_previous_monthly

    def escrow_past_due(self, day: date) -> Decimal:
        """Return the escrow deposits of the unpaid installments due before `day`, each at its own amount."""
        if not self.is_scheduled:
            return to_money(ZERO, self.currency)  # daily simple installments carry no escrow deposit
        past_due = (n for n in self.installments_due_by(day) if self.due_date(n) < day)
        return to_money(sum((self.escrow_deposit(n) for n in past_due), ZERO), self.currency)

    def days_past_due(self, as_of: date) -> int:
        """Return days since the oldest unpaid installment fell due (0 when none has)."""
        if self.status is not LoanStatus.ACTIVE or self.balances.principal <= 0:
            return 0
        return max(0, (as_of - self.next_due_date).days)

    def amount_due(self, as_of: date) -> Decimal:
        """Return the installments due by `as_of` (or else the next one), escrow billed and fees, less suspense."""
        if self.status is not LoanStatus.ACTIVE:
            return to_money(ZERO, self.currency)
        due = self.installments_due_by(as_of) or [self.next_installment]
        if self.is_scheduled:
            total, principal = ZERO, self.balances.principal
            for number in due:
                payment, paid_principal, _ = self.principal_and_interest(number, principal)
                principal -= paid_principal
                total += payment + self.escrow_deposit(number)
        else:
            total = max(ZERO, self.monthly_payment * len(due) - self.dsi_credit)
        owed = total + self.escrow_shortage_due + self.balances.fees
        return to_money(max(ZERO, owed - self.balances.suspense), self.currency)

    # -- interest -----------------------------------------------------------------------------

    def interest_through(self, day: date) -> Decimal:
        """Return interest accrued after the paid-through date up to `day`, rounded once."""
        return to_money(
            interest_between(
                self.balances.principal,
                self.annual_rate,
                self.interest_paid_through,
                day,
                self.interest_method,
                self.compounding,
            ),
            self.currency,
        )

    def per_diem(self) -> Decimal:
        """Return one day's interest on the current principal."""
        return per_diem(
            self.balances.principal,
            self.annual_rate,
            self.interest_method,
            self.compounding,
            self.currency,
        )

    # -- booking ------------------------------------------------------------------------------

    def book(self, kind: EntryKind, day: date, memo: str = "", **change: Decimal) -> LedgerLine:
        """Move the balances by `change` and return the ledger line that records it."""
        line = LedgerLine(kind, day, Balances(**change), memo)
        self.balances = self.balances.plus(line.change)
        return line

    def assess_fee(self, kind: FeeKind, amount: Decimal, day: date, memo: str = "") -> LedgerLine:
        """Charge a fee and return its ledger line."""
        self.fee_seq += 1
        self.open_fees.append(OpenFee(self.fee_seq, kind, day, amount))
        return self.book(EntryKind.FEE_ASSESSED, day, memo or f"{kind} fee #{self.fee_seq}", fees=amount)

    def take_fees(self, funds: Decimal, kinds: tuple[FeeKind, ...]) -> list[tuple[int, Decimal]]:
        """Apply funds to open fees of the given kinds, oldest first; return (fee seq, amount) taken."""
        taken: list[tuple[int, Decimal]] = []
        for fee in sorted(self.open_fees, key=lambda f: (f.assessed_on, f.seq)):
            if funds <= 0:
                break
            if fee.kind not in kinds or fee.outstanding <= 0:
                continue
            amount = min(funds, fee.outstanding)
            fee.outstanding -= amount
            funds -= amount
            taken.append((fee.seq, amount))
        self.open_fees = [f for f in self.open_fees if f.outstanding > 0]
        return taken

    def reopen_fee(self, seq: int, amount: Decimal, kind: FeeKind, assessed_on: date) -> None:
        """Put money back on a fee that a reversed payment had paid."""
        for fee in self.open_fees:
            if fee.seq == seq:
                fee.outstanding += amount
                return
        self.open_fees.append(OpenFee(seq, kind, assessed_on, amount))

    def copy(self) -> Account:
        """Return an independent copy (for quotes and what-ifs)."""
        return copy.deepcopy(self)


def paid_through_for_due(due: date) -> date:
    """Return the interest-paid-through date after paying the installment due on `due` (30/360, in arrears)."""
    return due - timedelta(days=1)
