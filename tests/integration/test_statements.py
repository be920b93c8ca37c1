"""Periodic statements (Reg Z 1026.41(d)): read back from the PDF, the core's figures in the borrower's format."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pypdf
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from loanline.cli import main
from servicing.documents.context import servicer_block
from servicing.documents.records import read_document
from servicing.documents.statement_figures import StatementOptions, gather_figures
from servicing.documents.statements import make_statement, statements_due
from servicing.eod import run_eod
from servicing.payments import PaymentInstruction, post_payments
from servicing.rules.formatting import date_text, money_text
from servicing.store.accounts import load_account
from servicing.store.db import make_engine, make_session_factory
from servicing.store.models import Borrower, Document, Loan
from tests.integration.helpers import board

# The mortgage of these tests: 150,000 at 5.5% over 360 months, first due 2026-02-01, 200 escrow;
# P&I 851.68, installment 1,051.68, late fee 5% of P&I (42.58) after 15 days of grace.
FIRST_DUE = date(2026, 2, 1)
PERSONAL = {"product": "personal", "interest_method": "actual/365", "escrow_monthly": "0", "escrow_balance": "0",
            "original_principal": "12000.00", "term_months": "48"}  # fmt: skip


@pytest.fixture
def options(tmp_path: Path) -> StatementOptions:
    return StatementOptions(
        root=tmp_path / "documents",
        servicer=servicer_block("Loanline Demo Servicing", "+1 800 555 0100", "PO Box 1000, Springfield, IL 62701"),
        country="US",
    )


def text_of(pdf: bytes) -> str:
    """Return a PDF's text with its lines joined and its spaces collapsed."""
    return " ".join(" ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages).split())


def a_loan(session: Session, *, mailable: bool = True, **fields: Any) -> str:
    """Board a loan (the mortgage unless fields say otherwise) whose borrower has a mailing address."""
    number = board(session, **fields)
    loan = session.scalars(select(Loan).where(Loan.loan_number == number)).one()
    if mailable:
        borrower = session.get_one(Borrower, loan.borrower_id)
        borrower.mailing_line1, borrower.mailing_city = "12 Elm Street", "Springfield"
        borrower.mailing_region, borrower.mailing_postal_code, borrower.mailing_country = "IL", "62704", "US"
        loan.property_line1, loan.property_city, loan.property_country = "12 Elm Street", "Springfield", "US"
    return number


def pay(session: Session, number: str, amount: str, on: date, reference: str) -> None:
    report = post_payments(session, [PaymentInstruction(number, D(amount), on, reference, "ach")], today=on,
                           business_date=on, actor="test")  # fmt: skip
    assert report.posted == [reference], report


def statement_text(options: StatementOptions, session: Session, number: str, as_of: date) -> tuple[str, Document]:
    made = make_statement(session, options, number, as_of)
    document = session.get_one(Document, made.document_id)
    return text_of(read_document(options.root, document)), document


def test_a_mortgage_statement_shows_the_cores_amount_due_its_breakdown_and_the_payments_of_the_year(
    sessions: sessionmaker[Session], options: StatementOptions
) -> None:
    with sessions.begin() as session:
        number = a_loan(session)
        pay(session, number, "1051.68", date(2026, 1, 28), "P-1")  # the February installment
        pay(session, number, "300.00", date(2026, 2, 10), "P-2")  # a partial payment: held in suspense
    with sessions.begin() as session:
        account = load_account(session, number)
        assert account is not None
        _, principal, interest = account.principal_and_interest(2, account.balances.principal)
        amount_due = account.amount_due(date(2026, 3, 1))
        text, document = statement_text(options, session, number, date(2026, 2, 14))

    def usd(amount: D) -> str:
        return money_text(amount, "USD", "en_US")

    assert amount_due == D("751.68")  # 1,051.68 due March 1 less the 300.00 held
    assert f"Amount due {usd(amount_due)} Due by March 1, 2026" in text
    assert "If we receive your payment after March 16, 2026, a late fee of $42.58 will be charged." in text
    for figure in (principal, interest, D("200.00"), D("1051.68"), D("-300.00")):  # the explanation of amount due
        assert usd(figure) in text
    assert "Paid since last statement Paid year to date" in text
    assert usd(D("1351.68")) in text  # paid this year: the installment and the partial payment
    assert "Any partial payments that you make are not applied to your mortgage, but instead are held in a separate" \
           " suspense account." in text  # fmt: skip
    assert "Prepayment penalty" in text and "5.5%, fixed" in text and usd(account.balances.principal) in text
    assert "Delinquency notice" not in text
    assert "ANA SILVA 12 ELM STREET SPRINGFIELD IL 62704" in text
    assert (document.kind, document.period, document.flags, document.language) == ("statement", "2026-03-01", [], "en")
    assert document.summary["amount_due"] == "751.68"


def test_a_borrower_45_days_late_gets_the_delinquency_box_and_the_housing_counselor_notice(
    sessions: sessionmaker[Session], options: StatementOptions
) -> None:
    with sessions.begin() as session:
        number = a_loan(session)
    run_eod(sessions, date(2026, 3, 17), country="US")  # the February late fee is charged on Feb 17
    with sessions.begin() as session:
        account = load_account(session, number)
        assert account is not None
        to_bring_current = account.amount_due(date(2026, 3, 18))
        text, _ = statement_text(options, session, number, date(2026, 3, 18))
    assert to_bring_current == D("2188.52")  # two installments of 1,051.68 and their late fees of 42.58
    assert "Delinquency notice" in text
    assert "you are 45 days delinquent on your mortgage. Your loan became delinquent on February 1, 2026." in text
    assert "may result in fees and foreclosure" in text
    assert "We have not made the first notice or filing required to start foreclosure." in text
    assert "Unpaid balance of $1,051.68" in text and "$2,188.52" in text
    assert "www.consumerfinance.gov/find-a-housing-counselor" in text and "1-800-569-4287" in text
    assert "Transaction activity since March 1, 2026 Date Description Charges Payments Mar 17, 2026" in text
    assert "Late fee" in text  # the March installment's, charged on March 17


def test_a_personal_loan_gets_the_account_statement(sessions: sessionmaker[Session], options: StatementOptions) -> None:
    with sessions.begin() as session:
        number = a_loan(session, **PERSONAL)
        account = load_account(session, number)
        assert account is not None
        text, document = statement_text(options, session, number, date(2026, 1, 20))
    assert "Account statement" in text and "Mortgage statement" not in text
    assert money_text(account.monthly_payment, "USD", "en_US") in text
    assert "Due by February 1, 2026" in text
    assert "1-800-569-4287" not in text and "Escrow (taxes and insurance)" not in text
    assert document.summary["amount_due"] == str(account.amount_due(FIRST_DUE))


def test_a_hindi_statement_is_written_in_devanagari_with_the_borrowers_figures(
    sessions: sessionmaker[Session], options: StatementOptions
) -> None:
    with sessions.begin() as session:
        number = a_loan(session, locale="hi_IN")
        text, document = statement_text(options, session, number, date(2026, 1, 20))
    assert (document.language, document.locale) == ("hi", "hi_IN")
    for word in ("भुगतान", "राशि", "तारीख", "बकाया"):  # words whose letters extract in reading order
        assert word in text
    assert date_text(date(2026, 2, 16), "hi_IN") in text and "$1,051.68" in text  # the late fee's day, the amount
    assert "\ufffd" not in text


def test_a_loan_without_a_mailing_address_still_gets_its_statement_flagged(
    sessions: sessionmaker[Session], options: StatementOptions
) -> None:
    with sessions.begin() as session:
        number = a_loan(session, mailable=False)
        made = make_statement(session, options, number, date(2026, 1, 20))
    assert made.made and made.flags == ("no_mailing_address",)
    with sessions() as session:
        assert session.get_one(Document, made.document_id).flags == ["no_mailing_address"]


def test_since_the_last_statement_counts_only_what_came_after_it(
    sessions: sessionmaker[Session], options: StatementOptions
) -> None:
    with sessions.begin() as session:
        number = a_loan(session)
        pay(session, number, "1051.68", date(2026, 1, 28), "P-1")
        make_statement(session, options, number, date(2026, 2, 14))  # the March statement
        pay(session, number, "1051.68", date(2026, 2, 27), "P-2")  # after it: the next statement's
        loan = session.scalars(select(Loan).where(Loan.loan_number == number)).one()
        account = load_account(session, number)
        assert account is not None
        figures = gather_figures(session, [(loan, account, date(2026, 4, 1))], date(2026, 3, 17))[loan.id]
    assert figures.paid_since_last.total == D("1051.68")
    assert figures.paid_year_to_date.total == D("2103.36")
    assert [(line.kind, line.credit) for line in figures.activity] == [("payment", D("1051.68"))]
    assert figures.activity_since == date(2026, 2, 14)


def run_cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False, prog_name="loanline")
    return result.exit_code, result.output


