"""The annual escrow analysis (Reg X 1024.17) in end of day and on demand: deposits, refunds, bills, statements.

The loan: a USD mortgage of 200,000.00 at 6% over 360 months (principal and interest 1,199.10 a month),
originated 20 January 2025 with its first installment due 1 March 2025, boarded mid-life on 15 January
2026 with eleven installments paid (the next due 1 February 2026), an escrow deposit of 250.00 and the
escrow balance each test chooses. Its computation years run twelve installments from 1 March 2025: the
first one here ends with the installment due 1 February 2026, so end of day analyzes it the next day,
Monday 2 February 2026 (boarding sets that date).

The bills: property tax 2,400.00 due 10 March and hazard insurance 1,200.00 due 20 July, yearly. The
analysis of 2 February projects the computation year of the twelve installments from 1 March 2026 to
1 February 2027: 3,600.00 a year, base deposit 3,600 / 12 = 300.00, cushion 3,600 / 6 = 600.00. From an
account holding A once the February installment's 250.00 is in, the month-end balances run
    Mar A + 300 - 2,400 = A - 2,100   Apr A - 1,800   May A - 1,500   Jun A - 1,200
    Jul A - 900 - 1,200 = A - 2,100   Aug A - 1,800 ... Feb 2027 A + 0
so the low point is A - 2,100 (first in March) and the account is balanced at A = 2,700.00.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from servicing.boarding import board_loans, parse_loan_row
from servicing.config import Settings
from servicing.eod import DayResult, run_business_day
from servicing.errors import InvalidInput
from servicing.escrow import REFUND_MEMO, add_escrow_item, escrow_summary, run_escrow_analysis
from servicing.manual_payments import post_manual_payment, reverse_loan_payment
from servicing.queries import loan_summary, payoff_for
from servicing.rules.escrow import AnalysisPolicy
from servicing.store.accounts import ledger_balances
from servicing.store.models import AuditEntry, EscrowAnalysis, Installment, LedgerEntry, Loan
from tests.conftest import SECRET

LOAN = "M-2001"
BOARDED_ON = date(2026, 1, 15)
FRIDAY_BEFORE, ANALYSIS_DAY, DAY_AFTER = date(2026, 1, 30), date(2026, 2, 2), date(2026, 2, 3)
P_AND_I = Decimal("1199.10")  # 200,000 x 0.005 / (1 - 1.005^-360)
MID_LIFE = {
    "loan_number": LOAN, "product": "mortgage", "borrower_first_name": "Ana", "borrower_last_name": "Silva",
    "date_of_birth": "1980-05-04", "tax_id_last4": "1234", "phone": "+15551230001", "postal_code": "10001",
    "country": "US", "locale": "en_US", "currency": "USD", "original_principal": "200000.00",
    "annual_rate": "0.06", "term_months": "360", "origination_date": "2025-01-20",
    "first_payment_date": "2025-03-01", "interest_method": "30/360", "principal_balance": "197500.00",
    "next_due_date": "2026-02-01", "escrow_monthly": "250.00",
}  # fmt: skip


@pytest.fixture
def board(sessions: sessionmaker[Session]) -> Callable[[str], None]:
    """Return a helper that boards the mortgage with an escrow balance, and puts the tax and insurance bills on it."""

    def boarding(escrow_balance: str) -> None:
        record = parse_loan_row({**MID_LIFE, "escrow_balance": escrow_balance})
        with sessions() as session, session.begin():
            report = board_loans(session, [(2, record)], secret=SECRET, boarded_on=BOARDED_ON, actor="test")
            assert report.boarded == [LOAN]
            add_escrow_item(session, LOAN, kind="property_tax", payee="Kings County Treasurer",
                            amount=Decimal("2400.00"), next_due_date=date(2026, 3, 10), actor="test")  # fmt: skip
            add_escrow_item(session, LOAN, kind="hazard_insurance", payee="Acme Mutual", amount=Decimal("1200.00"),
                            next_due_date=date(2026, 7, 20), actor="test")  # fmt: skip

    return boarding


def policy_of(tmp_path: Path, **settings: str) -> AnalysisPolicy:
    """Return the escrow policy the servicer's configuration gives for these environment settings."""
    env = {"LOANLINE_SECRET_KEY": SECRET, "LOANLINE_INSTANCE_PATH": str(tmp_path), **settings}
    return Settings.from_env(env).escrow_policy()


