"""The demo portfolio: what it holds at the anchor date, and that loading it is deterministic and idempotent.

Loading takes a few seconds, so the portfolio is loaded once per backend (the module fixture `demo`,
the same backends as the `sessions` fixture) and the checks read it; the determinism check loads it
again into a fresh SQLite file, which on the PostgreSQL run also proves both backends agree.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from babel import Locale
from babel.core import get_global
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from servicing.demo.portfolio import DemoRefused, borrower_table_markdown, load_demo
from servicing.queries import loan_summary
from servicing.rules.delinquency import BUCKETS
from servicing.store.accounts import ledger_balances
from servicing.store.db import make_engine, make_session_factory
from servicing.store.migrate import upgrade_database
from servicing.store.models import (
    AuditEntry,
    Borrower,
    BusinessDay,
    Case,
    ContactDecision,
    EscrowItem,
    Fee,
    LedgerEntry,
    Loan,
    Payment,
    Promise,
    Workout,
    utcnow,
)
from tests.conftest import BACKENDS, POSTGRES_URL, SECRET

AS_OF = date(2026, 11, 2)
DOCS = Path(__file__).parent.parent.parent / "docs" / "demo.md"
LOCALES = {"en_US", "es_US", "fr_CA", "pt_BR", "de_DE", "it_IT", "hi_IN", "id_ID", "zh_Hans_US", "vi_US", "ko_US",
           "fil_US", "ar_EG", "ar_SA"}  # fmt: skip


@contextmanager
def fresh_database(backend: str, folder: Path) -> Iterator[Engine]:
    """Yield an engine on an empty, migrated database: a SQLite file, or a throwaway PostgreSQL schema."""
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{folder / 'demo.db'}")
        upgrade_database(engine)
        yield engine
        engine.dispose()
        return
    assert POSTGRES_URL is not None
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in POSTGRES_URL else "?"
    engine = make_engine(f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}")
    try:
        upgrade_database(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


@dataclass(frozen=True)
class LoadedDemo:
    """A database with the demo loaded, and what loading it said."""

    sessions: sessionmaker[Session]
    summary: str


@pytest.fixture(scope="module", params=BACKENDS)
def loaded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoadedDemo]:
    """Load the demo portfolio once per backend."""
    with fresh_database(request.param, tmp_path_factory.mktemp("demo")) as engine:
        sessions = make_session_factory(engine)
        yield LoadedDemo(sessions, load_demo(sessions, secret=SECRET, as_of=AS_OF, country="US"))


@pytest.fixture
def demo(loaded: LoadedDemo) -> sessionmaker[Session]:
    """Return a session factory on the loaded demo."""
    return loaded.sessions


def loans(session: Session) -> list[Loan]:
    return list(session.scalars(select(Loan).order_by(Loan.loan_number)))


RELOAD_TABLES = (
    Loan,
    Borrower,
    Payment,
    LedgerEntry,
    Fee,
    Case,
    Workout,
    EscrowItem,
    BusinessDay,
    AuditEntry,
    ContactDecision,
)


def snapshot(session: Session) -> dict[str, Any]:
    """Return every figure a reload could change: row counts, each loan's balances and position, payments."""
    counts = {table.__name__: session.scalar(select(func.count()).select_from(table)) for table in RELOAD_TABLES}
    return {"counts": counts, "loans": balances_by_loan(session), "payments": payments_by_reference(session)}


LOAN_FIGURES = (
    "status", "principal_balance", "interest_balance", "escrow_balance", "fees_balance", "suspense_balance",
    "deferred_balance", "next_due_date", "days_past_due", "interest_paid_through", "monthly_payment",
)  # fmt: skip


def balances_by_loan(session: Session) -> dict[str, tuple[Any, ...]]:
    return {loan.loan_number: tuple(getattr(loan, name) for name in LOAN_FIGURES) for loan in loans(session)}


def payments_by_reference(session: Session) -> dict[str, tuple[str, Decimal, date]]:
    rows = session.execute(
        select(Payment.reference, Loan.loan_number, Payment.amount, Payment.received_on).join(
            Loan, Loan.id == Payment.loan_id
        )
    )
    return {r.reference: (r.loan_number, r.amount, r.received_on) for r in rows}


# -- what the portfolio holds ------------------------------------------------------------------------


def test_the_demo_has_at_least_60_loans_in_at_least_6_currencies(demo: sessionmaker[Session]) -> None:
    with demo() as session:
        portfolio = loans(session)
    assert len(portfolio) >= 60
    assert {loan.currency for loan in portfolio} >= {"USD", "CAD", "GBP", "EUR", "INR", "BRL", "IDR"}


