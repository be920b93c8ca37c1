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
    EscrowMovement,
    EscrowStatement,
    SmallSurplus,
    analyze_escrow,
    computation_year,
    escrow_activity,
    is_current_for_escrow,
    next_analysis_date,
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
    past_due_deposits: Decimal = NOTHING,
    billed_unpaid: Decimal = NOTHING,
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
        past_due_deposits=past_due_deposits,
        billed_unpaid=billed_unpaid,
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


def test_a_small_surplus_is_credited_against_next_years_deposits_by_default() -> None:
    # low point 2,440 - 1,800 = 640; surplus 40, under 50: not refunded; credited a twelfth a month,
    # 40 / 12 = 3.333 rounded down to 3.33 (never credit more than the surplus): deposit 300 - 3.33
    statement = analyze("2440.00")
    assert (statement.surplus, statement.refund, statement.refund_due_on) == (Decimal("40.00"), NOTHING, None)
    assert statement.monthly_credit == Decimal("3.33")
    assert statement.new_deposit == Decimal("296.67")
    assert statement.credited_surplus == Decimal("39.96")  # 12 x 3.33
    assert statement.kept_surplus == Decimal("0.04")  # 40 - 39.96, picked up by the next analysis
    # a year of lower deposits spends the credit: 2,440 + 12 x 296.67 - 3,600 of bills = 2,400.04 a year
    # on, the balanced 2,400 and the 0.04 kept, which the next analysis finds as its whole surplus
    year_on = Decimal("2440.00") + 12 * statement.new_deposit - statement.annual_disbursements
    assert year_on == Decimal("2400.04")
    assert analyze(str(year_on)).surplus == Decimal("0.04")


def test_a_small_surplus_is_refunded_within_30_days_when_the_portfolio_says_so() -> None:
    statement = analyze("2440.00", policy=AnalysisPolicy(small_surplus=SmallSurplus.REFUND))
    assert (statement.refund, statement.refund_due_on) == (Decimal("40.00"), date(2026, 2, 14))  # 15 Jan + 30
    assert (statement.monthly_credit, statement.kept_surplus) == (NOTHING, NOTHING)
    assert statement.new_deposit == Decimal("300.00")


def test_a_surplus_of_a_borrower_not_current_is_neither_refunded_nor_credited() -> None:
    # Reg X 1024.17(f)(2)(ii): the servicer may keep it; it lowers next year's analysis instead
    for policy in (AnalysisPolicy(), AnalysisPolicy(small_surplus=SmallSurplus.REFUND)):
        statement = analyze("2440.00", is_current=False, policy=policy)
        assert (statement.refund, statement.monthly_credit, statement.kept_surplus) == (
            NOTHING,
            NOTHING,
            Decimal("40.00"),
        )
        assert statement.new_deposit == Decimal("300.00")


def test_a_past_due_installments_deposit_counts_as_expected_and_the_shortage_is_not_overstated() -> None:
    # The 1 January 2026 installment is unpaid on 15 January: its 300 deposit is not in the 2,100
    # balance yet. Counted as expected, the account holds 2,100 + 300 = 2,400: balanced (low point
    # 2,400 - 1,800 = 600, the cushion). Left out, the low point would be 2,100 - 1,800 = 300 and the
    # borrower billed a shortage of 300 that the late payment itself makes up.
    statement = analyze("2100.00", next_unpaid_due=date(2026, 1, 1), past_due_deposits=Decimal("300.00"))
    assert (statement.past_due_deposits, statement.opening_balance) == (Decimal("300.00"), Decimal("2400.00"))
    assert (statement.lowest_balance, statement.shortage, statement.deficiency) == (Decimal("600.00"), NOTHING, NOTHING)
    assert statement.new_deposit == Decimal("300.00")
    overstated = analyze("2100.00", next_unpaid_due=date(2026, 1, 1))
    assert overstated.shortage == Decimal("300.00")