def end_of_day(sessions: sessionmaker[Session], day: date, policy: AnalysisPolicy | None = None) -> DayResult:
    """Run end of day for one business date, with the servicer's default escrow settings unless given others."""
    with sessions() as session, session.begin():
        if policy is None:
            return run_business_day(session, day, "eod")
        return run_business_day(session, day, "eod", policy)


def pay(sessions: sessionmaker[Session], amount: str, received_on: date, reference: str) -> None:
    with sessions() as session, session.begin():
        post_manual_payment(session, LOAN, amount=Decimal(amount), received_on=received_on, reference=reference,
                            reason="borrower paid", actor="test", today=received_on)  # fmt: skip


def loan_row(sessions: sessionmaker[Session]) -> Loan:
    with sessions() as session:
        return session.scalars(select(Loan).where(Loan.loan_number == LOAN)).one()


def analyses(sessions: sessionmaker[Session]) -> list[EscrowAnalysis]:
    with sessions() as session:
        return list(session.scalars(select(EscrowAnalysis).order_by(EscrowAnalysis.id)))


def amount_due(sessions: sessionmaker[Session], as_of: date) -> Decimal:
    """Return the amount due the bot and the console show (both read the core's loan summary)."""
    with sessions() as session:
        return loan_summary(session, LOAN, as_of, today=as_of).amount_due


def escrow_ledger(sessions: sessionmaker[Session], kind: str) -> list[tuple[Any, ...]]:
    with sessions() as session:
        return list(
            session.execute(
                select(LedgerEntry.effective_date, LedgerEntry.escrow, LedgerEntry.memo)
                .where(LedgerEntry.kind == kind)
                .order_by(LedgerEntry.id)
            )
        )


def assert_ledger_agrees(sessions: sessionmaker[Session]) -> None:
    loan = loan_row(sessions)
    with sessions() as session:
        assert ledger_balances(session, [loan.id])[loan.id].escrow == loan.escrow_balance


# -- item 9: the analysis runs in end of day on the loan's analysis date ----------------------------------


def test_end_of_day_analyzes_an_escrowed_loan_on_its_analysis_date_and_changes_the_deposit_from_the_next_due_date(
    sessions: sessionmaker[Session], board: Callable[[str], None]
) -> None:
    board("2000.00")
    assert loan_row(sessions).escrow_analysis_on == ANALYSIS_DAY  # the day after the 1 February installment
    pay(sessions, "1449.10", FRIDAY_BEFORE, "feb")  # the February installment: 1,199.10 + 250.00 deposit
    assert end_of_day(sessions, FRIDAY_BEFORE).escrow_analyzed == 0
    assert analyses(sessions) == []
    # 2 February: A = 2,000 + 250 = 2,250; low point 2,250 - 2,100 = 150 in March; shortage 600 - 150 = 450,
    # more than a month's 250 deposit: spread over 12 months, 37.50; new deposit 300 + 37.50 = 337.50
    assert end_of_day(sessions, ANALYSIS_DAY).escrow_analyzed == 1
    loan = loan_row(sessions)
    assert (loan.escrow_monthly, loan.escrow_monthly_from, loan.escrow_previous_monthly) == (
        Decimal("337.50"),
        date(2026, 3, 1),  # the next due date
        Decimal("250.00"),
    )
    assert loan.escrow_analysis_on == date(2027, 2, 2)  # the year's last installment is due 1 February 2027
    assert amount_due(sessions, ANALYSIS_DAY) == P_AND_I + Decimal("337.50")  # the March installment: 1,536.60
    assert end_of_day(sessions, DAY_AFTER).escrow_analyzed == 0  # once a year
    (analysis,) = analyses(sessions)
    assert (analysis.analyzed_on, analysis.trigger, analysis.analyzed_by) == (ANALYSIS_DAY, "annual", "eod")
    with sessions() as session:
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "escrow.analyzed")).one()
    assert (audit.actor, audit.subject_id, audit.detail["trigger"], audit.detail["new_deposit"]) == (
        "eod",
        LOAN,
        "annual",
        "337.50",
    )