def test_borrowers_speak_all_13_languages_and_live_in_their_locales_country_and_time_zone(
    demo: sessionmaker[Session],
) -> None:
    with demo() as session:
        borrowers = list(session.scalars(select(Borrower)))
    assert {b.locale for b in borrowers} >= LOCALES
    zones = get_global("territory_zones")
    for borrower in borrowers:
        # zh_Hans_US, vi_US: a language spoken in a country CLDR has no locale for; the region is still theirs
        assert borrower.locale.rsplit("_", 1)[-1] == borrower.country, borrower.last_name
        assert Locale.parse(borrower.locale.rsplit("_", 1)[0]).language, borrower.last_name
        assert borrower.timezone in zones[borrower.country], borrower.last_name


def test_every_delinquency_bucket_is_present_on_the_business_date(demo: sessionmaker[Session]) -> None:
    with demo() as session:
        buckets = {
            loan_summary(session, loan.loan_number, today=AS_OF).bucket
            for loan in loans(session)
            if loan.status == "active"
        }
    assert buckets == set(BUCKETS)


def test_one_loan_is_in_forbearance_one_was_modified_and_one_is_paid_off(demo: sessionmaker[Session]) -> None:
    with demo() as session:
        workouts = session.execute(select(Workout.kind, Workout.status)).all()
        statuses = [loan.status for loan in loans(session)]
    assert ("forbearance", "active") in workouts
    assert ("modification", "completed") in workouts
    assert statuses.count("paid_off") == 1


def test_partial_payments_wait_in_suspense_and_end_of_day_charged_late_fees(
    demo: sessionmaker[Session],
) -> None:
    with demo() as session:
        portfolio = loans(session)
        late_fees = session.scalar(select(func.count()).select_from(Fee).where(Fee.kind == "late"))
    assert sum(1 for loan in portfolio if loan.suspense_balance > 0) >= 3
    assert sum(1 for loan in portfolio if loan.fees_balance > 0) >= 5
    assert late_fees is not None and late_fees >= 5


def test_mortgages_come_with_and_without_escrow_and_escrow_pays_tax_and_insurance(
    demo: sessionmaker[Session],
) -> None:
    with demo() as session:
        mortgages = [loan for loan in loans(session) if loan.product == "mortgage"]
        kinds = set(session.scalars(select(EscrowItem.kind)))
        paid = session.scalar(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.kind == "escrow_disbursement")
        )
    assert any(loan.escrow_monthly > 0 for loan in mortgages)
    assert any(loan.escrow_monthly == 0 for loan in mortgages)
    assert kinds == {"property_tax", "hazard_insurance"}
    assert paid


def test_the_portfolio_mixes_products_interest_methods_and_a_semiannual_canadian_mortgage(
    demo: sessionmaker[Session],
) -> None:
    with demo() as session:
        portfolio = loans(session)
    methods = {(loan.product, loan.interest_method) for loan in portfolio}
    assert {("mortgage", "30/360"), ("personal", "actual/365"), ("auto", "actual/365")} <= methods
    assert any(loan.currency == "CAD" and loan.compounding == "semiannual" for loan in portfolio)


def test_one_borrower_has_two_loans_and_most_loans_have_a_bank_account(demo: sessionmaker[Session]) -> None:
    with demo() as session:
        portfolio = loans(session)
    per_borrower = [loan.borrower_id for loan in portfolio]
    assert max(per_borrower.count(b) for b in per_borrower) == 2
    assert sum(1 for loan in portfolio if loan.bank_account_last4) >= 0.8 * len(portfolio)


def test_the_demo_opens_a_payoff_request_a_notice_of_error_and_early_intervention_tasks(
    demo: sessionmaker[Session],
) -> None:
    with demo() as session:
        kinds = set(session.scalars(select(Case.kind)))
    assert {"payoff_request", "notice_of_error", "loss_mitigation", "early_intervention"} <= kinds


def test_the_demo_day_queues_reminders_past_due_notices_and_invitations_at_each_borrowers_hour(
    demo: sessionmaker[Session],
) -> None:
    with demo() as session:
        rows = session.execute(
            select(Loan.loan_number, Borrower.timezone, ContactDecision.kind, ContactDecision.status,
                   ContactDecision.reason, ContactDecision.send_after)
            .join(Loan, Loan.id == ContactDecision.loan_id)
            .join(Borrower, Borrower.id == Loan.borrower_id)
        ).all()  # fmt: skip
    going = {(row.kind, row.status) for row in rows}
    for kind in ("payment_reminder", "past_due", "early_intervention", "payment_received"):
        assert (kind, "queued") in going or (kind, "deferred") in going, kind
    mornings = {(row.timezone, row.send_after.astimezone(UTC).isoformat()) for row in rows if row.status == "deferred"}
    # 15:00 UTC on November 2, 2026: 07:00 in Los Angeles (8:00 PST is 16:00 UTC, the clocks went back the day
    # before), 22:00 in Jakarta (8:00 WIB is 01:00 UTC), daytime everywhere else. Denpasar's borrower (8:00 WITA
    # is 00:00 UTC) has a mobile number libphonenumber places in Jakarta: 8:00 in both is 01:00 UTC.
    assert mornings == {("America/Los_Angeles", "2026-11-02T16:00:00+00:00"),
                        ("Asia/Jakarta", "2026-11-03T01:00:00+00:00"),
                        ("Asia/Makassar", "2026-11-03T01:00:00+00:00")}  # fmt: skip
    talking = {row.loan_number for row in rows if row.reason == "specialist_conversation"}
    assert {"LN-2002", "LN-1005"} <= talking  # the demo conversations waiting for or held by a specialist


