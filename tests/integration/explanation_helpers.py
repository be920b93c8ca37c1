"""The ledgers the explanation tests read back: each built by the core's own use cases, in any currency.

The loan is tests.integration.helpers' mortgage (150,000 at 5.5% over 360 months, first due 1 February 2026,
escrow 200 a month, 15 days of grace) with every amount times `scale`, so the figures look like the currency's.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from servicing.eod import run_eod
from servicing.escrow import add_escrow_item, run_escrow_analysis
from servicing.manual_payments import post_manual_payment, reverse_loan_payment
from servicing.rules.calendar import business_days_between
from servicing.rules.escrow import EscrowStatement
from servicing.rules.money import to_money
from servicing.store.accounts import load_account
from servicing.store.models import Fee, Loan

FEB_1, MAR_1, APR_1 = date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)
ANALYZED_ON = date(2026, 3, 2)


def installment(sessions: sessionmaker[Session], loan: str) -> Decimal:
    """Return what the loan's next unpaid installment costs now (principal, interest and escrow)."""
    with sessions() as session:
        account = load_account(session, loan)
        assert account is not None
        return account.installment_amount(account.next_installment)


def pay(sessions: sessionmaker[Session], loan: str, amount: Decimal, on: date, reference: str) -> None:
    """Post a payment received on a day, as a specialist does from the console."""
    with sessions.begin() as session:
        post_manual_payment(session, loan, amount=amount, received_on=on, reference=reference, reason="received",
                            actor="test", today=on)  # fmt: skip


def currency_of(sessions: sessionmaker[Session], loan: str) -> str:
    with sessions() as session:
        currency = session.scalar(select(Loan.currency).where(Loan.loan_number == loan))
        assert currency is not None
        return currency


def partial_payment_held(sessions: sessionmaker[Session], loan: str) -> Decimal:
    """Pay February and March on time, then half of April's installment on 19 March; return the half."""
    pay(sessions, loan, installment(sessions, loan), date(2026, 1, 30), "feb")
    pay(sessions, loan, installment(sessions, loan), date(2026, 2, 27), "mar")
    half = to_money(installment(sessions, loan) / 2, currency_of(sessions, loan))
    pay(sessions, loan, half, date(2026, 3, 19), "half")
    return half


def late_fee_charged(sessions: sessionmaker[Session], loan: str, country: str) -> Fee:
    """Run end of day past February's grace period without a payment: the late fee it charges.

    End of day runs through 20 February, or the country's first business day after it: Vietnam's banks close
    for Tet from 14 to 22 February 2026, so its late fees are charged on the 23rd.
    """
    [first, *_] = business_days_between(date(2026, 2, 19), date(2026, 3, 6), country)
    run_eod(sessions, first, country=country)
    with sessions() as session:
        fee = session.scalar(select(Fee).join(Loan, Loan.id == Fee.loan_id).where(Loan.loan_number == loan))
        assert fee is not None
        session.expunge(fee)
        return fee


def two_installments_and_a_fee(sessions: sessionmaker[Session], loan: str, country: str) -> tuple[Fee, Decimal]:
    """Charge February's late fee, then pay February, March and the fee at once on 10 March; return fee, amount."""
    fee = late_fee_charged(sessions, loan, country)
    with sessions() as session:
        account = load_account(session, loan)
        assert account is not None
        amount = account.amount_due(date(2026, 3, 10))
    pay(sessions, loan, amount, date(2026, 3, 10), "catch-up")
    return fee, amount


def returned_payment(sessions: sessionmaker[Session], loan: str) -> Decimal:
    """Pay February's installment on 30 January; the bank returns it on 3 February. Return the amount."""
    amount = installment(sessions, loan)
    pay(sessions, loan, amount, date(2026, 1, 30), "returned")
    with sessions.begin() as session:
        reverse_loan_payment(session, loan, "returned", reason="insufficient funds", actor="test",
                             today=date(2026, 2, 3))  # fmt: skip
    return amount


def escrow_shortage(sessions: sessionmaker[Session], loan: str, scale: int = 1) -> EscrowStatement:
    """Put a tax bill and an insurance bill on the escrow account and analyze it on 2 March: a shortage, spread."""
    with sessions.begin() as session:
        add_escrow_item(session, loan, kind="property_tax", payee="County Treasurer",
                        amount=Decimal(2400 * scale), next_due_date=date(2026, 4, 10), actor="test")  # fmt: skip
        add_escrow_item(session, loan, kind="hazard_insurance", payee="Acme Mutual",
                        amount=Decimal(1200 * scale), next_due_date=date(2026, 7, 20), actor="test")  # fmt: skip
        return run_escrow_analysis(session, loan, on=ANALYZED_ON, actor="test", reason="bills changed")
