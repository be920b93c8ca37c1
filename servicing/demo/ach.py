"""The demo's ACH: a full bank account behind each US-dollar loan's last 4 digits, autopay, and the next file.

Every current loan whose next installment can be drafted on the demo's next business day (the default effective
date of `loanline ach export`) is enrolled to draft on it; a few current mortgages are enrolled to draft on their
due date; and two current loans have a one-time payment scheduled for the next business day, so that the demo's
next file always carries a few debits to return.

Idempotent: a loan with an account already on file is left alone. The account numbers are made up (the
routing number is the demo originator's own, 091000019) and kept encrypted like any other.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from servicing.ach.accounts import add_bank_account, check_bank_details
from servicing.ach.autopay import (
    MAX_DAYS_BEFORE,
    AmountKind,
    AutopayTerms,
    autopay_offer,
    draft_day,
    enrol_autopay,
)
from servicing.ach.origination import default_effective_date
from servicing.ach.vault import Vault
from servicing.queries import current_date, require_account
from servicing.rules.schedule import due_dates_between
from servicing.scheduled import schedule_payment
from servicing.store.models import BankAccount, Loan

DEMO_ROUTING = "091000019"
DEMO_AUTOPAY_LOANS = 4  # at most this many loans draft on the next business day
DEMO_AUTOPAY_ON_DUE_DATE = 2  # current loans enrolled to draft on their due date
DEMO_ONE_TIME = 2  # current loans with a one-time payment on the next business day
ACTOR = "demo"


def load_demo_ach(
    sessions: sessionmaker[Session], loan_numbers: Sequence[str], *, vault: Vault, country: str, servicer: str,
    phone: str,
) -> int:  # fmt: skip
    """Put the demo's bank accounts on file, enrol autopay and schedule the next file's debits (once).

    Returns how many autopay loans draft on the next business day.
    """
    with sessions() as session, session.begin():
        loans = session.scalars(
            select(Loan).where(Loan.loan_number.in_(list(loan_numbers)), Loan.currency == "USD",
                               Loan.status == "active", Loan.bank_account_last4.is_not(None))
            .order_by(Loan.loan_number)
        ).all()  # fmt: skip
        ids = [loan.id for loan in loans]
        banked = set(session.scalars(select(BankAccount.loan_id).where(BankAccount.loan_id.in_(ids))))
        fresh = [loan for loan in loans if loan.id not in banked]
        for loan in fresh:
            number = f"40{''.join(c for c in loan.loan_number if c.isdigit())}{loan.bank_account_last4}"
            add_bank_account(session, loan.loan_number, check_bank_details(DEMO_ROUTING, number, "checking"),
                             vault=vault, actor=ACTOR, source="boarding")  # fmt: skip
        if not fresh:
            return 0
        business = current_date(session, datetime.now(UTC).date())
        effective = default_effective_date(business, country)
        drafting = [
            (loan, d) for loan in fresh if (d := _days_before_to_draft_on(loan, effective, country)) is not None
        ]
        current = [loan for loan in fresh if loan.days_past_due == 0 and loan not in {x for x, _ in drafting}]
        enrolled = drafting[:DEMO_AUTOPAY_LOANS] + [(loan, 0) for loan in current[:DEMO_AUTOPAY_ON_DUE_DATE]]
        for loan, days_before in enrolled:
            terms = AutopayTerms(AmountKind.DUE, days_before=days_before)
            offer = autopay_offer(session, loan.loan_number, terms, servicer=servicer, phone=phone)
            enrol_autopay(session, offer, terms, channel="console_written", actor=ACTOR, now=datetime.now(UTC),
                          send_copy=False)  # fmt: skip
        for loan in current[DEMO_AUTOPAY_ON_DUE_DATE : DEMO_AUTOPAY_ON_DUE_DATE + DEMO_ONE_TIME]:
            account = require_account(session, loan.loan_number)
            schedule_payment(session, loan.loan_number, amount=account.amount_due(account.next_due_date),
                             pay_on=effective, today=business, via="console", actor=ACTOR)  # fmt: skip
        return len(drafting[:DEMO_AUTOPAY_LOANS])


def _days_before_to_draft_on(loan: Loan, effective: date, country: str) -> int | None:
    """Return how many days before its next installment a current loan must draft to draft on `effective`."""
    for due in due_dates_between(loan.schedule_anchor, effective, effective + timedelta(days=MAX_DAYS_BEFORE)):
        if loan.next_due_date != due:
            continue
        for days_before in range(MAX_DAYS_BEFORE + 1):
            if draft_day(due, days_before, country) == effective:
                return days_before
    return None