def test_the_analysis_keeps_the_annual_escrow_account_statement_as_data(
    sessions: sessionmaker[Session], board: Callable[[str], None]
) -> None:
    board("2000.00")
    pay(sessions, "1449.10", FRIDAY_BEFORE, "feb")
    end_of_day(sessions, ANALYSIS_DAY)
    statement = analyses(sessions)[0].statement
    figures = statement["figures"]
    assert (figures["starting_balance"], figures["lowest_balance"], figures["lowest_month"]) == (
        "2250.00",
        "150.00",
        "2026-03-01",
    )
    assert (figures["shortage"], figures["surplus"], figures["new_deposit"]) == ("450.00", "0.00", "337.50")
    assert statement["payments"] == {
        "principal_and_interest": "1199.10",
        "escrow_before": "250.00",
        "escrow_from_next_year": "337.50",
        "total_from_next_year": "1536.60",  # 1,199.10 + 337.50
        "new_payment_from": "2026-03-01",
    }
    months = statement["projection"]["months"]
    assert len(months) == 12
    assert (months[0]["starts_on"], months[0]["deposit"], months[0]["balance"]) == ("2026-03-01", "300.00", "150.00")
    assert months[0]["disbursements"] == [
        {"kind": "property_tax", "payee": "Kings County Treasurer", "due_date": "2026-03-10", "amount": "2400.00"}
    ]
    # last year's activity, a year back from the analysis (3 February 2025 on): the 2,000 boarded on
    # 15 January 2026 and the 250 deposit paid 30 January, both in January; nothing paid out
    history = statement["history"]
    assert (history["starts_on"], history["ends_on"], history["opening_balance"]) == (
        "2025-02-03",
        "2026-02-02",
        "0.00",
    )
    assert (history["deposits"], history["disbursements"], history["closing_balance"]) == ("2250.00", "0.00", "2250.00")
    assert [m["month"] for m in history["months"]][:2] == ["2025-02", "2025-03"]
    assert history["months"][-2:] == [
        {"month": "2026-01", "deposits": "2250.00", "disbursements": "0.00", "balance": "2250.00"},
        {"month": "2026-02", "deposits": "0.00", "disbursements": "0.00", "balance": "2250.00"},
    ]


def test_the_next_statement_shows_the_year_of_deposits_and_bills_since_the_last_analysis(
    sessions: sessionmaker[Session], board: Callable[[str], None]
) -> None:
    board("2000.00")
    pay(sessions, "1449.10", FRIDAY_BEFORE, "feb")
    end_of_day(sessions, ANALYSIS_DAY)
    pay(sessions, "1536.60", date(2026, 3, 2), "mar")  # 1,199.10 + the new 337.50
    end_of_day(sessions, date(2026, 3, 10))  # the tax: 2,250 + 337.50 - 2,400 = 187.50
    with sessions() as session, session.begin():
        run_escrow_analysis(session, LOAN, on=date(2026, 3, 10), actor="kim", reason="tax bill changed")
    history = analyses(sessions)[1].statement["history"]
    # from the day after the last analysis (3 February): March's 337.50 in and 2,400 out
    assert (history["starts_on"], history["opening_balance"], history["closing_balance"]) == (
        "2026-02-03",
        "2250.00",
        "187.50",
    )
    assert history["months"] == [
        {"month": "2026-02", "deposits": "0.00", "disbursements": "0.00", "balance": "2250.00"},
        {"month": "2026-03", "deposits": "337.50", "disbursements": "2400.00", "balance": "187.50"},
    ]


def test_an_on_demand_analysis_starts_a_new_computation_year(
    sessions: sessionmaker[Session], board: Callable[[str], None]
) -> None:
    board("2000.00")
    pay(sessions, "1449.10", FRIDAY_BEFORE, "feb")
    end_of_day(sessions, FRIDAY_BEFORE)
    # on demand on 30 January: the year runs from the 1 February installment, already paid (no deposit
    # projected for it): Feb 2,250, Mar 2,250 + 300 - 2,400 = 150 ... the same low point of 150, shortage 450
    with sessions() as session, session.begin():
        statement = run_escrow_analysis(session, LOAN, on=FRIDAY_BEFORE, actor="kim", reason="new tax bill")
    assert (statement.computation_year_starts, statement.shortage) == (date(2026, 2, 1), Decimal("450.00"))
    loan = loan_row(sessions)
    assert loan.escrow_analysis_on == date(2027, 1, 2)  # the day after the year's last due date, 1 January 2027
    assert end_of_day(sessions, ANALYSIS_DAY).escrow_analyzed == 0  # not again on the old date
    (analysis,) = analyses(sessions)
    assert (analysis.trigger, analysis.analyzed_by, analysis.reason) == ("on_demand", "kim", "new tax bill")


# -- item 10: surplus refunded or credited, shortage and deficiency billed -------------------------------------


