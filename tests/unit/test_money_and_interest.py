"""Money rounding, day counts, interest between dates and the level payment, with hand-checked figures."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from servicing.errors import InvalidInput
from servicing.rules.interest import (
    Compounding,
    InterestMethod,
    days_30_360,
    interest_between,
    level_payment,
    per_diem,
    periodic_rate,
)
from servicing.rules.money import currency_places, parse_amount, parse_rate, to_money


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("2.345", "USD", "2.35"),  # half-up, not banker's rounding (which gives 2.34)
        ("2.344", "USD", "2.34"),
        ("1234.5", "IDR", "1235"),  # Babel: IDR has no minor unit
        ("99.5", "JPY", "100"),
        ("1.2345", "BHD", "1.235"),  # three decimals
        ("0.005", "EUR", "0.01"),
    ],
)
def test_amounts_round_half_up_to_the_currencys_minor_unit(amount: str, currency: str, expected: str) -> None:
    assert str(to_money(D(amount), currency)) == expected


def test_currency_precision_comes_from_babel() -> None:
    assert [currency_places(c) for c in ("USD", "INR", "BRL", "IDR", "JPY", "BHD")] == [2, 2, 2, 0, 0, 3]


@pytest.mark.parametrize("text", ["1e5", "NaN", "inf", "1,000.00", "", "  ", "$5", "5.", ".5", "0x10"])
def test_anything_but_a_plain_decimal_is_not_an_amount(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_amount(text)


def test_a_rate_written_as_a_percentage_is_refused() -> None:
    assert parse_rate("0.065") == D("0.065")
    with pytest.raises(InvalidInput, match="percentage"):
        parse_rate("6.5")


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        (date(2026, 1, 15), date(2026, 7, 15), 180),  # six months of 30 days
        (
            date(2026, 1, 31),
            date(2026, 2, 28),
            30,
        ),  # day 31 -> 30; last of February -> 30: (2-1)*30 + (30-30)
        (date(2026, 2, 28), date(2026, 3, 31), 30),  # 30 -> 30 across March 31
        (date(2024, 2, 29), date(2024, 3, 1), 1),  # leap-year end of February is day 30: 30 + (1 - 30)
        (date(2024, 2, 28), date(2024, 3, 1), 3),  # Feb 28 2024 is not the last day: 30 + (1 - 28)
        (date(2025, 12, 31), date(2026, 1, 31), 30),  # 360 - 330 + (30 - 30)
    ],
)
def test_30_360_counts_every_month_as_30_days(start: date, end: date, days: int) -> None:
    assert days_30_360(start, end) == days


def test_daily_interest_is_computed_in_one_step_and_rounded_once() -> None:
    # 100,000 x 0.05 x 59 days / 365 = 808.2191... -> 808.22
    one_step = interest_between(
        D(100000), D("0.05"), date(2026, 1, 1), date(2026, 3, 1), InterestMethod.DAILY_ACTUAL_365
    )
    assert to_money(one_step, "USD") == D("808.22")
    # a rounded per diem times days would give 13.70 x 59 = 808.30: not what the spec asks
    daily = per_diem(D(100000), D("0.05"), InterestMethod.DAILY_ACTUAL_365, Compounding.MONTHLY, "USD")
    assert daily * 59 == D("808.30")


def test_actual_365_counts_the_leap_day_and_still_divides_by_365() -> None:
    # 366 days in 2024: 100,000 x 0.05 x 366 / 365 = 5013.6986 -> 5013.70
    interest = interest_between(
        D(100000), D("0.05"), date(2024, 1, 1), date(2025, 1, 1), InterestMethod.DAILY_ACTUAL_365
    )
    assert to_money(interest, "USD") == D("5013.70")


def test_30_360_interest_for_twenty_days() -> None:
    # 199,800.90 x 0.06 x 20 / 360 = 666.003 -> 666.00
    interest = interest_between(
        D("199800.90"), D("0.06"), date(2026, 1, 31), date(2026, 2, 20), InterestMethod.SCHEDULED_30_360
    )
    assert to_money(interest, "USD") == D("666.00")


@pytest.mark.parametrize(
    ("principal", "rate", "months", "expected"),
    [
        ("200000", "0.06", 360, "1199.10"),  # 200000 x 0.005 / (1 - 1.005^-360) = 1199.1010...
        ("100000", "0.05", 60, "1887.12"),  # 100000 x 0.0041667 / (1 - 1.0041667^-60) = 1887.1234...
        ("12000", "0", 12, "1000.00"),  # no interest: principal / months
        (
            "50000000",
            "0.12",
            24,
            "2353674",
        ),  # IDR, whole rupiah: 50,000,000 x 0.01 / (1 - 1.01^-24) = 2353673.6...
    ],
)
def test_level_payment_is_the_annuity_rounded_half_up(principal: str, rate: str, months: int, expected: str) -> None:
    currency = "IDR" if principal == "50000000" else "USD"
    assert str(level_payment(D(principal), D(rate), months, currency)) == expected


def test_canadian_mortgages_compound_semi_annually() -> None:
    # periodic rate = (1 + 0.05/2) ** (1/6) - 1 = 0.0041239154...
    rate = periodic_rate(D("0.05"), Compounding.SEMIANNUAL)
    assert D("0.00412391") < rate < D("0.00412392")
    # 300,000 over 300 months at that rate: 300000 x r / (1 - (1+r)^-300) = 1744.81...
    assert level_payment(D(300000), D("0.05"), 300, "CAD", Compounding.SEMIANNUAL) == D("1744.81")
    # monthly compounding would charge more: 300000 x 0.0041667 / (1 - 1.0041667^-300) = 1753.77
    assert level_payment(D(300000), D("0.05"), 300, "CAD") == D("1753.77")


def test_semiannual_interest_between_dates_uses_the_periodic_rate_per_30_days() -> None:
    # 300,000 x 0.0041239154 x 15 / 30 = 618.587... -> 618.59
    interest = interest_between(
        D(300000),
        D("0.05"),
        date(2026, 1, 31),
        date(2026, 2, 15),
        InterestMethod.SCHEDULED_30_360,
        Compounding.SEMIANNUAL,
    )
    assert to_money(interest, "CAD") == D("618.59")
