"""The escrow analysis, pure: the bills an escrow account pays and the annual analysis (Reg X 1024.17).

The analysis projects the computation year (the twelve installments due on or after the analysis
date) month by month with the base deposit (one twelfth of the year's disbursements), finds the
lowest month-end balance, and compares it with the cushion: below it is a shortage, above it a
surplus; a negative balance today is a deficiency. Escrow money the borrower owes but has not paid
yet (the deposits of past-due installments, a shortage billed) counts as expected, so that the
analysis does not overstate the shortage. See docs/decisions-escrow.md for the choices where Reg X
leaves room.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum
from typing import Any

from dateutil.relativedelta import relativedelta

from servicing.errors import InvalidInput
from servicing.rules.account import Product
from servicing.rules.money import ZERO, minor_unit, to_money
from servicing.rules.schedule import due_date_of

FREQUENCIES = (1, 2, 3, 4, 6, 12)  # months between bills; each divides a year, so every year costs the same
MAX_CUSHION_MONTHS = 2  # Reg X 1024.17(c)(1)(ii): at most one sixth of the annual disbursements
MIN_SPREAD_MONTHS = 12  # Reg X 1024.17(f)(3): a shortage is spread over at least 12 months
CURRENT_WITHIN_DAYS = 30  # Reg X 1024.17(b): current = payments received within 30 days of the due date
REFUND_WITHIN = timedelta(days=30)  # Reg X 1024.17(f)(2)(i)
COLLECT_WITHIN = timedelta(days=30)  # Reg X 1024.17(f)(3)(i)(B), (f)(4)(i)(B)
YEAR_MONTHS = 12
ESCROWED_PRODUCTS = (Product.MORTGAGE, Product.BUSINESS)


class EscrowKind(StrEnum):
    """What an escrow bill is for."""

    PROPERTY_TAX = "property_tax"
    HAZARD_INSURANCE = "hazard_insurance"
    FLOOD_INSURANCE = "flood_insurance"
    MORTGAGE_INSURANCE = "mortgage_insurance"


class SmallSurplus(StrEnum):
    """What a portfolio does with a surplus under the refund threshold (Reg X 1024.17(f)(2)(i))."""

    REFUND = "refund"  # refunded within 30 days, like a larger one
    CREDIT = "credit"  # credited against next year's deposits: each is lowered by a twelfth


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
    collect_small_shortage: bool = False  # a shortage or deficiency under a month's deposit: billed within 30 days
    refund_threshold: Decimal = Decimal(50)
    small_surplus: SmallSurplus = SmallSurplus.CREDIT

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
        if not isinstance(self.small_surplus, SmallSurplus):
            raise InvalidInput(f"small surplus: {self.small_surplus!r} is not one of refund, credit")


DEFAULT_POLICY = AnalysisPolicy()


@dataclass(frozen=True)
class EscrowStatement:
    """The annual escrow account statement; every amount in `currency`."""

    currency: str
    analyzed_on: date
    is_current: bool
    starting_balance: Decimal
    past_due_deposits: Decimal
    billed_unpaid: Decimal
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
    monthly_credit: Decimal
    credited_surplus: Decimal
    kept_surplus: Decimal
    next_analysis_on: date

    @property
    def computation_year_starts(self) -> date:
        """Return the due date of the first installment the new deposit is figured for (and charged from)."""
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
            "next_analysis_on": self.next_analysis_on.isoformat(),
        }
        for name in (
            "starting_balance", "past_due_deposits", "billed_unpaid", "opening_balance", "annual_disbursements",
            "cushion", "lowest_balance", "shortage", "deficiency", "surplus", "current_deposit", "base_deposit",
            "recovery_deposit", "new_deposit", "collect_amount", "refund", "monthly_credit", "credited_surplus",
            "kept_surplus",
        ):  # fmt: skip
            figures[name] = str(getattr(self, name))
        return figures

    def projection(self) -> dict[str, Any]:
        """Return the projected computation year as JSON-ready data: bills before it, then month by month."""
        return {
            "bills_before_year": [_disbursement_data(d) for d in self.bills_before_year],
            "months": [
                {
                    "month": m.month,
                    "starts_on": m.starts_on.isoformat(),
                    "deposit": str(m.deposit),
                    "disbursements": [_disbursement_data(d) for d in m.disbursements],
                    "disbursed": str(m.disbursed),
                    "balance": str(m.balance),
                }
                for m in self.months
            ],
        }


def _disbursement_data(paid: ProjectedDisbursement) -> dict[str, str]:
    return {"kind": paid.kind.value, "payee": paid.payee, "due_date": paid.due_date.isoformat(),
            "amount": str(paid.amount)}  # fmt: skip


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def computation_year(schedule_anchor: date, on: date) -> list[date]:
    """Return the due dates of the twelve installments from the first due on or after `on`, and the 13th."""
    number = 1
    while due_date_of(schedule_anchor, number) < on:
        number += 1
    return [due_date_of(schedule_anchor, number + month) for month in range(13)]


def next_analysis_date(schedule_anchor: date, on_or_after: date) -> date:
    """Return the first annual analysis day on or after a date: the day after a computation year's last due date.

    Computation years run twelve installments from the schedule's first due date; the analysis runs the
    day after the twelfth falls due, so the new deposit starts with the next year's first installment.
    """
    years = 1
    while (day := due_date_of(schedule_anchor, YEAR_MONTHS * years) + timedelta(days=1)) < on_or_after:
        years += 1
    return day


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
    past_due_deposits: Decimal = ZERO,
    billed_unpaid: Decimal = ZERO,
    policy: AnalysisPolicy = DEFAULT_POLICY,
) -> EscrowStatement:
    """Project the computation year; return the cushion, low point, shortage or surplus and new deposit.

    `next_unpaid_due` is the due date of the oldest installment not yet paid: installments of the
    computation year before it have already put their deposit into `balance`. `past_due_deposits`
    (the escrow deposits of installments past due on `on`) and `billed_unpaid` (a shortage billed and
    not yet paid) are owed to the account: they count as if received, so they are not billed again.
    """
    policy.check()
    balance, current_deposit = to_money(balance, currency), to_money(current_deposit, currency)
    past_due_deposits, billed_unpaid = _owed(past_due_deposits, currency), _owed(billed_unpaid, currency)
    expected_balance = balance + past_due_deposits + billed_unpaid
    year = computation_year(schedule_anchor, on)
    before, by_month = _bills_by_month(bills, year, currency)
    annual = _total([d for month in by_month for d in month], currency)
    base = to_money(annual / YEAR_MONTHS, currency)
    opening = expected_balance - _total(before, currency)
    months = _project(year, by_month, opening, base, next_unpaid_due or year[0], currency)
    low = min(months, key=lambda m: m.balance)  # min keeps the first of equal months
    cushion = to_money(annual * policy.cushion_months / YEAR_MONTHS, currency)
    deficiency = to_money(max(ZERO, -expected_balance), currency)
    shortage = to_money(max(ZERO, cushion - low.balance - deficiency), currency)
    surplus = to_money(max(ZERO, low.balance - cushion), currency)
    collected = to_money(
        _collected_now(shortage, current_deposit, policy) + _collected_now(deficiency, current_deposit, policy),
        currency,
    )
    spread = to_money((shortage + deficiency - collected) / policy.spread_months, currency)
    refund = to_money(_refund(surplus, balance, is_current, policy), currency)
    credit = _monthly_credit(surplus - refund, base, is_current, policy, currency)
    return EscrowStatement(
        currency=currency,
        analyzed_on=on,
        is_current=is_current,
        starting_balance=balance,
        past_due_deposits=past_due_deposits,
        billed_unpaid=billed_unpaid,
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
        new_deposit=base + spread - credit,
        collect_amount=collected,
        collect_due_on=on + COLLECT_WITHIN if collected else None,
        refund=refund,
        refund_due_on=on + REFUND_WITHIN if refund else None,
        monthly_credit=credit,
        credited_surplus=credit * YEAR_MONTHS,
        kept_surplus=surplus - refund - credit * YEAR_MONTHS,
        next_analysis_on=year[YEAR_MONTHS - 1] + timedelta(days=1),
    )


def _owed(amount: Decimal, currency: str) -> Decimal:
    """Return escrow money owed to the account, refusing a negative amount."""
    if not isinstance(amount, Decimal) or amount < 0:
        raise InvalidInput(f"escrow owed to the account must be a non-negative Decimal, not {amount!r}")
    return to_money(amount, currency)


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
    """Return the surplus refunded to a current borrower: all of it from the threshold up, a smaller one by policy."""
    if not is_current or surplus <= 0:
        return ZERO  # Reg X 1024.17(f)(2)(ii): the servicer may keep a delinquent borrower's surplus
    if surplus < policy.refund_threshold and policy.small_surplus is not SmallSurplus.REFUND:
        return ZERO
    return min(surplus, max(balance, ZERO))  # never refund money the account does not hold


def _monthly_credit(left: Decimal, base: Decimal, is_current: bool, policy: AnalysisPolicy, currency: str) -> Decimal:
    """Return how much lower each of next year's deposits is to credit a small surplus (rounded down)."""
    small = ZERO < left < policy.refund_threshold
    if not is_current or not small or policy.small_surplus is not SmallSurplus.CREDIT:
        return to_money(ZERO, currency)
    twelfth = (left / YEAR_MONTHS).quantize(minor_unit(currency), rounding=ROUND_DOWN)
    return min(twelfth, base)  # a deposit is never below zero