def test_a_surplus_of_50_or_more_is_refunded_at_the_analysis_when_the_loan_is_current(
    sessions: sessionmaker[Session], board: Callable[[str], None]
) -> None:
    board("3000.00")
    pay(sessions, "1449.10", FRIDAY_BEFORE, "feb")
    end_of_day(sessions, ANALYSIS_DAY)
    # A = 3,250: low point 3,250 - 2,100 = 1,150; surplus 1,150 - 600 = 550, refunded on the analysis
    # day (well within the 30 days: due by 4 March); the deposit is the base 300
    assert escrow_ledger(sessions, "escrow_disbursement") == [(ANALYSIS_DAY, Decimal("-550.00"), REFUND_MEMO)]
    loan = loan_row(sessions)
    assert (loan.escrow_balance, loan.escrow_monthly) == (Decimal("2700.00"), Decimal("300.00"))
    figures = analyses(sessions)[0].statement["figures"]
    assert (figures["refund"], figures["refund_due_on"]) == ("550.00", "2026-03-04")
    assert_ledger_agrees(sessions)


@pytest.mark.parametrize(
    ("setting", "refunded", "deposit"),
    [
        # credit: 40 / 12 = 3.333, rounded down to 3.33 a month off next year's deposits: 300 - 3.33
        ("credit", [], Decimal("296.67")),
        # refund: the 40 goes back now, the deposit is the base 300
        ("refund", [(ANALYSIS_DAY, Decimal("-40.00"), REFUND_MEMO)], Decimal("300.00")),
    ],
)
def test_a_surplus_under_50_is_refunded_or_credited_against_next_years_deposits_by_the_portfolio_setting(
    sessions: sessionmaker[Session],
    board: Callable[[str], None],
    tmp_path: Path,
    setting: str,
    refunded: list[tuple[Any, ...]],
    deposit: Decimal,
) -> None:
    board("2490.00")
    pay(sessions, "1449.10", FRIDAY_BEFORE, "feb")
    # A = 2,490 + 250 = 2,740: low point 2,740 - 2,100 = 640; surplus 640 - 600 = 40, under 50
    end_of_day(sessions, ANALYSIS_DAY, policy_of(tmp_path, LOANLINE_ESCROW_SMALL_SURPLUS=setting))
    assert escrow_ledger(sessions, "escrow_disbursement") == refunded
    assert loan_row(sessions).escrow_monthly == deposit
    assert amount_due(sessions, ANALYSIS_DAY) == P_AND_I + deposit  # the March installment
    assert_ledger_agrees(sessions)


def test_an_unknown_small_surplus_setting_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="LOANLINE_ESCROW_SMALL_SURPLUS='keep': expected one of refund, credit"):
        policy_of(tmp_path, LOANLINE_ESCROW_SMALL_SURPLUS="keep")
    with pytest.raises(InvalidInput, match="LOANLINE_ESCROW_SMALL_SHORTAGE='bill': expected one of spread, collect"):
        policy_of(tmp_path, LOANLINE_ESCROW_SMALL_SHORTAGE="bill")


def test_a_small_shortage_is_spread_over_twelve_months_by_default(
    sessions: sessionmaker[Session], board: Callable[[str], None], tmp_path: Path
) -> None:
    board("2350.00")
    pay(sessions, "1449.10", FRIDAY_BEFORE, "feb")
    # A = 2,600: low point 500; shortage 100, under the 250 deposit: 100 / 12 = 8.33 on each deposit
    end_of_day(sessions, ANALYSIS_DAY, policy_of(tmp_path))
    loan = loan_row(sessions)
    assert (loan.escrow_monthly, loan.escrow_shortage_due) == (Decimal("308.33"), Decimal("0.00"))
    assert escrow_ledger(sessions, "escrow_billed") == []


