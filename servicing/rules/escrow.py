"""The escrow analysis, pure: the bills an escrow account pays and the annual analysis (Reg X 1024.17).

The analysis projects the computation year (the twelve installments due on or after the analysis
date) month by month with the base deposit (one twelfth of the year's disbursements), finds the
lowest month-end balance, and compares it with the cushion: below it is a shortage, above it a
surplus; a negative balance today is a deficiency. See docs/decisions-escrow.md for the choices
where Reg X leaves room.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from dateutil.relativedelta import relativedelta

from servicing.errors import InvalidInput
from servicing.rules.account import Product
from servicing.rules.money import ZERO, to_money
from servicing.rules.schedule import due_date_of

FREQUENCIES = (1, 2, 3, 4, 6, 12)  # months between bills; each divides a year, so every year costs the same
MAX_CUSHION_MONTHS = 2  # Reg X 1024.17(c)(1)(ii): at most one sixth of the annual disbursements
MIN_SPREAD_MONTHS = 12  # Reg X 1024.17(f)(3): a shortage is spread over at least 12 months
CURRENT_WITHIN_DAYS = 30  # Reg X 1024.17(b): current = payments received within 30 days of the due date
REFUND_WITHIN = timedelta(days=30)  # Reg X 1024.17(f)(2)(i)
COLLECT_WITHIN = timedelta(days=30)  # Reg X 1024.17(f)(3)(i)(B)
ESCROWED_PRODUCTS = (Product.MORTGAGE, Product.BUSINESS)


class EscrowKind(StrEnum):
    """What an escrow bill is for."""

    PROPERTY_TAX = "property_tax"
    HAZARD_INSURANCE = "hazard_insurance"
    FLOOD_INSURANCE = "flood_insurance"
    MORTGAGE_INSURANCE = "mortgage_insurance"


# -- the analysis, pure ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EscrowBill:
    """A bill the escrow account pays: what, to whom, how much, when next and how many months apart."""

    kind: EscrowKind
    payee: str
    amount: Decimal
    next_due_date: date
    frequency_months: int = 12

    def due_dates_before(self, end: date) -> list[date]:
        """Return this bill's due dates from the next one up to, not including, `end`."""
        dates: list[date] = []
        step = 0
        while (due := self.next_due_date + relativedelta(months=step * self.frequency_months)) < end:
            dates.append(due)
            step += 1
        return dates


@dataclass(frozen=True)
class ProjectedDisbursement:
    """One bill the projection pays, in the loan's currency."""

    kind: EscrowKind
    payee: str
    due_date: date
    amount: Decimal


@dataclass(frozen=True)
class ProjectedMonth:
    """One month of the computation year: its installment's deposit, the bills due, the month-end balance."""

    month: int
    starts_on: date
    deposit: Decimal
    disbursements: tuple[ProjectedDisbursement, ...]
    disbursed: Decimal
    balance: Decimal


@dataclass(frozen=True)
class AnalysisPolicy:
    """The product settings of an escrow analysis; the defaults are the servicer's."""

    cushion_months: int = MAX_CUSHION_MONTHS
    spread_months: int = MIN_SPREAD_MONTHS
    collect_small_shortage: bool = False
    refund_threshold: Decimal = Decimal(50)

    def check(self) -> None:
        """Refuse settings Reg X does not allow."""
        if not 0 <= self.cushion_months <= MAX_CUSHION_MONTHS:
            raise InvalidInput(
                f"cushion of {self.cushion_months} months: Reg X allows at most {MAX_CUSHION_MONTHS} "
                "(one sixth of the annual disbursements)"
            )
        if self.spread_months < MIN_SPREAD_MONTHS:
            raise InvalidInput(
                f"a shortage is spread over at least {MIN_SPREAD_MONTHS} months, not {self.spread_months}"
            )
        if not isinstance(self.refund_threshold, Decimal) or self.refund_threshold < 0:
            raise InvalidInput("refund threshold must be a non-negative Decimal")


DEFAULT_POLICY = AnalysisPolicy()


@dataclass(frozen=True)
class EscrowStatement:
    """The annual escrow account statement; every amount in `currency`."""

    currency: str
    analyzed_on: date
    is_current: bool
    starting_balance: Decimal
    bills_before_year: tuple[ProjectedDisbursement, ...]
    opening_balance: Decimal
    months: tuple[ProjectedMonth, ...]
    annual_disbursements: Decimal
    cushion: Decimal
    lowest_balance: Decimal
    lowest_month: date
    shortage: Decimal
    deficiency: Decimal
    surplus: Decimal
    current_deposit: Decimal
    base_deposit: Decimal
    spread_months: int
    recovery_deposit: Decimal
    new_deposit: Decimal
    collect_amount: Decimal
    collect_due_on: date | None
    refund: Decimal
    refund_due_on: date | None
    kept_surplus: Decimal

    @property
    def computation_year_starts(self) -> date:
        """Return the due date of the first installment the new deposit is figured for."""
        return self.months[0].starts_on

    def summary(self) -> dict[str, Any]:
        """Return the statement's figures as JSON-ready strings (for the audit log and --json)."""
        figures: dict[str, Any] = {
            "currency": self.currency,
            "analyzed_on": self.analyzed_on.isoformat(),
            "is_current": self.is_current,
            "computation_year_starts": self.computation_year_starts.isoformat(),
            "lowest_month": self.lowest_month.isoformat(),
            "spread_months": self.spread_months,
            "collect_due_on": _iso(self.collect_due_on),
            "refund_due_on": _iso(self.refund_due_on),
        }
        for name in (
            "starting_balance", "opening_balance", "annual_disbursements", "cushion", "lowest_balance",
            "shortage", "deficiency", "surplus", "current_deposit", "base_deposit", "recovery_deposit",
            "new_deposit", "collect_amount", "refund", "kept_surplus",
        ):  # fmt: skip
            figures[name] = str(getattr(self, name))
        return figures


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def computation_year(schedule_anchor: date, on: date) -> list[date]:
    """Return the due dates of the twelve installments from the first due on or after `on`, and the 13th."""
    number = 1
    while due_date_of(schedule_anchor, number) < on:
        number += 1
    return [due_date_of(schedule_anchor, number + month) for month in range(13)]


