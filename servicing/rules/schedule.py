"""The amortization schedule: what each installment pays if every payment arrives on its due date."""

from __future__ import annotations

from calendar import monthrange
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache

from servicing.rules.interest import Compounding, InterestMethod, interest_between, periodic_rate
from servicing.rules.money import ZERO, to_money


@dataclass(frozen=True)
class ScheduledInstallment:
    """One line of an amortization schedule, amounts in the loan's currency."""

    number: int
    due_date: date
    payment: Decimal
    principal: Decimal
    interest: Decimal
    balance_after: Decimal


def add_months(day: date, months: int) -> date:
    """Return `day` moved by whole months, clipped to the month's last day (as `relativedelta(months=n)`)."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    return day.replace(year=year, month=month + 1, day=min(day.day, monthrange(year, month + 1)[1]))


@lru_cache(maxsize=65536)
def due_date_of(anchor: date, number: int) -> date:
    """Return the due date of installment `number` (1-based) of a schedule starting at `anchor`."""
    return add_months(anchor, number - 1)


def due_dates_between(anchor: date, start: date, end: date) -> list[date]:
    """Return the schedule's due dates from `start` up to and including `end`."""
    months = max(0, (start.year - anchor.year) * 12 + start.month - anchor.month)
    dates, number = [], months + 1
    while (due := due_date_of(anchor, number)) <= end:
        if due >= start:
            dates.append(due)
        number += 1
    return dates


def installment_interest(
    balance: Decimal,
    annual_rate: Decimal,
    method: InterestMethod,
    compounding: Compounding,
    period_start: date,
    due_date: date,
    currency: str,
) -> Decimal:
    """Return the interest one installment pays: a month of 30/360, or the actual days since `period_start`."""
    if method is InterestMethod.SCHEDULED_30_360:
        return to_money(balance * periodic_rate(annual_rate, compounding), currency)
    return to_money(
        interest_between(balance, annual_rate, period_start, due_date, method, compounding),
        currency,
    )


def split_installment(balance: Decimal, payment: Decimal, interest: Decimal, is_last: bool) -> tuple[Decimal, Decimal]:
    """Return (payment, principal) of an installment.

    The last installment, or any that would overpay, clears the balance; an installment never pays
    less than its interest (a level payment can round below the interest of a tiny loan or a long
    first period), so the schedule never amortizes negatively.
    """
    principal = payment - interest
    if is_last or principal >= balance:
        return balance + interest, balance
    if principal < 0:
        return interest, ZERO
    return payment, principal


def amortization_schedule(
    principal: Decimal,
    annual_rate: Decimal,
    term_months: int,
    payment: Decimal,
    first_due: date,
    interest_from: date,
    method: InterestMethod,
    compounding: Compounding,
    currency: str,
    first_number: int = 1,
) -> list[ScheduledInstallment]:
    """Project the installments from `first_number` to the end of the term."""
    lines: list[ScheduledInstallment] = []
    balance = principal
    period_start = interest_from
    for number in range(first_number, term_months + 1):
        if balance <= 0:
            break
        due = due_date_of(first_due, number)
        interest = installment_interest(balance, annual_rate, method, compounding, period_start, due, currency)
        amount, paid_principal = split_installment(balance, payment, interest, number == term_months)
        balance -= paid_principal
        lines.append(ScheduledInstallment(number, due, amount, paid_principal, interest, balance))
        period_start = due
    return lines