def test_a_small_shortage_billed_within_30_days_is_owed_shown_and_collected_into_escrow_by_the_waterfall(
    sessions: sessionmaker[Session], board: Callable[[str], None], tmp_path: Path
) -> None:
    board("2350.00")
    pay(sessions, "1449.10", FRIDAY_BEFORE, "feb")
    # A = 2,600: low point 500; shortage 100 under the 250 deposit: billed, due 2 February + 30 = 4 March
    end_of_day(sessions, ANALYSIS_DAY, policy_of(tmp_path, LOANLINE_ESCROW_SMALL_SHORTAGE="collect"))
    loan = loan_row(sessions)
    assert (loan.escrow_monthly, loan.escrow_shortage_due, loan.escrow_shortage_due_on) == (
        Decimal("300.00"),  # nothing spread
        Decimal("100.00"),
        date(2026, 3, 4),
    )
    assert escrow_ledger(sessions, "escrow_billed") == [
        (ANALYSIS_DAY, Decimal("0.00"), "escrow shortage of 100.00 billed, due 2026-03-04 (Reg X 1024.17(f))")
    ]
    # owed now: the March installment 1,199.10 + 300 and the 100 billed
    assert amount_due(sessions, ANALYSIS_DAY) == Decimal("1599.10")
    with sessions() as session:
        assert escrow_summary(session, LOAN).shortage_billed == Decimal("100.00")
    # 100 paid on 9 February: no installment is due, so the waterfall puts it on the bill, into escrow
    pay(sessions, "100.00", date(2026, 2, 9), "shortage")
    assert escrow_ledger(sessions, "escrow_deposit")[1:] == [  # after the boarded balance
        (date(2026, 2, 9), Decimal("100.00"), "billed escrow shortage paid into escrow")
    ]
    loan = loan_row(sessions)
    assert (loan.escrow_balance, loan.escrow_shortage_due, loan.suspense_balance) == (
        Decimal("2700.00"),  # 2,600 + 100: the account is balanced
        Decimal("0.00"),
        Decimal("0.00"),
    )
    assert amount_due(sessions, date(2026, 2, 9)) == P_AND_I + Decimal("300.00")
    # the payment comes back: the bill is owed again, and the escrow loses the 100
    with sessions() as session, session.begin():
        reverse_loan_payment(session, LOAN, "shortage", reason="returned", actor="test", today=date(2026, 2, 10))
    loan = loan_row(sessions)
    assert (loan.escrow_balance, loan.escrow_shortage_due) == (Decimal("2600.00"), Decimal("100.00"))
    assert_ledger_agrees(sessions)


def test_an_installment_and_the_billed_shortage_paid_together_fill_both(
    sessions: sessionmaker[Session], board: Callable[[str], None], tmp_path: Path
) -> None:
    board("2350.00")
    pay(sessions, "1449.10", FRIDAY_BEFORE, "feb")
    end_of_day(sessions, ANALYSIS_DAY, policy_of(tmp_path, LOANLINE_ESCROW_SMALL_SHORTAGE="collect"))
    # 1 March: 1,599.10 pays the March installment (1,199.10 + 300) and the 100 billed:
    # escrow 2,600 + 300 + 100 = 3,000
    pay(sessions, "1599.10", date(2026, 3, 1), "mar")
    loan = loan_row(sessions)
    assert (loan.escrow_balance, loan.escrow_shortage_due, loan.installments_paid) == (
        Decimal("3000.00"),
        Decimal("0.00"),
        13,
    )
    assert_ledger_agrees(sessions)


def test_a_small_deficiency_is_billed_likewise_and_the_large_shortage_spread(
    sessions: sessionmaker[Session], board: Callable[[str], None], tmp_path: Path
) -> None:
    board("-300.00")  # boarded with 300 advanced by the previous servicer
    pay(sessions, "1449.10", FRIDAY_BEFORE, "feb")
    # A = -300 + 250 = -50: a deficiency of 50, under the 250 deposit: billed within 30 days.
    # Low point -50 - 2,100 = -2,150; the gap to the cushion 600 + 2,150 = 2,750 less the deficiency:
    # a shortage of 2,700, more than a month's deposit: spread, 2,700 / 12 = 225.00; deposit 300 + 225 = 525
    end_of_day(sessions, ANALYSIS_DAY, policy_of(tmp_path, LOANLINE_ESCROW_SMALL_SHORTAGE="collect"))
    loan = loan_row(sessions)
    assert (loan.escrow_shortage_due, loan.escrow_monthly) == (Decimal("50.00"), Decimal("525.00"))
    ((_, _, memo),) = escrow_ledger(sessions, "escrow_billed")
    assert memo == "escrow deficiency of 50.00 billed, due 2026-03-04 (Reg X 1024.17(f))"
    assert amount_due(sessions, ANALYSIS_DAY) == P_AND_I + Decimal("525.00") + Decimal("50.00")


