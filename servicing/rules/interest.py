"""Interest: day counts, periodic rates, interest between dates and the level payment."""

from __future__ import annotations

import calendar as _calendar
from datetime import date
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache

from servicing.rules.money import ZERO, precise_power, to_money


class InterestMethod(StrEnum):
    """How a product charges interest."""

    SCHEDULED_30_360 = "30/360"
    DAILY_ACTUAL_365 = "actual/365"


class Compounding(StrEnum):
    """How often a nominal annual rate compounds (Canada's Interest Act: semi-annually)."""

    MONTHLY = "monthly"
    SEMIANNUAL = "semiannual"


def _day_30(day: date) -> int:
    last_of_february = day.month == 2 and day.day == _calendar.monthrange(day.year, 2)[1]
    return 30 if day.day == 31 or last_of_february else day.day


def days_30_360(start: date, end: date) -> int:
    """Count days from `start` to `end` with every month 30 days (day 31 and end of February are 30)."""
    return (end.year - start.year) * 360 + (end.month - start.month) * 30 + (_day_30(end) - _day_30(start))


def days_actual(start: date, end: date) -> int:
    """Count calendar days from `start` to `end`."""
    return (end - start).days


@lru_cache(maxsize=4096)
def periodic_rate(annual_rate: Decimal, compounding: Compounding) -> Decimal:
    """Return the monthly rate: rate/12, or (1 + rate/2) ** (1/6) - 1 when compounded semi-annually."""
    if compounding is Compounding.SEMIANNUAL:
        return precise_power(1 + annual_rate / 2, Decimal(1) / Decimal(6)) - 1
    return annual_rate / 12


def interest_between(
    balance: Decimal,
    annual_rate: Decimal,
    start: date,
    end: date,
    method: InterestMethod,
    compounding: Compounding = Compounding.MONTHLY,
) -> Decimal:
    """Return unrounded interest on `balance` for the days after `start` through `end`."""
    if end <= start or balance <= 0:
        return ZERO
    if method is InterestMethod.DAILY_ACTUAL_365:
        return balance * annual_rate * days_actual(start, end) / 365
    if compounding is Compounding.SEMIANNUAL:
        return balance * periodic_rate(annual_rate, compounding) * days_30_360(start, end) / 30
    return balance * annual_rate * days_30_360(start, end) / 360


def per_diem(
    balance: Decimal,
    annual_rate: Decimal,
    method: InterestMethod,
    compounding: Compounding,
    currency: str,
) -> Decimal:
    """Return one day's interest on `balance`, rounded to the currency's minor units."""
    if method is InterestMethod.DAILY_ACTUAL_365:
        daily = balance * annual_rate / 365
    elif compounding is Compounding.SEMIANNUAL:
        daily = balance * periodic_rate(annual_rate, compounding) / 30
    else:
        daily = balance * annual_rate / 360
    return to_money(daily, currency)


def level_payment(
    principal: Decimal,
    annual_rate: Decimal,
    term_months: int,
    currency: str,
    compounding: Compounding = Compounding.MONTHLY,
) -> Decimal:
    """Return the level monthly principal-and-interest payment P*r / (1 - (1+r)**-n), rounded."""
    rate = periodic_rate(annual_rate, compounding)
    if rate == 0:
        return to_money(principal / term_months, currency)
    discount = 1 - precise_power(1 + rate, Decimal(-term_months))
    return to_money(principal * rate / discount, currency)
