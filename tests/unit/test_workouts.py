"""Workout calculators on accounts in memory: forbearance, repayment plan, deferral, modification.

The standard case is loan M-1: 200,000.00 at 6% for 360 months (30/360), first due 2026-03-01,
P&I 1,199.10 plus 250.00 escrow. The borrower missed the installments due on March 1, April 1 and
May 1 and was charged a 59.96 late fee for each (5% of 1,199.10 = 59.955 -> 59.96). A 1,500.00 tax bill
paid from a 500.00 escrow balance left an escrow advance of 1,000.00 (escrow balance -1,000.00).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from servicing.errors import WorkoutRefused
from servicing.rules.account import Account, FeeKind, LoanStatus, OpenFee, Product
from servicing.rules.delinquency import late_fees_due
from servicing.rules.interest import Compounding, InterestMethod, level_payment
from servicing.rules.ledger import Balances, EntryKind, LedgerLine
from servicing.rules.posting import post_payment
from servicing.rules.workouts import (
    ModificationStepName,
    apply_modification,
    deferral,
    forbearance_terms,
    forgive_forbearance_late_fees,
    modification_waterfall,
    principal_for_payment,
    repayment_plan,
)

D = Decimal
MODIFIED_ON = date(2026, 5, 20)


def behind_three_payments() -> Account:
    """Return M-1 on 2026-05-20: three installments, three late fees and an escrow advance unpaid."""
    return Account(
        loan_id=1,
        loan_number="M-1",
        currency="USD",
        product=Product.MORTGAGE,
        interest_method=InterestMethod.SCHEDULED_30_360,
        compounding=Compounding.MONTHLY,
        annual_rate=D("0.06"),
        monthly_payment=D("1199.10"),
        term_months=360,
        schedule_anchor=date(2026, 3, 1),
        late_fee_rate=D("0.05"),
        late_fee_grace_days=15,
        escrow_monthly=D("250.00"),
        interest_paid_through=date(2026, 1, 31),
        balances=Balances(principal=D("200000.00"), escrow=D("-1000.00"), fees=D("179.88")),
        late_fee_through=date(2026, 5, 1),
        fee_seq=3,
        open_fees=[
            OpenFee(1, FeeKind.LATE, date(2026, 3, 17), D("59.96")),
            OpenFee(2, FeeKind.LATE, date(2026, 4, 17), D("59.96")),
            OpenFee(3, FeeKind.LATE, date(2026, 5, 17), D("59.96")),
        ],
    )


def current_mortgage() -> Account:
    """Return M-1 with nothing missed: installments 1-3 (March to May) paid, escrow positive, no fees."""
    return replace(
        behind_three_payments(),
        balances=Balances(principal=D("199399.70"), escrow=D("1000.00")),
        installments_paid=3,
        interest_paid_through=date(2026, 4, 30),
        late_fee_through=None,
        fee_seq=0,
        open_fees=[],
    )


def personal_loan() -> Account:
    """Return P-1: 10,000.00 at 12% over 24 months, daily simple interest, nothing paid since 2026-01-10."""
    return Account(
        loan_id=2,
        loan_number="P-1",
        currency="USD",
        product=Product.PERSONAL,
        interest_method=InterestMethod.DAILY_ACTUAL_365,
        compounding=Compounding.MONTHLY,
        annual_rate=D("0.12"),
        monthly_payment=D("470.73"),
        term_months=24,
        schedule_anchor=date(2026, 2, 10),
        late_fee_rate=D("0.05"),
        late_fee_grace_days=15,
        escrow_monthly=D("0"),
        interest_paid_through=date(2026, 1, 10),
        balances=Balances(principal=D("10000.00")),
    )


def moved_by(before: Balances, lines: list[LedgerLine]) -> Balances:
    """Return the balances the ledger lines lead to from `before`."""
    for line in lines:
        before = before.plus(line.change)
    return before


# -- forbearance ------------------------------------------------------------------------------------


def test_forbearance_covers_the_installments_due_in_its_months_and_projects_the_arrears() -> None:
    terms = forbearance_terms(current_mortgage(), 3, D("500.00"), date(2026, 6, 1))
    # 2026-06-01 + 3 months - 1 day = 2026-08-31; due dates June 1, July 1, August 1
    assert terms.ends_on == date(2026, 8, 31)
    assert terms.due_dates == (date(2026, 6, 1), date(2026, 7, 1), date(2026, 8, 1))
    # regular installment 1,199.10 + 250.00 = 1,449.10; shortfall 1,449.10 - 500.00 = 949.10 a month
    assert terms.regular_payment == D("1449.10")
    assert terms.shortfall_per_month == D("949.10")
    # nothing past due at the start; 3 x 949.10 = 2,847.30 left at the end
    assert terms.arrears_at_start == 0
    assert terms.projected_arrears == D("2847.30")


@pytest.mark.parametrize("months", [0, 2, 13])
def test_forbearance_shorter_than_three_or_longer_than_twelve_months_is_refused(months: int) -> None:
    with pytest.raises(WorkoutRefused, match=f"3 to 12 months, not {months}"):
        forbearance_terms(current_mortgage(), months, D("0"), date(2026, 5, 1))


@pytest.mark.parametrize("payment", ["1449.10", "1500.00", "-1.00", "10.005"])
def test_forbearance_payment_must_be_an_amount_below_the_regular_installment(payment: str) -> None:
    with pytest.raises(WorkoutRefused, match="reduced payment"):
        forbearance_terms(current_mortgage(), 3, D(payment), date(2026, 5, 1))


def test_late_fees_are_spared_for_installments_that_fell_due_during_a_forbearance() -> None:
    account = replace(behind_three_payments(), late_fee_through=None, open_fees=[])
    assert len(late_fees_due(account, date(2026, 5, 20))) == 3  # what end of day would charge otherwise
    forgive_forbearance_late_fees(account, date(2026, 3, 1), date(2026, 5, 20))
    assert account.late_fee_through == date(2026, 5, 1)
    assert late_fees_due(account, date(2026, 5, 20)) == []
    # the first installment after the forbearance is charged as usual: June 1 + 15 days of grace
    assert late_fees_due(account, date(2026, 6, 17)) == [(date(2026, 6, 1), D("59.96"))]


# -- repayment plan -----------------------------------------------------------------------------------


def test_repayment_plan_adds_an_arrears_share_to_each_installment_and_the_last_absorbs_rounding() -> None:
    plan = repayment_plan(behind_three_payments(), 4, MODIFIED_ON)
    # arrears before June 1: 3 x 1,449.10 installments + 3 x 59.96 late fees = 4,347.30 + 179.88 = 4,527.18
    assert plan.arrears == D("4527.18")
    # 4,527.18 / 4 = 1,131.795 -> 1,131.80 for three months; the last takes 4,527.18 - 3 x 1,131.80 = 1,131.78
    assert [line.arrears_share for line in plan.lines] == [D("1131.80")] * 3 + [D("1131.78")]
    assert [line.due_date for line in plan.lines] == [date(2026, m, 1) for m in (6, 7, 8, 9)]
    # each month: 1,449.10 regular + 1,131.80 = 2,580.90
    assert plan.lines[0].total == D("2580.90")
    assert sum(line.arrears_share for line in plan.lines) == plan.arrears
    assert plan.ends_on == date(2026, 9, 1)


def test_repayment_plan_counts_suspense_against_the_arrears() -> None:
    account = behind_three_payments()
    account.balances = replace(account.balances, suspense=D("327.18"))
    # 4,527.18 - 327.18 held in suspense = 4,200.00; / 2 = 2,100.00 a month
    plan = repayment_plan(account, 2, MODIFIED_ON)
    assert [line.arrears_share for line in plan.lines] == [D("2100.00"), D("2100.00")]


def test_repayment_plan_on_a_current_loan_is_refused() -> None:
    with pytest.raises(WorkoutRefused, match="no arrears to repay"):
        repayment_plan(current_mortgage(), 6, date(2026, 5, 20))


# -- payment deferral -----------------------------------------------------------------------------------


def test_deferral_moves_three_missed_installments_to_the_deferred_balance_and_the_loan_is_current() -> None:
    account = behind_three_payments()
    before = account.balances
    lines = deferral(account, 3, MODIFIED_ON)
    # installment 1: interest 200,000.00 x 0.06 / 12 = 1,000.00, principal 1,199.10 - 1,000.00 = 199.10
    # installment 2: interest 199,800.90 x 0.005 = 999.0045 -> 999.00, principal 200.10
    # installment 3: interest 199,600.80 x 0.005 = 998.004 -> 998.00, principal 201.10
    deferred = [line for line in lines if line.kind is EntryKind.DEFERRAL]
    assert [-line.change.principal for line in deferred] == [D("199.10"), D("200.10"), D("201.10")]
    assert [-line.change.interest for line in deferred] == [D("1000.00"), D("999.00"), D("998.00")]
    # deferred = 3 x 1,199.10 = 3,597.30 = principal 600.30 + interest 2,997.00
    assert account.balances.deferred == D("3597.30")
    assert account.balances.principal == D("199399.70")
    assert account.balances.interest == 0
    assert account.days_past_due(MODIFIED_ON) == 0
    assert account.next_due_date == date(2026, 6, 1)
    assert account.interest_paid_through == date(2026, 4, 30)
    # fees and the escrow advance are not part of a deferral
    assert (account.balances.fees, account.balances.escrow) == (D("179.88"), D("-1000.00"))
    assert moved_by(before, lines) == account.balances


def test_first_payment_after_a_deferral_pays_installment_four_on_the_remaining_principal() -> None:
    account = behind_three_payments()
    deferral(account, 3, MODIFIED_ON)
    application = post_payment(account, D("1449.10"), date(2026, 6, 1))
    # interest 199,399.70 x 0.005 = 996.9985 -> 997.00; principal 1,199.10 - 997.00 = 202.10
    assert [(i.number, i.interest, i.principal) for i in application.installments] == [(4, D("997.00"), D("202.10"))]
    assert account.balances.deferred == D("3597.30")  # interest-free, untouched until payoff


def test_deferral_months_cap_the_past_due_installments_it_may_take() -> None:
    account = behind_three_payments()
    deferral(account, 6, MODIFIED_ON)  # approval for up to 6; only the 3 past due are deferred
    assert account.balances.deferred == D("3597.30")
    with pytest.raises(WorkoutRefused, match="3 installments are past due; deferring 2 would not make"):
        deferral(behind_three_payments(), 2, MODIFIED_ON)


def test_deferral_on_a_current_loan_is_refused_and_changes_nothing() -> None:
    account = current_mortgage()
    with pytest.raises(WorkoutRefused, match="is current on 2026-05-20"):
        deferral(account, 3, date(2026, 5, 20))
    assert account == current_mortgage()


def test_daily_simple_interest_deferral_defers_interest_to_the_last_due_date_then_principal() -> None:
    account = personal_loan()
    before = account.balances
    lines = deferral(account, 3, date(2026, 4, 20))
    # installments due Feb 10, Mar 10, Apr 10: 3 x 470.73 = 1,412.19 past due
    # interest 2026-01-10 to 2026-04-10, 90 actual days: 10,000 x 0.12 x 90 / 365 = 295.890 -> 295.89
    # principal deferred: 1,412.19 - 295.89 = 1,116.30
    assert account.balances.deferred == D("1412.19")
    assert account.balances.principal == D("8883.70")
    assert account.interest_paid_through == date(2026, 4, 10)
    assert account.days_past_due(date(2026, 4, 20)) == 0
    assert moved_by(before, lines) == account.balances


# -- modification -----------------------------------------------------------------------------------------


def test_modification_of_200000_at_6_percent_three_payments_behind_shows_each_steps_payment() -> None:
    plan = modification_waterfall(behind_three_payments(), D("0.05"), MODIFIED_ON)
    # target: at least 20% lower than 1,199.10: 1,199.10 x 0.80 = 959.28
    assert plan.target_payment == D("959.28")
    # arrears: interest for March-May, 200,000 x 0.06 x 90 / 360 = 3,000.00, plus the 1,000.00 escrow advance
    assert (plan.capitalized_interest, plan.capitalized_escrow_advance) == (D("3000.00"), D("1000.00"))
    assert plan.waived_late_fees == D("179.88")
    steps = [(s.name, s.principal, s.annual_rate, s.term_months, s.payment) for s in plan.steps]
    assert steps == [
        # 1. 204,000.00 over the 357 months left (installments 4-360) at 6%: r = 0.005,
        #    1.005 ** -357 = 0.168545; 204,000 x 0.005 / (1 - 0.168545) = 1,226.765 -> 1,226.77
        (ModificationStepName.CAPITALIZE_ARREARS, D("204000.00"), D("0.06"), 357, D("1226.77")),
        # 2. at 5%: r = 0.0041667, 1.0041667 ** -357 = 0.226636; 204,000 x r / 0.773364 = 1,099.09
        (ModificationStepName.REDUCE_RATE, D("204000.00"), D("0.05"), 357, D("1099.09")),
        # 3. over 480 months: 1.0041667 ** -480 = 0.135899; 204,000 x r / 0.864101 = 983.68 (> 959.28)
        (ModificationStepName.EXTEND_TERM, D("204000.00"), D("0.05"), 480, D("983.68")),
        # 4. annuity factor (1 - 0.135899) / r = 207.384291; the most principal paying at most 959.28 is
        #    below (959.28 + 0.005) x 207.384291 = 198,940.639 -> 198,940.63 (pays 959.2849... -> 959.28);
        #    forborne 204,000.00 - 198,940.63 = 5,059.37
        (ModificationStepName.FORBEAR_PRINCIPAL, D("198940.63"), D("0.05"), 480, D("959.28")),
    ]
    assert plan.final.forborne == D("5059.37")
    assert plan.meets_target
    assert plan.first_due_date == date(2026, 6, 1)
    assert plan.interest_paid_through == date(2026, 4, 30)


@pytest.mark.parametrize(
    ("rate", "last_step", "payment"),
    [
        # 204,000 at 4.5% over 357 months: 1,037.75; over 480: 1.00375 ** -480 = 0.165856,
        # 204,000 x 0.00375 / 0.834144 = 917.11 <= 959.28, so no principal is forborne
        ("0.045", ModificationStepName.EXTEND_TERM, D("917.11")),
        # 204,000 at 3% over 357 months: 1.0025 ** -357 = 0.410087; 204,000 x 0.0025 / 0.589913 = 864.53
        ("0.03", ModificationStepName.REDUCE_RATE, D("864.53")),
    ],
)
def test_modification_steps_stop_as_soon_as_the_payment_is_20_percent_lower(
    rate: str, last_step: ModificationStepName, payment: Decimal
) -> None:
    plan = modification_waterfall(behind_three_payments(), D(rate), MODIFIED_ON)
    assert plan.final.name is last_step
    assert plan.payment == payment
    assert plan.final.forborne == 0
    assert all(step.payment > plan.target_payment for step in plan.steps[:-1])


def test_a_modification_rate_above_the_loans_rate_leaves_the_rate_alone() -> None:
    plan = modification_waterfall(behind_three_payments(), D("0.07"), MODIFIED_ON)
    rate_step = plan.steps[1]
    assert (rate_step.applied, rate_step.annual_rate, rate_step.payment) == (False, D("0.06"), D("1226.77"))
    # at 6% over 480 months 1,122.44 is still too high; 29,652.27 forborne brings it to 959.28
    assert [s.payment for s in plan.steps] == [D("1226.77"), D("1226.77"), D("1122.44"), D("959.28")]
    assert plan.final.forborne == D("29652.27")


def test_principal_forbearance_is_the_least_that_reaches_the_target() -> None:
    keep = principal_for_payment(D("959.28"), D("0.05"), 480, "USD", Compounding.MONTHLY)
    assert keep == D("198940.63")
    assert level_payment(keep, D("0.05"), 480, "USD") == D("959.28")
    # one cent more principal pays 959.2850... -> 959.29, above the target
    assert level_payment(keep + D("0.01"), D("0.05"), 480, "USD") == D("959.29")


def test_when_the_forbearance_cap_is_reached_the_steps_run_out_short_of_the_target() -> None:
    account = behind_three_payments()
    plan = modification_waterfall(account, D("0.05"), MODIFIED_ON, max_forborne_share=D("0.01"))
    # at most 1% of 204,000.00 = 2,040.00 may be forborne; 201,960.00 at 5% over 480 months pays
    # 983.681 x 0.99 = 973.844 -> 973.84, still above 959.28
    assert plan.final.forborne == D("2040.00")
    assert plan.payment == D("973.84")
    assert not plan.meets_target
    assert len(plan.steps) == 4


def test_applying_a_modification_books_lines_that_sum_to_the_new_balances_and_starts_a_new_schedule() -> None:
    account = behind_three_payments()
    before = account.balances
    plan = modification_waterfall(account, D("0.05"), MODIFIED_ON)
    lines = apply_modification(account, plan, MODIFIED_ON)
    assert [line.kind for line in lines] == [
        EntryKind.FEE_WAIVED,
        EntryKind.FEE_WAIVED,
        EntryKind.FEE_WAIVED,
        EntryKind.INTEREST_ACCRUAL,
        EntryKind.CAPITALIZATION,
        EntryKind.CAPITALIZATION,
        EntryKind.DEFERRAL,
    ]
    assert moved_by(before, lines) == account.balances
    b = account.balances
    # 200,000 + 3,000 interest + 1,000 escrow advance - 5,059.37 forborne = 198,940.63
    assert (b.principal, b.deferred) == (D("198940.63"), D("5059.37"))
    assert b.interest == b.fees == b.escrow == 0
    assert account.open_fees == []
    assert account.annual_rate == D("0.05")
    assert (account.term_months, account.monthly_payment) == (480, D("959.28"))
    assert (account.schedule_anchor, account.installments_paid) == (date(2026, 6, 1), 0)
    assert account.days_past_due(MODIFIED_ON) == 0
    # the new maturity is within 480 months of the modification date
    assert account.due_date(480) == date(2066, 5, 1)


def test_first_payment_after_a_modification_pays_installment_one_of_the_new_schedule() -> None:
    account = behind_three_payments()
    apply_modification(account, modification_waterfall(account, D("0.05"), MODIFIED_ON), MODIFIED_ON)
    application = post_payment(account, D("1209.28"), date(2026, 6, 1))
    # 959.28 P&I + 250.00 escrow; interest for May: 198,940.63 x 0.05 / 12 = 828.919 -> 828.92
    assert [(i.number, i.interest, i.principal) for i in application.installments] == [(1, D("828.92"), D("130.36"))]
    assert account.interest_paid_through == date(2026, 5, 31)


def test_modifying_a_current_loan_capitalizes_nothing_and_keeps_the_paid_through_date() -> None:
    account = current_mortgage()
    plan = modification_waterfall(account, D("0.03"), MODIFIED_ON)
    assert plan.capitalized_interest == plan.capitalized_escrow_advance == 0
    assert not plan.steps[0].applied
    assert plan.first_due_date == date(2026, 6, 1)
    assert plan.interest_paid_through == date(2026, 4, 30)
    # re-amortized over installments 4-360: 199,399.70 at 6% over 357 months, 1.005 ** -357 = 0.168545,
    # 199,399.70 x 0.005 / 0.831455 = 1,199.10, the payment it already had
    assert (plan.steps[0].term_months, plan.steps[0].payment) == (357, D("1199.10"))


def test_a_plan_worked_out_before_the_balances_moved_is_refused() -> None:
    account = behind_three_payments()
    plan = modification_waterfall(account, D("0.05"), MODIFIED_ON)
    account.book(EntryKind.CURTAILMENT, MODIFIED_ON, "extra principal", principal=D("-100.00"))
    moved = account.copy()
    with pytest.raises(WorkoutRefused, match="changed since the plan was worked out"):
        apply_modification(account, plan, MODIFIED_ON)
    assert account == moved


def test_daily_simple_interest_modification_capitalizes_interest_to_the_modification_date() -> None:
    plan = modification_waterfall(personal_loan(), D("0.08"), date(2026, 4, 20), max_term_months=36)
    # 2026-01-10 to 2026-04-20 is 100 days: 10,000 x 0.12 x 100 / 365 = 328.767 -> 328.77
    assert plan.capitalized_interest == D("328.77")
    assert plan.interest_paid_through == date(2026, 4, 20)
    assert plan.first_due_date == date(2026, 5, 10)
    assert [s.term_months for s in plan.steps[:3]] == [21, 21, 36]  # installments 4-24 are left


def test_every_workout_on_a_paid_off_loan_is_refused() -> None:
    account = replace(current_mortgage(), status=LoanStatus.PAID_OFF)
    calculators: list[Callable[[], object]] = [
        lambda: forbearance_terms(account, 3, D("0"), date(2026, 5, 1)),
        lambda: repayment_plan(account, 3, date(2026, 5, 1)),
        lambda: deferral(account, 3, date(2026, 5, 1)),
        lambda: modification_waterfall(account, D("0.03"), date(2026, 5, 1)),
    ]
    for calculate in calculators:
        with pytest.raises(WorkoutRefused, match="loan M-1 is paid off"):
            calculate()