def test_the_command_makes_each_statement_once_writes_the_files_and_a_manifest_and_says_what_was_on_file(
    cli_env: dict[str, str], database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOANLINE_TODAY", "2026-01-20")
    monkeypatch.setenv("LOANLINE_DOCUMENTS_DIR", str(tmp_path / "documents"))
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        english = a_loan(session)
        japanese = a_loan(session, locale="ja_JP", mailable=False)  # no Japanese catalog: English, and flagged
    out = tmp_path / "out"
    code, output = run_cli("statements", "--out", str(out))
    assert code == 0, output
    assert "2 statements as of 2026-01-20: 2 made, 0 already on file" in output
    with (out / "manifest.csv").open(encoding="utf-8") as handle:
        manifest = {row["loan_number"]: row for row in csv.DictReader(handle)}
    assert set(manifest) == {english, japanese}
    assert manifest[english]["amount_due"] == "1051.68" and manifest[english]["due_date"] == "2026-02-01"
    assert (manifest[english]["borrower"], manifest[english]["delivery"], manifest[english]["flags"]) == \
        ("Ana Silva", "paper", "")  # fmt: skip
    assert manifest[japanese]["language"] == "en"
    assert manifest[japanese]["flags"] == "no_mailing_address;language_fallback"
    assert "Mortgage statement" in text_of((out / f"{english}.pdf").read_bytes())
    assert int(manifest[english]["pages"]) == len(pypdf.PdfReader(out / f"{english}.pdf").pages)

    code, again = run_cli("statements", "--loan", english)
    assert code == 0, again
    assert f"{english}: statement due 2026-02-01 already on file (nothing new made)" in again
    assert "nothing new was made" in again
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Document)) == 2
    code, refused = run_cli("statements", "--as-of", "2026-01-19")
    assert code == 1 and "before the business date 2026-01-20" in refused
    code, unknown = run_cli("statements", "--loan", "NOPE")
    assert code == 1 and "unknown loan NOPE" in unknown
    engine.dispose()


