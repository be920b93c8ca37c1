"""The explanations read back from the ledger (issue 18), with the figures worked out by hand.

The mortgage: 150,000.00 at 5.5% over 360 months, first due 1 February 2026: principal and interest 851.68,
escrow 200.00, so an installment is 1,051.68; 15 days of grace; a late fee of 5% of principal and interest
(851.68 x 5% = 42.58). February's interest is 150,000 x 5.5% / 12 = 687.50 (principal 164.18); March's is
149,835.82 x 5.5% / 12 = 686.75 (principal 164.93).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from servicing.errors import InvalidInput
from servicing.escrow import add_escrow_item, run_escrow_analysis
from servicing.explanations import Question, explain_entry, explain_loan
from servicing.explanations.entries import is_explained
from servicing.speaking import Speaker
from servicing.store.models import LedgerEntry, Loan
from tests.integration import explanation_helpers as scenario
from tests.integration.helpers import board

TODAY = date(2026, 3, 20)
D = Decimal


def lines(
    sessions: sessionmaker[Session],
    loan: str,
    question: Question,
    locale: str = "en_US",
    *,
    received_on: date | None = None,
    amount: Decimal | None = None,
) -> list[str]:
    """Return the explanation of a question about the loan, sentence by sentence, in a locale."""
    with sessions() as session:
        explanation = explain_loan(session, loan, question, today=TODAY, received_on=received_on, amount=amount)
        return explanation.lines(Speaker(locale))


@pytest.fixture
def loan(sessions: sessionmaker[Session]) -> str:
    with sessions.begin() as session:
        return board(session)


def test_a_partial_payment_is_held_in_suspense_until_a_full_installment_builds_up(
    sessions: sessionmaker[Session], loan: str
) -> None:
    scenario.pay(sessions, loan, D("1051.68"), date(2026, 1, 30), "feb")
    scenario.pay(sessions, loan, D("1051.68"), date(2026, 2, 27), "mar")
    scenario.pay(sessions, loan, D("500.00"), date(2026, 3, 19), "part")
    assert lines(sessions, loan, Question.PAYMENT) == [
        "Your payment of $500.00 received March 19, 2026 was applied like this:",
        "$500.00 is held in suspense: it is less than a full installment of $1,051.68. We apply it as soon as "
        "$551.68 more arrives.",
    ]


def test_a_payment_spread_over_two_installments_and_a_fee_is_read_back_line_by_line(
    sessions: sessionmaker[Session], loan: str
) -> None:
    _fee, amount = scenario.two_installments_and_a_fee(sessions, loan, "US")
    assert amount == D("2145.94")  # 2 x 1,051.68 + 42.58
    assert lines(sessions, loan, Question.PAYMENT) == [
        "Your payment of $2,145.94 received March 10, 2026 was applied like this:",
        "Installment due February 1, 2026: $687.50 interest, $164.18 principal, $200.00 escrow.",
        "Installment due March 1, 2026: $686.75 interest, $164.93 principal, $200.00 escrow.",
        "$42.58 to fees.",
    ]
    # in Spanish for a US borrower: the same figures, in their words and their locale's formats
    s = Speaker("es_US")
    assert lines(sessions, loan, Question.PAYMENT, "es_US")[1] == (
        f"Cuota con vencimiento el {s.day(scenario.FEB_1)}: {s.money(D('687.50'), 'USD')} de intereses, "
        f"{s.money(D('164.18'), 'USD')} de capital, {s.money(D('200.00'), 'USD')} de escrow."
    )


def test_a_late_fee_names_its_installment_the_end_of_grace_its_rule_and_when_the_installment_was_paid(
    sessions: sessionmaker[Session], loan: str
) -> None:
    scenario.late_fee_charged(sessions, loan, "US")
    first = (
        "Late fee of $42.58 charged February 17, 2026: the installment due February 1, 2026 was not paid in full "
        "by February 16, 2026, the end of its 15-day grace period."
    )
    assert lines(sessions, loan, Question.FEE) == [
        first,
        "The fee is 5% of that installment's principal and interest.",
        "That installment is still unpaid.",
        "Still owed on it: $42.58.",
    ]
    scenario.pay(sessions, loan, D("2145.94"), date(2026, 3, 10), "catch-up")
    assert lines(sessions, loan, Question.FEE)[2:] == [
        "That installment was paid on March 10, 2026.",
        "It has been paid.",
    ]


def test_a_returned_payment_says_when_and_why_it_was_returned(sessions: sessionmaker[Session], loan: str) -> None:
    scenario.returned_payment(sessions, loan)
    assert lines(sessions, loan, Question.PAYMENT) == [
        "Your payment of $1,051.68 received January 30, 2026 was returned on February 3, 2026 (insufficient "
        "funds), so everything it paid was put back on your loan."
    ]


def test_an_escrow_shortage_spread_over_twelve_months_explains_the_new_payment(
    sessions: sessionmaker[Session], loan: str
) -> None:
    statement = scenario.escrow_shortage(sessions, loan)
    # bills 2,400 + 1,200 = 3,600 a year: base 300.00; the low point -1,700 against a cushion of 600: shortage
    # 2,300.00, spread over 12 months: 191.67 a month; deposit 300 + 191.67 = 491.67; payment 851.68 + 491.67
    assert (statement.shortage, statement.recovery_deposit, statement.new_deposit) == (
        D("2300.00"), D("191.67"), D("491.67"),
    )  # fmt: skip
    assert lines(sessions, loan, Question.PAYMENT_CHANGE) == [
        "From April 1, 2026 your monthly payment is $1,343.35 instead of $1,051.68, after the escrow analysis of "
        "March 2, 2026.",
        "Your escrow deposit goes from $200.00 to $491.67: $300.00 a month pays the year's bills of $3,600.00.",
        "$191.67 a month makes up an escrow shortage of $2,300.00 over 12 months.",
    ]


def test_a_new_bill_since_the_last_analysis_is_named_as_the_bill_that_moved(
    sessions: sessionmaker[Session], loan: str
) -> None:
    scenario.escrow_shortage(sessions, loan)
    with sessions.begin() as session:
        add_escrow_item(session, loan, kind="flood_insurance", payee="River Flood Co", amount=D("600.00"),
                        next_due_date=date(2026, 9, 1), actor="test")  # fmt: skip
        run_escrow_analysis(session, loan, on=date(2026, 3, 10), actor="test", reason="flood policy added")
    said = lines(sessions, loan, Question.PAYMENT_CHANGE)
    assert "River Flood Co: $0.00 last year, $600.00 this year." in said
    assert said[0].endswith("after the escrow analysis of March 10, 2026.")


def test_why_late_names_the_oldest_installment_what_is_owed_what_suspense_holds_and_the_options(
    sessions: sessionmaker[Session], loan: str
) -> None:
    scenario.late_fee_charged(sessions, loan, "US")
    scenario.pay(sessions, loan, D("500.00"), date(2026, 3, 10), "part")
    assert lines(sessions, loan, Question.LATE) == [
        "Your oldest unpaid installment was due February 1, 2026, 47 days ago.",
        "To bring your loan current you owe $2,145.94: $2,103.36 in installments and $42.58 in fees and escrow billed.",
        "$500.00 you already paid is held in suspense and counts toward it: $1,645.94 is left to pay.",
        "You can reply 3 to pay now, tell me when you can pay (for example: 500 on Friday), or reply 7 if you are "
        "having trouble paying.",
    ]


def test_a_current_loan_is_not_late_and_a_loan_without_fees_or_changes_says_so(
    sessions: sessionmaker[Session], loan: str
) -> None:
    scenario.pay(sessions, loan, D("1051.68"), date(2026, 1, 30), "feb")
    scenario.pay(sessions, loan, D("1051.68"), date(2026, 2, 27), "mar")
    assert lines(sessions, loan, Question.LATE) == [
        "Your loan is not past due. Your next payment of $1,051.68 is due April 1, 2026."
    ]
    assert lines(sessions, loan, Question.FEE) == ["There are no fees on your loan."]
    assert lines(sessions, loan, Question.PAYMENT_CHANGE) == [
        "Your monthly payment is $1,051.68 and has not changed in the last year."
    ]


def test_a_payment_named_by_date_or_amount_is_the_one_explained_and_a_miss_says_so(
    sessions: sessionmaker[Session], loan: str
) -> None:
    scenario.pay(sessions, loan, D("1051.68"), date(2026, 1, 30), "feb")
    scenario.pay(sessions, loan, D("1100.00"), date(2026, 2, 27), "mar")
    assert lines(sessions, loan, Question.PAYMENT, received_on=date(2026, 1, 30))[0].startswith(
        "Your payment of $1,051.68 received January 30, 2026"
    )
    assert lines(sessions, loan, Question.PAYMENT, amount=D("1051.68"))[0].startswith("Your payment of $1,051.68")
    missed = lines(sessions, loan, Question.PAYMENT, amount=D("77.00"))
    assert missed[0] == "I found no payment matching $77.00. Here is your last one."
    assert missed[1].startswith("Your payment of $1,100.00 received February 27, 2026")
    assert "$48.32 extra to principal." in missed  # 1,100.00 - 1,051.68: nothing else was due


def test_a_loan_without_payments_says_so(sessions: sessionmaker[Session], loan: str) -> None:
    assert lines(sessions, loan, Question.PAYMENT) == ["We have not received any payments on this loan yet."]


def test_each_payment_fee_and_escrow_entry_of_the_ledger_has_its_explanation_and_other_entries_none(
    sessions: sessionmaker[Session], loan: str
) -> None:
    scenario.two_installments_and_a_fee(sessions, loan, "US")
    scenario.escrow_shortage(sessions, loan)
    with sessions() as session:
        loan_id = session.scalar(select(Loan.id).where(Loan.loan_number == loan))
        entries = session.scalars(select(LedgerEntry).where(LedgerEntry.loan_id == loan_id)).all()
        explained = {e.kind: explain_entry(session, loan, e.id, today=TODAY).explanation.question for e in entries
                     if is_explained(e.kind, e.payment_id, e.reference)}  # fmt: skip
        assert explained == {"interest_accrual": Question.PAYMENT, "payment": Question.PAYMENT,
                             "fee_assessed": Question.FEE}  # fmt: skip
        disbursement = next(e for e in entries if e.kind == "disbursement")
        with pytest.raises(InvalidInput, match="has no explanation"):
            explain_entry(session, loan, disbursement.id, today=TODAY)
        with pytest.raises(InvalidInput, match="no ledger entry"):
            explain_entry(session, loan, 10**9, today=TODAY)