# -- last year's activity, for the annual statement -----------------------------------------------------


@dataclass(frozen=True)
class EscrowMovement:
    """A ledger line that moved the escrow balance: its day, whether it paid money out, and the change."""

    day: date
    paid_out: bool  # a bill paid or a refund (an escrow disbursement), else money in (or a reversal of it)
    change: Decimal


@dataclass(frozen=True)
class ActivityMonth:
    """One calendar month of escrow activity: money in, money paid out, the balance at its end."""

    month: str  # YYYY-MM
    deposits: Decimal
    disbursements: Decimal
    balance: Decimal


@dataclass(frozen=True)
class EscrowActivity:
    """What actually went through an escrow account over a period, month by month, in its currency."""

    starts_on: date
    ends_on: date
    opening_balance: Decimal
    months: tuple[ActivityMonth, ...]
    deposits: Decimal
    disbursements: Decimal
    closing_balance: Decimal

    def to_data(self) -> dict[str, Any]:
        """Return the activity as JSON-ready data (money as strings)."""
        return {
            "starts_on": self.starts_on.isoformat(),
            "ends_on": self.ends_on.isoformat(),
            "opening_balance": str(self.opening_balance),
            "deposits": str(self.deposits),
            "disbursements": str(self.disbursements),
            "closing_balance": str(self.closing_balance),
            "months": [_activity_month_data(m) for m in self.months],
        }


