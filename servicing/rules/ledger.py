"""Ledger lines: immutable records of every money movement, split by bucket.

Each bucket amount is the change to a balance the loan carries: principal, interest (billed and
unpaid), fees and deferred are what the borrower owes; escrow and suspense are money the servicer
holds for the borrower (a negative escrow balance is an advance).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Decimal
from enum import StrEnum

from servicing.rules.money import ZERO

BUCKETS = ("principal", "interest", "escrow", "fees", "suspense", "deferred")


class EntryKind(StrEnum):
    """What a ledger line records."""

    DISBURSEMENT = "disbursement"
    PAYMENT = "payment"
    INTEREST_ACCRUAL = "interest_accrual"
    FEE_ASSESSED = "fee_assessed"
    FEE_WAIVED = "fee_waived"
    ESCROW_DEPOSIT = "escrow_deposit"
    ESCROW_DISBURSEMENT = "escrow_disbursement"
    ESCROW_BILLED = "escrow_billed"  # an analysis billed an escrow shortage: owed, no money moved yet
    SUSPENSE_IN = "suspense_in"
    SUSPENSE_OUT = "suspense_out"
    CURTAILMENT = "curtailment"
    REVERSAL = "reversal"
    ADJUSTMENT = "adjustment"
    DEFERRAL = "deferral"
    CAPITALIZATION = "capitalization"
    PAYOFF = "payoff"


@dataclass(frozen=True)
class Balances:
    """A loan's balances by bucket, in its currency."""

    principal: Decimal = ZERO
    interest: Decimal = ZERO
    escrow: Decimal = ZERO
    fees: Decimal = ZERO
    suspense: Decimal = ZERO
    deferred: Decimal = ZERO

    def plus(self, other: Balances) -> Balances:
        """Return these balances moved by another set of bucket changes."""
        return Balances(
            self.principal + other.principal,
            self.interest + other.interest,
            self.escrow + other.escrow,
            self.fees + other.fees,
            self.suspense + other.suspense,
            self.deferred + other.deferred,
        )

    def negated(self) -> Balances:
        """Return the bucket changes that undo these."""
        return Balances(-self.principal, -self.interest, -self.escrow, -self.fees, -self.suspense, -self.deferred)

    def is_zero(self) -> bool:
        """Tell whether every bucket is zero."""
        return all(getattr(self, b) == 0 for b in BUCKETS)


@dataclass(frozen=True)
class LedgerLine:
    """One ledger entry before it is stored: what moved, when, and why."""

    kind: EntryKind
    effective_date: date
    change: Balances = field(default_factory=Balances)
    memo: str = ""

    def cash(self) -> Decimal:
        """Return the money this line received from (+) or returned to (-) the borrower."""
        c = self.change
        if self.kind is EntryKind.INTEREST_ACCRUAL or self.kind is EntryKind.FEE_ASSESSED:
            return ZERO
        return -c.principal - c.interest - c.fees - c.deferred + c.escrow + c.suspense


def bucket_names() -> tuple[str, ...]:
    """Return the bucket names in ledger column order."""
    return tuple(f.name for f in fields(Balances))