def test_past_due_deposits_can_clear_a_deficiency_and_refunds_stay_within_the_money_held() -> None:
    # balance -100 (an advance) with two installments past due, 300 each: expected -100 + 600 = 500;
    # no deficiency. Low point 500 - 1,800 = -1,300: shortage 600 + 1,300 = 1,900, spread: 158.33
    statement = analyze("-100.00", next_unpaid_due=date(2025, 12, 1), past_due_deposits=Decimal("600.00"),
                        is_current=False)  # fmt: skip
    assert (statement.deficiency, statement.shortage) == (NOTHING, Decimal("1900.00"))
    assert statement.new_deposit == Decimal("458.33")  # 300 + 1,900 / 12 = 158.333 -> 158.33
    # a current borrower with a surplus only once a past-due deposit arrives: at most the 100 held goes back
    rich = analyze("100.00", bills=(), past_due_deposits=Decimal("300.00"))
    assert (rich.surplus, rich.refund, rich.kept_surplus) == (Decimal("400.00"), Decimal("100.00"), Decimal("300.00"))


def test_a_shortage_billed_and_unpaid_counts_as_expected_and_is_not_billed_twice() -> None:
    # a year ago 100 was billed (balance 2,300: shortage 100); unpaid, it still counts: 2,300 + 100 = 2,400
    policy = AnalysisPolicy(collect_small_shortage=True)
    statement = analyze("2300.00", billed_unpaid=Decimal("100.00"), policy=policy)
    assert (statement.billed_unpaid, statement.shortage, statement.collect_amount) == (
        Decimal("100.00"),
        NOTHING,
        NOTHING,
    )
    with pytest.raises(InvalidInput, match="non-negative"):
        analyze("2300.00", billed_unpaid=Decimal("-1.00"))


def test_the_next_annual_analysis_is_the_day_after_the_computation_years_last_due_date() -> None:
    # the year analyzed on 15 January 2026 runs 1 February 2026 to 1 January 2027: next analysis 2 January 2027
    assert analyze("2400.00").next_analysis_on == date(2027, 1, 2)
    # installments from 1 February 2025: the twelfth falls due 1 January 2026, the 24th 1 January 2027
    assert next_analysis_date(ANCHOR, date(2026, 1, 2)) == date(2026, 1, 2)
    assert next_analysis_date(ANCHOR, date(2026, 1, 3)) == date(2027, 1, 2)
    assert next_analysis_date(date(2026, 3, 31), date(2026, 1, 1)) == date(2027, 3, 1)  # 28 Feb 2027 + 1


def test_last_years_escrow_activity_is_grouped_by_month_from_the_ledger() -> None:
    # 2,000 now; in the period: deposits 250 on 1 Dec and 1 Jan, a 300 insurance bill paid 5 Dec, a
    # reversed deposit -250 on 3 Jan. Opening 2,000 - (250 - 300 + 250 - 250) = 2,050.
    moved = [
        EscrowMovement(date(2025, 12, 1), paid_out=False, change=Decimal("250.00")),
        EscrowMovement(date(2025, 12, 5), paid_out=True, change=Decimal("-300.00")),
        EscrowMovement(date(2026, 1, 1), paid_out=False, change=Decimal("250.00")),
        EscrowMovement(date(2026, 1, 3), paid_out=False, change=Decimal("-250.00")),
    ]
    activity = escrow_activity(moved, starts_on=date(2025, 11, 16), ends_on=date(2026, 1, 15),
                               balance_now=Decimal("2000.00"), currency="USD")  # fmt: skip
    assert activity.opening_balance == Decimal("2050.00")
    assert [(m.month, str(m.deposits), str(m.disbursements), str(m.balance)) for m in activity.months] == [
        ("2025-11", "0.00", "0.00", "2050.00"),
        ("2025-12", "250.00", "300.00", "2000.00"),  # 2,050 + 250 - 300
        ("2026-01", "0.00", "0.00", "2000.00"),  # 250 in, 250 reversed
    ]
    assert (activity.deposits, activity.disbursements, activity.closing_balance) == (
        Decimal("250.00"),
        Decimal("300.00"),
        Decimal("2000.00"),
    )
    assert activity.to_data()["months"][1] == {"month": "2025-12", "deposits": "250.00", "disbursements": "300.00",
                                               "balance": "2000.00"}  # fmt: skip


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