def test_end_of_day_makes_a_statement_fifteen_days_before_its_due_date_and_not_before(
    sessions: sessionmaker[Session], options: StatementOptions
) -> None:
    with sessions.begin() as session:
        number = a_loan(session)  # due on the 1st: February 1, March 1
    run_eod(sessions, date(2026, 1, 16), country="US", statements=options)  # 16 days before February 1
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Document)) == 0
    report = run_eod(sessions, date(2026, 1, 20), country="US", statements=options)
    # January 17 (15 days before) is a Saturday: the statement is made on the next business day, Tuesday the 20th
    # (Monday the 19th is Martin Luther King Jr. Day)
    assert [(day.business_date, day.statements) for day in report.days] == [(date(2026, 1, 20), 1)]
    run_eod(sessions, date(2026, 2, 12), country="US", statements=options)  # March 1 - 15 = February 14: not yet
    with sessions() as session:
        periods = session.scalars(select(Document.period).where(Document.kind == "statement")).all()
        assert periods == ["2026-02-01"]
        assert session.scalar(select(Loan.loan_number)) == number


def test_a_loan_due_on_the_31st_is_billed_on_the_last_day_of_shorter_months(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        a_loan(session, first_payment_date="2026-01-31", origination_date="2025-12-15")
        loan_id = session.scalar(select(Loan.id))
        due = statements_due(session, date(2026, 2, 13), 15)  # February 28 - 15
        assert due == {date(2026, 2, 28): [loan_id]}
        assert statements_due(session, date(2026, 2, 12), 15) == {}


def test_the_command_shares_the_statements_among_worker_processes(
    cli_env: dict[str, str], database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOANLINE_TODAY", "2026-01-20")
    monkeypatch.setenv("LOANLINE_DOCUMENTS_DIR", str(tmp_path / "documents"))
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        numbers = [a_loan(session), a_loan(session, locale="es_US"), a_loan(session, **PERSONAL)]
    code, output = run_cli("statements", "--workers", "2")
    assert code == 0, output
    assert "3 statements as of 2026-01-20: 3 made, 0 already on file" in output
    with sessions() as session:
        kept = session.execute(select(Loan.loan_number, Document.period, Document.language)
                               .join(Loan, Loan.id == Document.loan_id)).all()  # fmt: skip
    assert sorted(kept) == sorted([(numbers[0], "2026-02-01", "en"), (numbers[1], "2026-02-01", "es"),
                                   (numbers[2], "2026-02-01", "en")])  # fmt: skip
    code, again = run_cli("statements", "--workers", "2")
    assert code == 0 and "3 statements as of 2026-01-20: 0 made, 3 already on file" in again
    engine.dispose()


def test_a_statement_day_whose_run_stopped_before_its_statements_is_made_up_by_the_next_run(
    sessions: sessionmaker[Session], options: StatementOptions
) -> None:
    with sessions.begin() as session:
        a_loan(session)
    run_eod(sessions, date(2026, 1, 20), country="US")  # the day committed, its statements never made
    report = run_eod(sessions, date(2026, 1, 21), country="US", statements=options)
    assert [(day.business_date, day.statements) for day in report.days] == [(date(2026, 1, 21), 1)]
    with sessions() as session:
        assert session.scalars(select(Document.period)).all() == ["2026-02-01"]
