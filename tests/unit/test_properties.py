"""Properties that must hold for any loan: schedules end at zero, payoffs close, payments book their cash."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from servicing.rules.account import Account, FeeKind, LoanStatus
from servicing.rules.interest import Compounding, InterestMethod
from servicing.rules.ledger import EntryKind
from servicing.rules.money import to_money
from servicing.rules.payoff import payoff_quote
from servicing.rules.posting import post_payment
from servicing.rules.schedule import amortization_schedule
from tests.factories import mortgage, personal

CURRENCIES = st.sampled_from(["USD", "EUR", "IDR", "JPY", "BHD", "INR"])


@st.composite
def due_dates(draw: st.DrawFn) -> date:
    year, month = draw(st.integers(2015, 2030)), draw(st.integers(1, 12))
    return date(year, month, min(draw(st.integers(1, 31)), calendar.monthrange(year, month)[1]))


@st.composite
def loans(draw: st.DrawFn, max_term: int = 360) -> Account:
    currency = draw(CURRENCIES)
    principal = to_money(D(draw(st.integers(1_000, 2_000_000))), currency)
    rate = D(draw(st.integers(0, 2_000))) / 10_000
    term = draw(st.integers(1, max_term))
    first_due = draw(due_dates())
    if draw(st.booleans()):
        compounding = draw(st.sampled_from(Compounding))
        escrow = to_money(D(draw(st.integers(0, 500))), currency)
        return mortgage(str(principal), str(rate), term, first_due, str(escrow), currency, compounding)
    originated = first_due - timedelta(days=draw(st.integers(20, 45)))
    return personal(str(principal), str(rate), term, originated, first_due, currency)


def principal_applied(lines: list) -> D:  # type: ignore[type-arg]
    return -sum((line.change.principal for line in lines), D(0))


@given(loans())
def test_a_loan_paid_exactly_per_schedule_ends_at_zero_with_all_principal_applied(loan: Account) -> None:
    original = loan.balances.principal
    lines = []
    if loan.interest_method is InterestMethod.SCHEDULED_30_360:
        for number in range(1, loan.term_months + 1):
            amount = loan.installment_amount(number)
            lines += post_payment(loan, amount, loan.due_date(number)).lines
    else:
        schedule = amortization_schedule(
            original, loan.annual_rate, loan.term_months, loan.monthly_payment, loan.schedule_anchor,
            loan.interest_paid_through, loan.interest_method, loan.compounding, loan.currency,
        )  # fmt: skip
        for line in schedule:
            lines += post_payment(loan, line.payment, line.due_date).lines
    assert loan.status is LoanStatus.PAID_OFF
    assert loan.balances.principal == 0
    assert principal_applied(lines) == original


@given(
    loans(max_term=120),
    st.integers(0, 8),
    st.lists(st.integers(-10, 40), min_size=8, max_size=8),
    st.integers(0, 3_000),
    st.booleans(),
    st.integers(0, 90),
)
def test_posting_the_payoff_on_its_good_through_date_closes_the_loan_with_every_bucket_at_zero(
    loan: Account, paid: int, lateness: list[int], partial: int, late_fee: bool, wait: int
) -> None:
    day = loan.due_date(1) - timedelta(days=1)
    for number in range(1, min(paid, loan.term_months - 1) + 1):
        day = max(day, loan.due_date(number) + timedelta(days=lateness[number - 1]))
        post_payment(loan, loan.amount_due(day) or loan.monthly_payment, day)
    if loan.status is not LoanStatus.ACTIVE:
        return
    if partial:
        post_payment(loan, to_money(D(partial), loan.currency) or D(1), day)
    if late_fee and loan.status is LoanStatus.ACTIVE:
        loan.assess_fee(FeeKind.LATE, to_money(loan.monthly_payment * D("0.05"), loan.currency), day)
        loan.book(EntryKind.ESCROW_DISBURSEMENT, day, "tax", escrow=to_money(D(-777), loan.currency))
    good_through = day + timedelta(days=wait)
    quote = payoff_quote(loan, day, good_through)
    if loan.status is not LoanStatus.ACTIVE or quote.total <= 0:
        return
    application = post_payment(loan, quote.total, good_through)
    assert loan.status is LoanStatus.PAID_OFF
    assert loan.balances.is_zero()
    # the quote's total comes in; the positive escrow balance goes back to the borrower separately
    assert sum((line.cash() for line in application.lines), D(0)) == quote.total - quote.escrow_refund


@given(
    loans(max_term=60),
    st.lists(st.tuples(st.integers(1, 5_000), st.integers(0, 45)), min_size=1, max_size=12),
)
def test_every_payment_books_exactly_the_money_received(loan: Account, payments: list[tuple[int, int]]) -> None:
    day = loan.due_date(1) - timedelta(days=20)
    for amount, gap in payments:
        if loan.status is not LoanStatus.ACTIVE:
            break
        day += timedelta(days=gap)
        money = to_money(D(amount), loan.currency) or D(1)
        application = post_payment(loan, money, day)
        # a payoff also refunds the escrow balance: that is the servicer's money going back, not this payment's
        received = [line for line in application.lines if line.kind is not EntryKind.ESCROW_DISBURSEMENT]
        assert sum((line.cash() for line in received), D(0)) == money
        assert min(loan.balances.principal, loan.balances.fees, loan.balances.suspense) >= 0