def _activity_month_data(month: ActivityMonth) -> dict[str, str]:
    return {"month": month.month, "deposits": str(month.deposits), "disbursements": str(month.disbursements),
            "balance": str(month.balance)}  # fmt: skip


def escrow_activity(
    movements: Sequence[EscrowMovement], *, starts_on: date, ends_on: date, balance_now: Decimal, currency: str
) -> EscrowActivity:
    """Group the escrow movements from `starts_on` on by calendar month up to `ends_on`.

    `balance_now` is the balance after every movement given, so the opening balance is worked back from it.
    """
    zero = to_money(ZERO, currency)
    opening = to_money(balance_now - sum((m.change for m in movements), ZERO), currency)
    sums: dict[tuple[int, int], list[Decimal]] = {}  # (year, month): [money in, money paid out]
    for moved in movements:
        if starts_on <= moved.day <= ends_on:
            month_sums = sums.setdefault((moved.day.year, moved.day.month), [ZERO, ZERO])
            if moved.paid_out:
                month_sums[1] -= moved.change
            else:
                month_sums[0] += moved.change
    months: list[ActivityMonth] = []
    running = opening
    year, month = starts_on.year, starts_on.month
    while (year, month) <= (ends_on.year, ends_on.month):
        money_in, paid_out = (to_money(amount, currency) for amount in sums.get((year, month), (zero, zero)))
        running += money_in - paid_out
        months.append(ActivityMonth(f"{year:04d}-{month:02d}", money_in, paid_out, running))
        year, month = (year + 1, 1) if month == YEAR_MONTHS else (year, month + 1)
    return EscrowActivity(
        starts_on=starts_on,
        ends_on=ends_on,
        opening_balance=opening,
        months=tuple(months),
        deposits=sum((m.deposits for m in months), zero),
        disbursements=sum((m.disbursements for m in months), zero),
        closing_balance=running,
    )