def test_the_demo_day_follows_up_the_promise_to_pay_end_of_day_found_broken(demo: sessionmaker[Session]) -> None:
    with demo() as session:
        promise = session.execute(
            select(Promise.status, Promise.promised_for, Promise.resolved_on, Promise.paid, Promise.channel)
            .join(Loan, Loan.id == Promise.loan_id).where(Loan.loan_number == "LN-1003")
        ).one()  # fmt: skip
        follow_up = session.execute(
            select(ContactDecision.kind, ContactDecision.status, ContactDecision.reason)
            .join(Loan, Loan.id == ContactDecision.loan_id).where(Loan.loan_number == "LN-1003")
        ).all()  # fmt: skip
        follow_up_tasks = session.scalar(
            select(func.count()).select_from(Case).join(Loan, Loan.id == Case.loan_id)
            .where(Loan.loan_number == "LN-1003", Case.kind == "broken_promise")
        )  # fmt: skip
    # made 19 days before the anchor for 2 days later; its last day (the date plus 15 grace days) was Saturday
    # October 31, so end of day on Monday November 2 found it broken, nothing paid since it was made
    assert (promise.status, promise.promised_for, promise.resolved_on, promise.paid, promise.channel) == (
        "broken", date(2026, 10, 16), date(2026, 11, 2), Decimal("0.00"), "sms")  # fmt: skip
    # the follow-up goes; the day's past-due reminder waits behind it (one collection message a day)
    assert set(follow_up) == {("broken_promise", "queued", None), ("past_due", "suppressed", "frequency_cap")}
    assert follow_up_tasks == 1


def test_every_loans_cached_balances_equal_its_ledger(demo: sessionmaker[Session]) -> None:
    with demo() as session:
        from_ledger = ledger_balances(session)
        for loan in loans(session):
            b = from_ledger[loan.id]
            cached = (loan.principal_balance, loan.interest_balance, loan.escrow_balance, loan.fees_balance,
                      loan.suspense_balance, loan.deferred_balance)  # fmt: skip
            assert (b.principal, b.interest, b.escrow, b.fees, b.suspense, b.deferred) == cached, loan.loan_number


def test_end_of_day_ran_through_the_anchor_date(demo: sessionmaker[Session]) -> None:
    with demo() as session:
        assert session.scalar(select(func.max(BusinessDay.business_date))) == AS_OF


# -- loading it ------------------------------------------------------------------------------------------


def test_loading_the_demo_again_changes_nothing_and_says_so(demo: sessionmaker[Session]) -> None:
    with demo() as session:
        before = snapshot(session)
    message = load_demo(demo, secret=SECRET, as_of=AS_OF, country="US")
    with demo() as session:
        assert snapshot(session) == before
    assert "nothing changed" in message


def test_loading_the_demo_for_another_date_changes_nothing_and_says_so(demo: sessionmaker[Session]) -> None:
    with demo() as session:
        before = snapshot(session)
    message = load_demo(demo, secret=SECRET, as_of=date(2026, 12, 1), country="US")
    with demo() as session:
        assert snapshot(session) == before
    assert "nothing changed" in message


def test_two_fresh_databases_get_the_same_loans_payments_and_balances(
    demo: sessionmaker[Session], tmp_path: Path
) -> None:
    with fresh_database("sqlite", tmp_path) as engine:
        sessions = make_session_factory(engine)
        load_demo(sessions, secret="another-secret", as_of=AS_OF, country="US")
        with demo() as first, sessions() as second:
            assert balances_by_loan(second) == balances_by_loan(first)
            assert payments_by_reference(second) == payments_by_reference(first)


def test_the_summary_counts_loans_by_currency_bucket_and_product(loaded: LoadedDemo) -> None:
    summary = loaded.summary
    assert summary.startswith("Demo portfolio loaded as of 2026-11-02")
    assert "70 loans" in summary
    assert "USD" in summary and "IDR" in summary
    assert "120+" in summary and "paid off 1" in summary
    assert "mortgage" in summary
    assert "not part of the demo" not in summary  # the logins are: `loanline demo` adds and prints them


def test_the_demo_refuses_a_database_whose_end_of_day_already_ran(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        session.add(BusinessDay(business_date=AS_OF, finished_at=utcnow()))
    with pytest.raises(DemoRefused, match="end of day already ran"):
        load_demo(sessions, secret=SECRET, as_of=AS_OF, country="US")
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Loan)) == 0


def test_the_borrower_table_in_the_docs_matches_the_demo_data() -> None:
    assert borrower_table_markdown() in DOCS.read_text(encoding="utf-8")