def test_a_second_analysis_does_not_bill_an_unpaid_shortage_again(
    sessions: sessionmaker[Session], board: Callable[[str], None], tmp_path: Path
) -> None:
    board("2350.00")
    pay(sessions, "1449.10", FRIDAY_BEFORE, "feb")
    policy = policy_of(tmp_path, LOANLINE_ESCROW_SMALL_SHORTAGE="collect")
    end_of_day(sessions, ANALYSIS_DAY, policy)
    # the next day, on demand: 2,600 held and 100 billed still owed count as 2,700: balanced, nothing new
    with sessions() as session, session.begin():
        statement = run_escrow_analysis(session, LOAN, on=DAY_AFTER, actor="kim", policy=policy, reason="check")
    assert (statement.billed_unpaid, statement.shortage, statement.collect_amount) == (
        Decimal("100.00"),
        Decimal("0.00"),
        Decimal("0.00"),
    )
    assert loan_row(sessions).escrow_shortage_due == Decimal("100.00")


# -- item 11: past-due installments at the analysis --------------------------------------------------------


def test_a_past_due_installments_deposit_counts_as_expected_and_it_keeps_its_old_amount(
    sessions: sessionmaker[Session], board: Callable[[str], None]
) -> None:
    board("2000.00")
    end_of_day(sessions, FRIDAY_BEFORE)
    # On demand on 2 February with the 1 February installment unpaid (1 day past due, still current):
    # its 250 deposit is owed to the account, so A = 2,000 + 250 = 2,250 as if it had been paid: low point
    # 150, shortage 450, new deposit 337.50. Ignoring it would take A = 2,000: low point -100, shortage
    # 700 and a deposit of 300 + 58.33 = 358.33, the shortage overstated by the 250 on its way.
    with sessions() as session, session.begin():
        statement = run_escrow_analysis(session, LOAN, on=ANALYSIS_DAY, actor="kim")
    assert (statement.shortage, statement.new_deposit) == (Decimal("450.00"), Decimal("337.50"))
    # the February installment keeps its 250 deposit: 1,199.10 + 250 = 1,449.10 is what is due for it
    assert amount_due(sessions, ANALYSIS_DAY) == Decimal("1449.10")
    pay(sessions, "1449.10", date(2026, 2, 5), "feb")
    loan = loan_row(sessions)
    assert (loan.installments_paid, loan.suspense_balance, loan.escrow_balance) == (
        12,  # paid in full, nothing held in suspense
        Decimal("0.00"),
        Decimal("2250.00"),
    )
    with sessions() as session:
        feb = session.scalars(select(Installment).where(Installment.due_date == date(2026, 2, 1))).one()
    assert feb.escrow == Decimal("250.00")
    # and March, the first installment of the new computation year, carries the new deposit
    assert amount_due(sessions, date(2026, 2, 5)) == P_AND_I + Decimal("337.50")


def test_end_of_day_counts_the_installments_past_due_and_a_delinquent_borrower_keeps_the_surplus(
    sessions: sessionmaker[Session], board: Callable[[str], None]
) -> None:
    board("3000.00")
    # no payment: on 2 February the 1 February installment is past due. A = 3,000 + its 250 = 3,250:
    # low point 1,150, surplus 550; one day past due is current (Reg X: within 30 days), but the refund
    # never exceeds the 3,000 held, and 550 is under it: refunded
    end_of_day(sessions, FRIDAY_BEFORE)
    end_of_day(sessions, ANALYSIS_DAY)
    figures = analyses(sessions)[0].statement["figures"]
    assert (figures["past_due_deposits"], figures["surplus"], figures["refund"]) == ("250.00", "550.00", "550.00")
    loan = loan_row(sessions)
    assert (loan.escrow_balance, loan.escrow_previous_monthly, loan.escrow_monthly) == (
        Decimal("2450.00"),  # 3,000 - 550
        Decimal("250.00"),  # the February installment's deposit
        Decimal("300.00"),
    )
    assert amount_due(sessions, ANALYSIS_DAY) == Decimal("1449.10")  # February at its old 250


def test_a_paid_off_loan_is_not_analyzed_and_its_date_moves_a_year_on(
    sessions: sessionmaker[Session], board: Callable[[str], None]
) -> None:
    board("2000.00")
    with sessions() as session:
        total = payoff_for(session, LOAN, FRIDAY_BEFORE, today=FRIDAY_BEFORE).total
    pay(sessions, str(total), FRIDAY_BEFORE, "payoff")
    assert loan_row(sessions).status == "paid_off"
    assert end_of_day(sessions, ANALYSIS_DAY).escrow_analyzed == 0
    assert analyses(sessions) == []
    assert loan_row(sessions).escrow_analysis_on == date(2027, 2, 2)  # not read again every day
