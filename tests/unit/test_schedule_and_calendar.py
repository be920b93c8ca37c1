"""The amortization schedule (checked against numpy-financial as an oracle), buckets and business days."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import numpy_financial as npf
import pytest

from servicing.cases import OPENING_CLOCKS, CaseKind, due_date
from servicing.rules.calendar import add_business_days, is_business_day
from servicing.rules.delinquency import bucket
from servicing.rules.interest import Compounding, InterestMethod, level_payment
from servicing.rules.schedule import amortization_schedule


@pytest.mark.parametrize(
    ("principal", "rate", "months"),
    [("200000", "0.06", 360), ("350000", "0.0475", 180), ("25000", "0.089", 60), ("1000", "0.2", 12)],
)
def test_payment_and_each_line_agree_with_numpy_financial(principal: str, rate: str, months: int) -> None:
    p, r = D(principal), D(rate)
    payment = level_payment(p, r, months, "USD")
    # numpy-financial works in floats: an oracle for the figures, never used for money in the product
    oracle = -npf.pmt(float(r) / 12, months, float(p))
    assert abs(payment - D(str(round(oracle, 2)))) <= D("0.01")
    lines = amortization_schedule(
        p, r, months, payment, date(2026, 2, 1), date(2026, 1, 31),
        InterestMethod.SCHEDULED_30_360, Compounding.MONTHLY, "USD",
    )  # fmt: skip
    assert len(lines) == months
    for line in lines[:-1]:
        oracle_interest = -npf.ipmt(float(r) / 12, line.number, months, float(p))
        # rounding each line to cents drifts the balance by at most a few cents over 30 years
        assert abs(float(line.interest) - oracle_interest) < 0.5
        assert line.payment == payment
    assert lines[-1].balance_after == 0
    assert sum(line.principal for line in lines) == p  # the last installment absorbs the rounding


def test_a_daily_simple_interest_schedule_ends_at_zero_with_a_final_installment_that_absorbs_the_days() -> None:
    p, r = D("10000.00"), D("0.12")
    payment = level_payment(p, r, 36, "USD")
    lines = amortization_schedule(
        p, r, 36, payment, date(2026, 2, 15), date(2026, 1, 15),
        InterestMethod.DAILY_ACTUAL_365, Compounding.MONTHLY, "USD",
    )  # fmt: skip
    # first period 31 actual days: 10,000 x 0.12 x 31 / 365 = 101.92
    assert lines[0].interest == D("101.92")
    assert lines[-1].balance_after == 0
    assert sum(line.principal for line in lines) == p


@pytest.mark.parametrize(
    ("days", "name"),
    [(0, "current"), (1, "1-29"), (29, "1-29"), (30, "30-59"), (59, "30-59"), (60, "60-89"),
     (89, "60-89"), (90, "90-119"), (119, "90-119"), (120, "120+"), (400, "120+")],
)  # fmt: skip
def test_days_past_due_fall_into_the_regulators_buckets(days: int, name: str) -> None:
    assert bucket(days) == name


def test_business_days_skip_weekends_and_each_countrys_holidays() -> None:
    assert not is_business_day(date(2026, 11, 26), "US")  # Thanksgiving
    assert is_business_day(date(2026, 11, 26), "CA")  # not a holiday in Canada
    assert not is_business_day(date(2026, 12, 28), "GB")  # Boxing Day substitute (26th is a Saturday)
    assert not is_business_day(date(2026, 11, 28), "US")  # a Saturday
    # Wednesday 2026-11-25 + 2 business days: Thu 26 is Thanksgiving, Fri 27 (1), Mon 30 (2)
    assert add_business_days(date(2026, 11, 25), 2, "US") == date(2026, 11, 30)


def test_a_us_holiday_on_a_saturday_gives_no_observed_friday_off() -> None:
    # 5 U.S.C. 6103(a) names July 4; in 2026 it is a Saturday. Friday July 3 is the federal "observed"
    # day off, but the statute does not name it: it is a business day for Reg X clocks.
    assert is_business_day(date(2026, 7, 3), "US")
    assert not is_business_day(date(2026, 7, 4), "US")  # a Saturday, and the holiday itself
    # Thu 2026-07-02 + 1 business day = Fri July 3; + 2 = Mon July 6
    assert add_business_days(date(2026, 7, 2), 1, "US") == date(2026, 7, 3)
    assert add_business_days(date(2026, 7, 2), 2, "US") == date(2026, 7, 6)
    # a holiday that falls on a weekday is still skipped: Fri 2026-12-25
    assert not is_business_day(date(2026, 12, 25), "US")


def test_a_uk_bank_holiday_substitute_is_a_holiday_in_its_own_right() -> None:
    # 2026-12-26 (Boxing Day) is a Saturday: Monday 28 December is the substitute bank holiday
    # (Banking and Financial Dealings Act 1971), so it is no business day.
    assert not is_business_day(date(2026, 12, 28), "GB")


def test_a_payoff_request_opened_before_christmas_is_due_seven_business_days_later() -> None:
    # Tue 2026-12-22: 23 (1), 24 (2), 25 Christmas, 28 (3), 29 (4), 30 (5), 31 (6), Jan 1 holiday, Jan 4 (7)
    [clock] = OPENING_CLOCKS[CaseKind.PAYOFF_REQUEST]
    assert due_date(date(2026, 12, 22), clock, "US") == date(2027, 1, 4)


def test_a_notice_of_error_is_acknowledged_in_five_and_resolved_in_thirty_business_days() -> None:
    acknowledge, resolve = OPENING_CLOCKS[CaseKind.NOTICE_OF_ERROR]
    # Mon 2026-03-02 + 5 business days = Mon 2026-03-09; + 30 business days (no US federal holiday
    # between: Good Friday is not one) = Mon 2026-04-13
    assert due_date(date(2026, 3, 2), acknowledge, "US") == date(2026, 3, 9)
    assert due_date(date(2026, 3, 2), resolve, "US") == date(2026, 4, 13)
