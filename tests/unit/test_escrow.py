"""The annual escrow analysis (Reg X 1024.17), figures checked by hand.

The standard account below: property tax 2,400.00 due 10 March and hazard insurance 1,200.00 due
20 July, installments due on the 1st, analysis on 15 January 2026. The computation year is the
twelve installments from 1 February 2026 to 1 January 2027.
  annual disbursements 2,400 + 1,200 = 3,600.00; base deposit 3,600 / 12 = 300.00
  cushion 3,600 / 6 = 600.00
  month-end balance from an opening balance B, 300 deposited each month:
    Feb B+300  Mar B+600-2400 = B-1800  Apr B-1500  May B-1200  Jun B-900
    Jul B-600-1200 = B-1800  Aug B-1500 ... Jan 2027 B+0
  the low point is B-1800, first reached in March; the account is balanced when B-1800 = 600,
  that is B = 2,400.00.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from servicing.errors import InvalidInput
from servicing.rules.escrow import (
    FREQUENCIES,
    AnalysisPolicy,
    EscrowBill,
    EscrowKind,
    EscrowStatement,
    analyze_escrow,
    computation_year,
    is_current_for_escrow,
)

TAX = EscrowBill(EscrowKind.PROPERTY_TAX, "Kings County Treasurer", Decimal("2400.00"), date(2026, 3, 10))
INSURANCE = EscrowBill(EscrowKind.HAZARD_INSURANCE, "Acme Mutual", Decimal("1200.00"), date(2026, 7, 20))
ON = date(2026, 1, 15)
ANCHOR = date(2025, 2, 1)  # installments due on the 1st of each month
NOTHING = Decimal("0.00")


def analyze(
    balance: str,
    *,
    bills: tuple[EscrowBill, ...] = (TAX, INSURANCE),
    on: date = ON,
    current_deposit: str = "300.00",
    is_current: bool = True,
    next_unpaid_due: date | None = None,
    currency: str = "USD",
    policy: AnalysisPolicy | None = None,
) -> EscrowStatement:
    return analyze_escrow(
        bills,
        on=on,
        balance=Decimal(balance),
        current_deposit=Decimal(current_deposit),
        is_current=is_current,
        schedule_anchor=ANCHOR,
        currency=currency,
        next_unpaid_due=next_unpaid_due,
        policy=policy or AnalysisPolicy(),
    )


def test_a_balanced_account_projects_twelve_months_with_its_low_point_at_the_cushion() -> None:
    statement = analyze("2400.00")
    assert statement.computation_year_starts == date(2026, 2, 1)
    assert statement.annual_disbursements == Decimal("3600.00")
    assert statement.base_deposit == Decimal("300.00")  # 3,600 / 12
    assert [str(m.balance) for m in statement.months] == [
        "2700.00",  # Feb 2,400 + 300
        "600.00",  # Mar 2,700 + 300 - 2,400 (the tax)
        "900.00", "1200.00", "1500.00",  # Apr, May, Jun
        "600.00",  # Jul 1,500 + 300 - 1,200 (the insurance)
        "900.00", "1200.00", "1500.00", "1800.00", "2100.00",  # Aug to Dec
        "2400.00",  # Jan 2027: back where it started
    ]  # fmt: skip
    assert [m.disbursed for m in statement.months if m.disbursed] == [Decimal("2400.00"), Decimal("1200.00")]
    assert (statement.lowest_balance, statement.lowest_month) == (Decimal("600.00"), date(2026, 3, 1))
    assert (statement.shortage, statement.surplus, statement.deficiency) == (NOTHING, NOTHING, NOTHING)
    assert statement.new_deposit == Decimal("300.00")


def test_the_cushion_is_one_sixth_of_the_annual_disbursements_and_never_more() -> None:
    assert analyze("2400.00").cushion == Decimal("600.00")  # 3,600 / 6
    # a product may ask for less: one month is 3,600 / 12 = 300; the low point 600 is then 300 over
    smaller = analyze("2400.00", policy=AnalysisPolicy(cushion_months=1))
    assert (smaller.cushion, smaller.surplus) == (Decimal("300.00"), Decimal("300.00"))
    with pytest.raises(InvalidInput, match="at most 2"):
        analyze("2400.00", policy=AnalysisPolicy(cushion_months=3))


def test_a_shortage_below_one_months_deposit_is_spread_over_twelve_months_by_default() -> None:
    # low point 2,300 - 1,800 = 500; cushion 600: shortage 100, below the 300 deposit
    statement = analyze("2300.00")
    assert (statement.lowest_balance, statement.shortage) == (Decimal("500.00"), Decimal("100.00"))
    assert statement.recovery_deposit == Decimal("8.33")  # 100 / 12 = 8.333 -> 8.33
    assert statement.new_deposit == Decimal("308.33")  # 300 + 8.33
    assert (statement.collect_amount, statement.collect_due_on) == (NOTHING, None)


def test_a_shortage_below_one_months_deposit_may_be_collected_within_30_days_instead() -> None:
    statement = analyze("2300.00", policy=AnalysisPolicy(collect_small_shortage=True))
    assert statement.collect_amount == Decimal("100.00")
    assert statement.collect_due_on == date(2026, 2, 14)  # 15 January + 30 days
    assert statement.new_deposit == Decimal("300.00")  # nothing spread


def test_a_larger_shortage_is_spread_over_at_least_twelve_months() -> None:
    # low point 1,200 - 1,800 = -600; shortage 600 - (-600) = 1,200, four times the 300 deposit
    statement = analyze("1200.00", policy=AnalysisPolicy(collect_small_shortage=True))
    assert (statement.lowest_balance, statement.shortage) == (Decimal("-600.00"), Decimal("1200.00"))
    assert statement.collect_amount == 0  # too large to demand within 30 days
    assert statement.new_deposit == Decimal("400.00")  # 300 + 1,200 / 12
    over_two_years = analyze("1200.00", policy=AnalysisPolicy(spread_months=24))
    assert over_two_years.new_deposit == Decimal("350.00")  # 300 + 1,200 / 24


def test_a_shortage_is_never_spread_over_fewer_than_twelve_months() -> None:
    with pytest.raises(InvalidInput, match="at least 12 months"):
        analyze("1200.00", policy=AnalysisPolicy(spread_months=6))


def test_a_surplus_of_50_or_more_is_refunded_within_30_days_when_the_loan_is_current() -> None:
    # low point 2,500 - 1,800 = 700; cushion 600: surplus 100
    statement = analyze("2500.00")
    assert (statement.surplus, statement.refund) == (Decimal("100.00"), Decimal("100.00"))
    assert statement.refund_due_on == date(2026, 2, 14)  # 15 January + 30 days
    assert statement.kept_surplus == 0
    assert statement.new_deposit == Decimal("300.00")
    # exactly 50 (low point 2,450 - 1,800 = 650) is refunded too
    assert analyze("2450.00").refund == Decimal("50.00")


def test_a_surplus_stays_in_escrow_when_the_loan_is_not_current() -> None:
    statement = analyze("2500.00", is_current=False)
    assert statement.surplus == Decimal("100.00")
    assert (statement.refund, statement.refund_due_on) == (NOTHING, None)
    assert statement.kept_surplus == Decimal("100.00")


def test_a_surplus_below_50_stays_in_escrow() -> None:
    # low point 2,440 - 1,800 = 640; surplus 40
    statement = analyze("2440.00")
    assert (statement.surplus, statement.refund, statement.kept_surplus) == (
        Decimal("40.00"),
        NOTHING,
        Decimal("40.00"),
    )


def test_a_deficiency_is_recovered_over_twelve_months_with_the_shortage() -> None:
    # the servicer has advanced 200: low point -200 - 1,800 = -2,000; the gap to the 600 cushion
    # is 2,600: a deficiency of 200 and a shortage of 2,400
    statement = analyze("-200.00")
    assert statement.lowest_balance == Decimal("-2000.00")
    assert (statement.deficiency, statement.shortage) == (Decimal("200.00"), Decimal("2400.00"))
    assert statement.recovery_deposit == Decimal("216.67")  # 2,600 / 12 = 216.666 -> 216.67
    assert statement.new_deposit == Decimal("516.67")


def test_a_small_deficiency_may_be_collected_within_30_days() -> None:
    # balance -100 and no bills: base deposit 0, the 100 advance is under the 300 current deposit
    statement = analyze("-100.00", bills=(), policy=AnalysisPolicy(collect_small_shortage=True))
    assert (statement.deficiency, statement.shortage) == (Decimal("100.00"), NOTHING)
    assert (statement.collect_amount, statement.new_deposit) == (Decimal("100.00"), NOTHING)


def test_a_bill_due_before_the_first_installment_lowers_the_opening_balance() -> None:
    # analysis 5 March: the year runs from 1 April 2026 to 1 March 2027; the tax due 10 March 2026
    # is paid before it starts (opening 3,000 - 2,400 = 600) and again on 10 March 2027 (month 12)
    statement = analyze("3000.00", on=date(2026, 3, 5))
    assert statement.computation_year_starts == date(2026, 4, 1)
    assert [b.due_date for b in statement.bills_before_year] == [date(2026, 3, 10)]
    assert statement.opening_balance == Decimal("600.00")
    assert statement.annual_disbursements == Decimal("3600.00")
    # Apr 900 May 1,200 Jun 1,500 Jul 1,800 - 1,200 = 600 ... Feb 2,700  Mar 3,000 - 2,400 = 600
    assert (statement.lowest_balance, statement.lowest_month) == (Decimal("600.00"), date(2026, 7, 1))
    assert (statement.shortage, statement.surplus) == (NOTHING, NOTHING)


def test_an_installment_paid_ahead_adds_no_deposit_to_the_projection() -> None:
    # February is paid already (its deposit is in the 2,400), so February projects no deposit:
    # Feb 2,400, Mar 2,400 + 300 - 2,400 = 300, ... shortage 600 - 300 = 300
    statement = analyze("2400.00", next_unpaid_due=date(2026, 3, 1))
    assert statement.months[0].deposit == 0
    assert (statement.lowest_balance, statement.shortage) == (Decimal("300.00"), Decimal("300.00"))
    assert statement.new_deposit == Decimal("325.00")  # 300 + 300 / 12


def test_a_semiannual_bill_is_projected_twice_in_the_year() -> None:
    tax = EscrowBill(EscrowKind.PROPERTY_TAX, "City", Decimal("1200.00"), date(2026, 4, 15), 6)
    statement = analyze("0.00", bills=(tax,))
    assert [d.due_date for m in statement.months for d in m.disbursements] == [
        date(2026, 4, 15),
        date(2026, 10, 15),
    ]
    assert statement.annual_disbursements == Decimal("2400.00")
    assert statement.base_deposit == Decimal("200.00")


def test_amounts_are_rounded_half_up_to_the_currency_minor_unit() -> None:
    tax = EscrowBill(EscrowKind.PROPERTY_TAX, "Tokyo", Decimal("100000"), date(2026, 6, 1))
    statement = analyze("0", bills=(tax,), currency="JPY", current_deposit="0")
    assert statement.base_deposit == Decimal("8333")  # 100,000 / 12 = 8,333.33 -> 8,333 yen
    assert statement.cushion == Decimal("16667")  # 100,000 / 6 = 16,666.67 -> 16,667 yen
    assert all(isinstance(m.balance, Decimal) and m.balance == m.balance.to_integral() for m in statement.months)


def test_an_account_with_no_bills_left_refunds_its_balance_to_a_current_borrower() -> None:
    statement = analyze("180.00", bills=())
    assert (statement.cushion, statement.surplus, statement.refund) == (
        NOTHING,
        Decimal("180.00"),
        Decimal("180.00"),
    )
    assert statement.new_deposit == 0


def test_a_loan_is_current_for_escrow_while_payments_arrive_within_30_days() -> None:
    assert is_current_for_escrow(0)
    assert is_current_for_escrow(30)
    assert not is_current_for_escrow(31)


def test_the_computation_year_keeps_month_end_due_dates() -> None:
    year = computation_year(date(2026, 1, 31), date(2026, 2, 10))
    assert year[:3] == [date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)]
    assert year[12] == date(2027, 2, 28)


def test_the_statement_summary_is_json_ready_strings() -> None:
    summary = analyze("2300.00").summary()
    assert summary["new_deposit"] == "308.33"
    assert summary["shortage"] == "100.00"
    assert summary["lowest_month"] == "2026-03-01"
    assert summary["refund_due_on"] is None


bills_strategy = st.lists(
    st.builds(
        EscrowBill,
        kind=st.sampled_from(EscrowKind),
        payee=st.just("Payee"),
        amount=st.integers(1, 500_000).map(lambda cents: Decimal(cents).scaleb(-2)),
        next_due_date=st.dates(date(2025, 10, 1), date(2027, 1, 31)),
        frequency_months=st.sampled_from(FREQUENCIES),
    ),
    max_size=5,
)


@given(bills=bills_strategy, cents=st.integers(-1_000_000, 2_000_000))
def test_making_up_the_shortage_or_refunding_the_surplus_puts_the_low_point_on_the_cushion(
    bills: list[EscrowBill], cents: int
) -> None:
    balance = Decimal(cents).scaleb(-2)
    statement = analyze(str(balance), bills=tuple(bills))
    assert statement.shortage == 0 or statement.surplus == 0
    assert statement.deficiency == max(NOTHING, -balance)
    for amount in (statement.shortage, statement.surplus, statement.new_deposit, statement.lowest_balance):
        assert amount == amount.quantize(Decimal("0.01"))
    settled = balance + statement.shortage + statement.deficiency - statement.surplus
    again = analyze(str(settled), bills=tuple(bills))
    # the projection moves one for one with the balance; only the base deposit's rounding
    # (at most 0.005 x 12 = 0.06 a year) can leave the low point a little above the cushion
    assert NOTHING <= again.lowest_balance - again.cushion <= Decimal("0.06")
