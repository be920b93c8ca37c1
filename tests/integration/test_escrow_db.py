"""Escrow against a real database: bills added, paid by end of day, analyzed, summarized.

The loan: a USD mortgage originated 15 January 2026, first installment due 1 March 2026 (then the
1st of each month), boarded with 500.00 in escrow and a 250.00 monthly deposit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from servicing.boarding import board_loans, parse_loan_row
from servicing.eod import run_business_day
from servicing.errors import InvalidInput, LoanNotFound, ServicingError
from servicing.escrow import REFUND_MEMO, add_escrow_item, escrow_summary, run_escrow_analysis
from servicing.rules.escrow import EscrowKind
from servicing.store.accounts import ledger_balances
from servicing.store.models import AuditEntry, EscrowItem, LedgerEntry, Loan

MORTGAGE = {
    "loan_number": "M-1001", "product": "mortgage", "borrower_first_name": "Ana",
    "borrower_last_name": "Silva", "date_of_birth": "1980-05-04", "tax_id_last4": "1234",
    "phone": "+15551230001", "postal_code": "10001", "country": "US", "locale": "en_US",
    "currency": "USD", "original_principal": "200000.00", "annual_rate": "0.06", "term_months": "360",
    "origination_date": "2026-01-15", "first_payment_date": "2026-03-01", "interest_method": "30/360",
    "escrow_monthly": "250.00", "escrow_balance": "500.00",
}  # fmt: skip
PERSONAL = {
    **MORTGAGE, "loan_number": "P-2001", "product": "personal", "phone": "+15551230002",
    "interest_method": "actual/365", "escrow_monthly": "", "escrow_balance": "",
}  # fmt: skip


@pytest.fixture
def board(sessions: sessionmaker[Session]) -> Callable[..., None]:
    """Return a helper that boards the mortgage (or a variant of it) on 15 January 2026."""

    def boarding(**changes: str) -> None:
        record = parse_loan_row({**MORTGAGE, **changes})
        with sessions() as session, session.begin():
            report = board_loans(session, [(2, record)], secret="s", boarded_on=date(2026, 1, 15), actor="test")
        assert report.boarded == [record.loan_number]

    return boarding


def add_bill(sessions: sessionmaker[Session], loan_number: str = "M-1001", **fields: Any) -> int:
    values: dict[str, Any] = {
        "kind": "property_tax",
        "payee": "Kings County Treasurer",
        "amount": Decimal("2400.00"),
        "next_due_date": date(2026, 3, 10),
        **fields,
    }
    with sessions() as session, session.begin():
        return add_escrow_item(session, loan_number, actor="specialist:kim", **values).id


def add_insurance(sessions: sessionmaker[Session], **fields: Any) -> int:
    insurance = {
        "kind": "hazard_insurance",
        "payee": "Acme Mutual",
        "amount": Decimal("1200.00"),
        "next_due_date": date(2026, 7, 20),
    }
    return add_bill(sessions, **{**insurance, **fields})


def run_eod_on(sessions: sessionmaker[Session], day: date) -> None:
    with sessions() as session, session.begin():
        run_business_day(session, day, "eod")


def escrow_on_row_and_ledger(sessions: sessionmaker[Session], loan_number: str = "M-1001") -> tuple[Decimal, Decimal]:
    with sessions() as session:
        loan = session.scalars(select(Loan).where(Loan.loan_number == loan_number)).one()
        return loan.escrow_balance, ledger_balances(session, [loan.id])[loan.id].escrow


def test_end_of_day_pays_a_bill_on_its_due_date_from_escrow(
    sessions: sessionmaker[Session], board: Callable[..., None]
) -> None:
    board()
    item_id = add_bill(sessions, kind="hazard_insurance", payee="Acme Mutual", amount=Decimal("300.00"),
                       next_due_date=date(2026, 3, 5))  # fmt: skip
    run_eod_on(sessions, date(2026, 3, 4))
    assert escrow_on_row_and_ledger(sessions) == (Decimal("500.00"), Decimal("500.00"))  # not due yet
    run_eod_on(sessions, date(2026, 3, 5))
    assert escrow_on_row_and_ledger(sessions) == (Decimal("200.00"), Decimal("200.00"))  # 500 - 300
    with sessions() as session:
        item = session.get(EscrowItem, item_id)
        assert item is not None
        assert (item.last_paid_on, item.next_due_date) == (date(2026, 3, 5), date(2027, 3, 5))


def test_end_of_day_advances_a_bill_the_escrow_account_cannot_cover(
    sessions: sessionmaker[Session], board: Callable[..., None]
) -> None:
    board()
    add_bill(sessions)  # tax 2,400 due 10 March
    run_eod_on(sessions, date(2026, 3, 10))
    # 500 - 2,400 = -1,900: the servicer advanced 1,900, and the ledger's escrow column agrees
    assert escrow_on_row_and_ledger(sessions) == (Decimal("-1900.00"), Decimal("-1900.00"))
    with sessions() as session:
        summary = escrow_summary(session, "M-1001")
    assert summary.advance == Decimal("1900.00")


def test_the_escrow_summary_says_when_the_taxes_were_paid_and_what_is_next(
    sessions: sessionmaker[Session], board: Callable[..., None]
) -> None:
    board()
    add_bill(sessions)
    add_insurance(sessions)
    run_eod_on(sessions, date(2026, 3, 10))
    with sessions() as session:
        summary = escrow_summary(session, "M-1001")
    paid = summary.last_disbursement
    assert paid is not None
    assert (paid.kind, paid.payee, paid.paid_on, paid.amount) == (
        EscrowKind.PROPERTY_TAX,
        "Kings County Treasurer",
        date(2026, 3, 10),
        Decimal("2400.00"),
    )
    upcoming = summary.next_disbursement
    assert upcoming is not None
    assert (upcoming.kind, upcoming.next_due_date) == (EscrowKind.HAZARD_INSURANCE, date(2026, 7, 20))
    assert [i.kind for i in summary.items] == [EscrowKind.HAZARD_INSURANCE, EscrowKind.PROPERTY_TAX]
    assert (summary.balance, summary.monthly_deposit) == (Decimal("-1900.00"), Decimal("250.00"))


def test_an_analysis_saves_the_new_deposit_and_audits_the_statement(
    sessions: sessionmaker[Session], board: Callable[..., None]
) -> None:
    board()
    add_bill(sessions)
    add_insurance(sessions)
    # analysis 15 February: the year runs from the 1 March 2026 installment to February 2027;
    # 3,600 a year: base 300, cushion 600. Mar 500 + 300 - 2,400 = -1,600 is the low point
    # (July is 500 + 5 x 300 - 3,600 = -1,600 again): shortage 600 + 1,600 = 2,200, more than
    # the 250 deposit, spread over 12: 183.33; new deposit 300 + 183.33 = 483.33
    with sessions() as session, session.begin():
        statement = run_escrow_analysis(session, "M-1001", on=date(2026, 2, 15), actor="specialist:kim")
    assert (statement.lowest_balance, statement.lowest_month) == (Decimal("-1600.00"), date(2026, 3, 1))
    assert statement.shortage == Decimal("2200.00")
    assert statement.new_deposit == Decimal("483.33")
    with sessions() as session:
        loan = session.scalars(select(Loan).where(Loan.loan_number == "M-1001")).one()
        assert loan.escrow_monthly == Decimal("483.33")
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "escrow.analyzed")).one()
    assert (audit.actor, audit.subject_id) == ("specialist:kim", "M-1001")
    assert audit.detail["new_deposit"] == "483.33"
    assert audit.detail["shortage"] == "2200.00"
    assert escrow_on_row_and_ledger(sessions) == (Decimal("500.00"), Decimal("500.00"))  # no refund


def test_a_current_borrowers_surplus_is_refunded_and_the_ledger_still_agrees(
    sessions: sessionmaker[Session], board: Callable[..., None]
) -> None:
    board(escrow_balance="3000.00")
    add_bill(sessions)
    add_insurance(sessions)
    # low point: March 3,000 + 300 - 2,400 = 900; cushion 600: surplus 300, loan current: refunded
    with sessions() as session, session.begin():
        statement = run_escrow_analysis(session, "M-1001", on=date(2026, 2, 15), actor="specialist:kim")
    assert (statement.surplus, statement.refund) == (Decimal("300.00"), Decimal("300.00"))
    assert statement.refund_due_on == date(2026, 3, 17)  # 15 February + 30 days
    assert statement.new_deposit == Decimal("300.00")
    assert escrow_on_row_and_ledger(sessions) == (Decimal("2700.00"), Decimal("2700.00"))  # 3,000 - 300
    with sessions() as session:
        refund = session.scalars(select(LedgerEntry).where(LedgerEntry.memo == REFUND_MEMO)).one()
        assert (refund.kind, refund.escrow, refund.effective_date) == (
            "escrow_disbursement",
            Decimal("-300.00"),
            date(2026, 2, 15),
        )
        assert escrow_summary(session, "M-1001").last_disbursement is None  # a refund is not a bill paid


def test_a_delinquent_borrowers_surplus_stays_in_escrow(
    sessions: sessionmaker[Session], board: Callable[..., None]
) -> None:
    board(escrow_balance="3000.00")
    add_bill(sessions, next_due_date=date(2027, 3, 10))
    add_insurance(sessions)
    # 15 April with the 1 March installment unpaid: 45 days past due, not current under Reg X.
    # The 1 March and 1 April installments are past due: their 250 deposits count as expected,
    # 3,000 + 2 x 250 = 3,500. Year May 2026 to April 2027; July 3,500 + 3 x 300 - 1,200 = 3,200 is
    # the low point; surplus 3,200 - 600 = 2,600 is kept
    with sessions() as session, session.begin():
        statement = run_escrow_analysis(session, "M-1001", on=date(2026, 4, 15), actor="specialist:kim")
    assert (statement.is_current, statement.past_due_deposits, statement.surplus, statement.refund) == (
        False,
        Decimal("500.00"),
        Decimal("2600.00"),
        Decimal("0.00"),
    )
    assert escrow_on_row_and_ledger(sessions) == (Decimal("3000.00"), Decimal("3000.00"))


BAD_BILLS: list[tuple[dict[str, Any], type[ServicingError], str]] = [
    ({"kind": "water_bill"}, InvalidInput, "not one of property_tax"),
    ({"payee": "  "}, InvalidInput, "payee: missing"),
    ({"amount": 2400.0}, InvalidInput, "expected a Decimal"),
    ({"amount": Decimal("2400.001")}, InvalidInput, "more decimals than USD"),
    ({"amount": Decimal("-5.00")}, InvalidInput, "must be positive"),
    ({"frequency_months": 5}, InvalidInput, "frequency_months"),
    ({"loan_number": "P-2001"}, InvalidInput, "only mortgages carry escrow"),
    ({"loan_number": "X-404"}, LoanNotFound, "unknown loan X-404"),
]


@pytest.mark.parametrize(("change", "error", "reason"), BAD_BILLS)
def test_a_bad_escrow_bill_is_refused_with_a_reason_and_changes_nothing(
    sessions: sessionmaker[Session],
    board: Callable[..., None],
    change: dict[str, Any],
    error: type[ServicingError],
    reason: str,
) -> None:
    board()
    board(**PERSONAL)
    with pytest.raises(error, match=reason):
        add_bill(sessions, **change)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(EscrowItem)) == 0
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_the_same_bill_twice_and_a_bill_due_before_the_business_date_are_refused(
    sessions: sessionmaker[Session], board: Callable[..., None]
) -> None:
    board()
    add_bill(sessions)
    with pytest.raises(InvalidInput, match="already on loan M-1001"):
        add_bill(sessions)
    run_eod_on(sessions, date(2026, 3, 2))
    with pytest.raises(InvalidInput, match="not after the business date 2026-03-02"):
        add_insurance(sessions, next_due_date=date(2026, 3, 2))
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(EscrowItem)) == 1


def test_a_loan_without_escrow_cannot_be_analyzed(sessions: sessionmaker[Session], board: Callable[..., None]) -> None:
    board(escrow_monthly="", escrow_balance="")
    with sessions() as session, pytest.raises(InvalidInput, match="no escrow account"):
        run_escrow_analysis(session, "M-1001", on=date(2026, 2, 15), actor="specialist:kim")