def is_current_for_escrow(days_past_due: int) -> bool:
    """Tell whether a loan counts as current for Reg X: its payments arrive within 30 days of due."""
    return days_past_due <= CURRENT_WITHIN_DAYS


def analyze_escrow(
    bills: Sequence[EscrowBill],
    *,
    on: date,
    balance: Decimal,
    current_deposit: Decimal,
    is_current: bool,
    schedule_anchor: date,
    currency: str,
    next_unpaid_due: date | None = None,
    policy: AnalysisPolicy = DEFAULT_POLICY,
) -> EscrowStatement:
    """Project the computation year; return the cushion, low point, shortage or surplus and new deposit.

    `next_unpaid_due` is the due date of the oldest installment not yet paid: installments of the
    computation year before it have already put their deposit into `balance`.
    """
    policy.check()
    balance, current_deposit = to_money(balance, currency), to_money(current_deposit, currency)
    year = computation_year(schedule_anchor, on)
    before, by_month = _bills_by_month(bills, year, currency)
    annual = _total([d for month in by_month for d in month], currency)
    base = to_money(annual / 12, currency)
    opening = balance - _total(before, currency)
    months = _project(year, by_month, opening, base, next_unpaid_due or year[0], currency)
    low = min(months, key=lambda m: m.balance)  # min keeps the first of equal months
    cushion = to_money(annual * policy.cushion_months / 12, currency)
    deficiency = to_money(max(ZERO, -balance), currency)
    shortage = to_money(max(ZERO, cushion - low.balance - deficiency), currency)
    surplus = to_money(max(ZERO, low.balance - cushion), currency)
    collected = to_money(
        _collected_now(shortage, current_deposit, policy) + _collected_now(deficiency, current_deposit, policy),
        currency,
    )
    spread = to_money((shortage + deficiency - collected) / policy.spread_months, currency)
    refund = to_money(_refund(surplus, balance, is_current, policy), currency)
    return EscrowStatement(
        currency=currency,
        analyzed_on=on,
        is_current=is_current,
        starting_balance=balance,
        bills_before_year=before,
        opening_balance=opening,
        months=months,
        annual_disbursements=annual,
        cushion=cushion,
        lowest_balance=low.balance,
        lowest_month=low.starts_on,
        shortage=shortage,
        deficiency=deficiency,
        surplus=surplus,
        current_deposit=current_deposit,
        base_deposit=base,
        spread_months=policy.spread_months,
        recovery_deposit=spread,
        new_deposit=base + spread,
        collect_amount=collected,
        collect_due_on=on + COLLECT_WITHIN if collected else None,
        refund=refund,
        refund_due_on=on + REFUND_WITHIN if refund else None,
        kept_surplus=surplus - refund,
    )


def _total(disbursements: Sequence[ProjectedDisbursement], currency: str) -> Decimal:
    return to_money(sum((d.amount for d in disbursements), ZERO), currency)


def _bills_by_month(
    bills: Sequence[EscrowBill], year: list[date], currency: str
) -> tuple[tuple[ProjectedDisbursement, ...], list[list[ProjectedDisbursement]]]:
    """Place each bill due before the year ends: before the first installment, or in its month."""
    before: list[ProjectedDisbursement] = []
    by_month: list[list[ProjectedDisbursement]] = [[] for _ in range(12)]
    for bill in bills:
        for due in bill.due_dates_before(year[12]):
            paid = ProjectedDisbursement(bill.kind, bill.payee, due, to_money(bill.amount, currency))
            if due < year[0]:
                before.append(paid)
            else:
                by_month[sum(1 for start in year[1:12] if start <= due)].append(paid)
    for month in by_month:
        month.sort(key=lambda d: d.due_date)
    return tuple(sorted(before, key=lambda d: d.due_date)), by_month


def _project(
    year: list[date],
    by_month: list[list[ProjectedDisbursement]],
    opening: Decimal,
    base: Decimal,
    paid_from: date,
    currency: str,
) -> tuple[ProjectedMonth, ...]:
    """Run the balance month by month: each unpaid installment deposits `base`, the month's bills go out."""
    months: list[ProjectedMonth] = []
    running = opening
    for number, (starts_on, bills) in enumerate(zip(year[:12], by_month, strict=True), start=1):
        deposit = base if starts_on >= paid_from else to_money(ZERO, currency)
        disbursed = _total(bills, currency)
        running += deposit - disbursed
        months.append(ProjectedMonth(number, starts_on, deposit, tuple(bills), disbursed, running))
    return tuple(months)


def _collected_now(amount: Decimal, current_deposit: Decimal, policy: AnalysisPolicy) -> Decimal:
    """Return what is collected within 30 days: all, if the policy asks and it is under a month's deposit."""
    if policy.collect_small_shortage and ZERO < amount < current_deposit:
        return amount
    return ZERO


def _refund(surplus: Decimal, balance: Decimal, is_current: bool, policy: AnalysisPolicy) -> Decimal:
    """Return the surplus refunded: all of it when at least the threshold and the loan is current."""
    if not is_current or surplus <= 0 or surplus < policy.refund_threshold:
        return ZERO
    return min(surplus, max(balance, ZERO))  # never refund money the account does not hold
