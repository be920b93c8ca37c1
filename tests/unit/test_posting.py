"""Posting payments: the waterfall, suspense, curtailment, fees, payoff and refusals (hand-checked)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from servicing.errors import PaymentRefused
from servicing.rules.account import FeeKind, LoanStatus
from servicing.rules.delinquency import late_fees_due
from servicing.rules.ledger import EntryKind
from servicing.rules.payoff import payoff_quote
from servicing.rules.posting import Application, check_payment, post_payment
from tests.factories import mortgage, personal

# The mortgage of these tests: 200,000.00 at 6% over 360 months, first due 2026-02-01.
# P&I = 1,199.10; with 250.00 escrow each installment costs 1,449.10.
INSTALLMENT = D("1449.10")


def cash(application: Application) -> D:
    return sum((line.cash() for line in application.lines), D(0))


def test_a_payment_on_the_due_date_pays_interest_then_principal_then_escrow() -> None:
    loan = mortgage(escrow="250.00")
    application = post_payment(loan, INSTALLMENT, date(2026, 2, 1))
    [paid] = application.installments
    # interest 200,000 x 0.06 / 12 = 1,000.00; principal 1,199.10 - 1,000.00 = 199.10
    assert (paid.interest, paid.principal, paid.escrow) == (D("1000.00"), D("199.10"), D("250.00"))
    assert loan.balances.principal == D("199800.90")
    assert loan.balances.escrow == D("250.00")
    assert loan.interest_paid_through == date(2026, 1, 31)  # in arrears: the day before the due date
    assert loan.next_due_date == date(2026, 3, 1)
    assert cash(application) == INSTALLMENT


def test_the_second_installment_pays_interest_on_the_reduced_balance() -> None:
    loan = mortgage(escrow="250.00")
    post_payment(loan, INSTALLMENT, date(2026, 2, 1))
    [paid] = post_payment(loan, INSTALLMENT, date(2026, 3, 1)).installments
    # 199,800.90 x 0.005 = 999.0045 -> 999.00; principal 1,199.10 - 999.00 = 200.10
    assert (paid.interest, paid.principal) == (D("999.00"), D("200.10"))


def test_a_partial_payment_waits_in_suspense_until_the_rest_arrives() -> None:
    loan = mortgage(escrow="250.00")
    first = post_payment(loan, D("1000.00"), date(2026, 2, 1))
    assert first.installments == []
    assert loan.balances.suspense == D("1000.00")
    assert [line.kind for line in first.lines] == [EntryKind.SUSPENSE_IN]
    assert loan.days_past_due(date(2026, 2, 20)) == 19
    second = post_payment(loan, D("449.10"), date(2026, 2, 25))
    assert [i.number for i in second.installments] == [1]
    assert loan.balances.suspense == 0
    assert loan.days_past_due(date(2026, 2, 25)) == 0


def test_oldest_installment_is_paid_first_and_the_rest_of_a_short_payment_is_held() -> None:
    loan = mortgage(escrow="250.00")
    application = post_payment(loan, D("2000.00"), date(2026, 3, 5))
    assert [i.number for i in application.installments] == [1]
    # 2,000.00 - 1,449.10 = 550.90 does not cover installment 2 (1,449.10): held
    assert loan.balances.suspense == D("550.90")
    assert loan.next_due_date == date(2026, 3, 1)
    assert loan.days_past_due(date(2026, 3, 5)) == 4


def test_a_payment_sent_early_pays_the_coming_installment() -> None:
    loan = mortgage(escrow="250.00")
    application = post_payment(loan, INSTALLMENT, date(2026, 1, 20))  # due 2026-02-01, within a month
    assert [i.number for i in application.installments] == [1]
    assert loan.next_due_date == date(2026, 3, 1)


def test_money_sent_more_than_a_month_early_reduces_principal() -> None:
    loan = mortgage(escrow="250.00")
    application = post_payment(loan, INSTALLMENT, date(2025, 12, 15))  # next due 2026-02-01 is > a month away
    assert application.installments == []
    assert [line.kind for line in application.lines] == [EntryKind.CURTAILMENT]
    assert loan.balances.principal == D("200000.00") - INSTALLMENT


def test_extra_money_with_a_regular_payment_is_a_curtailment_not_a_second_installment() -> None:
    loan = mortgage(escrow="250.00")
    application = post_payment(loan, D("3000.00"), date(2026, 2, 1))
    assert [i.number for i in application.installments] == [1]
    # 3,000.00 - 1,449.10 = 1,550.90 extra principal: 200,000 - 199.10 - 1,550.90 = 198,250.00
    assert loan.balances.principal == D("198250.00")
    assert loan.balances.suspense == 0
    assert loan.next_due_date == date(2026, 3, 1)


def test_late_fee_is_charged_the_day_after_the_grace_period_at_five_percent_of_p_and_i() -> None:
    loan = mortgage(escrow="250.00")
    assert late_fees_due(loan, date(2026, 2, 16)) == []  # due 2026-02-01 + 15 days grace: still in grace
    # 5% of 1,199.10 = 59.955 -> 59.96 (escrow is not part of the base)
    assert late_fees_due(loan, date(2026, 2, 17)) == [(date(2026, 2, 1), D("59.96"))]


def _with_late_fee() -> tuple:  # type: ignore[type-arg]
    loan = mortgage(escrow="250.00")
    loan.assess_fee(FeeKind.LATE, D("59.96"), date(2026, 2, 17))
    loan.late_fee_through = date(2026, 2, 1)
    return (loan,)


def test_installments_come_before_fees() -> None:
    (loan,) = _with_late_fee()
    application = post_payment(loan, INSTALLMENT, date(2026, 2, 20))
    assert [i.number for i in application.installments] == [1]
    assert loan.balances.fees == D("59.96")  # the fee waits; the installment is paid in full


def test_a_payment_short_of_the_past_due_installment_never_pays_fees() -> None:
    (loan,) = _with_late_fee()
    post_payment(loan, D("500.00"), date(2026, 2, 20))
    assert loan.balances.fees == D("59.96")
    assert loan.balances.suspense == D("500.00")


def test_once_no_installment_is_past_due_fees_are_paid() -> None:
    (loan,) = _with_late_fee()
    application = post_payment(loan, INSTALLMENT + D("59.96"), date(2026, 2, 20))
    assert loan.balances.fees == 0
    assert application.fees_paid == [(1, D("59.96"))]


def test_a_late_fee_is_not_pyramided_on_installments_paid_in_full() -> None:
    (loan,) = _with_late_fee()
    post_payment(loan, INSTALLMENT, date(2026, 2, 20))
    post_payment(loan, INSTALLMENT, date(2026, 3, 1))
    post_payment(loan, INSTALLMENT, date(2026, 4, 1))
    # every installment was paid in full and on time; the only shortfall is the old fee
    assert late_fees_due(loan, date(2026, 4, 20)) == []
    assert loan.balances.fees == D("59.96")


def test_daily_simple_interest_pays_the_actual_days_since_the_last_payment() -> None:
    loan = personal()  # 10,000.00 at 12% over 36 months from 2026-01-15; P&I = 332.14
    assert loan.monthly_payment == D("332.14")
    post_payment(loan, D("332.14"), date(2026, 2, 15))
    # 31 days: 10,000 x 0.12 x 31 / 365 = 101.9178 -> 101.92; principal 332.14 - 101.92 = 230.22
    assert loan.balances.principal == D("9769.78")
    assert loan.interest_paid_through == date(2026, 2, 15)
    post_payment(loan, D("332.14"), date(2026, 3, 25))
    # paid late, 38 days: 9,769.78 x 0.12 x 38 / 365 = 122.0549 -> 122.06; principal 210.08
    assert loan.balances.principal == D("9559.70")


def test_daily_simple_interest_applies_principal_due_before_late_fees_and_extra_principal() -> None:
    loan = personal()
    loan.assess_fee(FeeKind.LATE, D("16.61"), date(2026, 3, 3))
    post_payment(loan, D("400.00"), date(2026, 3, 5))
    # 49 days: 10,000 x 0.12 x 49 / 365 = 161.0959 -> 161.10 interest; installment 1 needs 332.14 in all,
    # so 171.04 principal due; then the 16.61 fee; then 51.25 extra principal
    assert loan.balances.fees == 0
    assert loan.balances.principal == D("10000.00") - D("171.04") - D("51.25")
    assert loan.installments_paid == 1


def test_posting_the_payoff_on_its_good_through_date_closes_the_mortgage_with_every_bucket_at_zero() -> None:
    loan = mortgage(escrow="250.00")
    post_payment(loan, INSTALLMENT, date(2026, 2, 1))
    quote = payoff_quote(loan, date(2026, 2, 10), date(2026, 2, 20))
    # 199,800.90 + 199,800.90 x 0.06 x 20 / 360 (= 666.00) ; escrow 250.00 is refunded separately
    assert (quote.interest, quote.total, quote.escrow_refund) == (D("666.00"), D("200466.90"), D("250.00"))
    assert quote.per_diem == D("33.30")  # 199,800.90 x 0.06 / 360 = 33.3002
    application = post_payment(loan, quote.total, date(2026, 2, 20))
    assert loan.status is LoanStatus.PAID_OFF
    assert loan.balances.is_zero()
    assert EntryKind.ESCROW_DISBURSEMENT in [line.kind for line in application.lines]


def test_payoff_subtracts_suspense_and_adds_fees_and_the_escrow_advance() -> None:
    loan = mortgage(escrow="250.00")
    post_payment(loan, D("100.00"), date(2026, 1, 25))  # held: next installment is within a month
    loan.assess_fee(FeeKind.LATE, D("59.96"), date(2026, 2, 17))
    loan.book(EntryKind.ESCROW_DISBURSEMENT, date(2026, 2, 18), "tax", escrow=D("-1200.00"))
    quote = payoff_quote(loan, date(2026, 2, 20), date(2026, 2, 20))
    # 200,000 + 200,000 x 0.06 x 50 / 360 (12-31 -> 02-20 = 50 days: 1,666.67) + 59.96 + 1,200 - 100
    assert quote.interest == D("1666.67")
    assert quote.total == D("200000.00") + D("1666.67") + D("59.96") + D("1200.00") - D("100.00")
    post_payment(loan, quote.total, date(2026, 2, 20))
    assert loan.balances.is_zero()


def test_posting_the_payoff_closes_a_daily_simple_interest_loan() -> None:
    loan = personal()
    post_payment(loan, D("332.14"), date(2026, 2, 15))
    quote = payoff_quote(loan, date(2026, 2, 20), date(2026, 3, 1))
    # 9,769.78 x 0.12 x 14 / 365 = 44.9680 -> 44.97
    assert quote.total == D("9769.78") + D("44.97")
    post_payment(loan, quote.total, date(2026, 3, 1))
    assert loan.status is LoanStatus.PAID_OFF
    assert loan.balances.is_zero()


@pytest.mark.parametrize(
    ("amount", "received", "reason"),
    [
        ("0", date(2026, 2, 1), "amount must be positive"),
        ("-5.00", date(2026, 2, 1), "amount must be positive"),
        ("10.001", date(2026, 2, 1), "finer than USD"),
        ("10.00", date(2026, 3, 2), "in the future"),
    ],
)
def test_bad_payments_are_refused_with_a_reason(amount: str, received: date, reason: str) -> None:
    with pytest.raises(PaymentRefused, match=reason):
        check_payment(mortgage(), D(amount), received, date(2026, 3, 1))


def test_a_paid_off_loan_takes_no_payment() -> None:
    loan = mortgage()
    loan.status = LoanStatus.PAID_OFF
    with pytest.raises(PaymentRefused, match="paid off"):
        check_payment(loan, D("10.00"), date(2026, 2, 1), date(2026, 3, 1))


def test_every_payment_books_exactly_the_money_received() -> None:
    loan = mortgage(escrow="250.00")
    for amount, day in [("1000", date(2026, 2, 1)), ("2000", date(2026, 3, 3)), ("5000", date(2026, 4, 1))]:
        application = post_payment(loan, D(amount), day)
        assert cash(application) == D(amount)


# -- escrow deposits per installment, and an escrow shortage billed by an analysis -------------------------


def test_an_installment_due_before_a_new_escrow_deposit_keeps_the_deposit_it_was_billed_with() -> None:
    # an analysis raised the deposit from 250 to 300 starting with the 1 March installment; February is unpaid
    loan = mortgage(escrow="300.00")
    loan.escrow_previous_monthly, loan.escrow_monthly_from = D("250.00"), date(2026, 3, 1)
    assert loan.installment_amount(1) == INSTALLMENT  # February: 1,199.10 + 250.00
    assert loan.installment_amount(2) == D("1499.10")  # March: 1,199.10 + 300.00
    assert loan.amount_due(date(2026, 3, 5)) == INSTALLMENT + D("1499.10")  # both due: 2,948.20
    # past due, each at its own deposit: on 1 March only February (250); on 5 March both (250 + 300)
    assert (loan.escrow_past_due(date(2026, 3, 1)), loan.escrow_past_due(date(2026, 3, 5))) == (D("250"), D("550"))
    application = post_payment(loan, INSTALLMENT, date(2026, 3, 5))  # 1,449.10 pays February in full
    assert [(i.number, i.escrow) for i in application.installments] == [(1, D("250.00"))]
    assert loan.balances.suspense == 0


def test_a_payment_fills_the_installments_due_then_the_escrow_shortage_billed_then_fees() -> None:
    loan = mortgage(escrow="250.00")
    loan.escrow_shortage_due = D("100.00")
    assert loan.amount_due(date(2026, 1, 20)) == INSTALLMENT + D("100.00")  # the next installment and the bill
    # 1,500.00 on the due date: the installment 1,449.10, then 50.90 toward the 100 billed, into escrow
    application = post_payment(loan, D("1500.00"), date(2026, 2, 1))
    assert loan.escrow_shortage_due == D("49.10")
    assert loan.balances.escrow == D("300.90")  # 250 + 50.90
    assert [(line.kind, line.change.escrow) for line in application.lines][-1] == (EntryKind.ESCROW_DEPOSIT, D("50.90"))
    assert cash(application) == D("1500.00")
    assert application.to_record()["escrow_shortage"] == "50.90"


def test_a_shortage_billed_waits_while_an_installment_due_is_unpaid() -> None:
    loan = mortgage(escrow="250.00")
    loan.escrow_shortage_due = D("100.00")
    # 1,000 on 10 February with the February installment due: too little for it, all held in suspense
    post_payment(loan, D("1000.00"), date(2026, 2, 10))
    assert (loan.balances.suspense, loan.escrow_shortage_due) == (D("1000.00"), D("100.00"))
