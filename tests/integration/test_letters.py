"""Notices and letters: each made when its event happens, read back from its PDF, with the core's own figures.

The mortgage (tests/integration/helpers.py): 150,000.00 at 5.5% over 360 months, due on the 1st from
2026-02-01 and never paid here, 15 days of grace, 200.00 a month of escrow. One Renderer serves the module;
each test renders only the letters it reads.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pypdf
import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from loanline.cli import main
from servicing import decisions
from servicing.cases import CaseKind, get_case, open_case, request_payoff_statement
from servicing.documents.context import servicer_block
from servicing.documents.correspondence import Correspondence
from servicing.documents.letters import COUNSELOR_PHONE, COUNSELOR_WEBSITE, payoff_statement_for_request
from servicing.documents.records import read_document
from servicing.documents.render import Renderer
from servicing.eod import run_business_day
from servicing.escrow import add_escrow_item, run_escrow_analysis
from servicing.foreclosure import refer_to_foreclosure, schedule_foreclosure_sale
from servicing.manual_payments import post_manual_payment
from servicing.queries import loan_summary, payoff_for
from servicing.rules.formatting import date_text, money_text, rate_text
from servicing.rules.workouts import WorkoutKind, modification_waterfall
from servicing.store.accounts import load_account
from servicing.store.models import Borrower, Case, Document, EscrowAnalysis, Fee, Loan, Workout
from servicing.workouts import approve_workout, deny_workout
from tests.integration.console_helpers import sessions_of, signed_in, staffed_console
from tests.integration.helpers import board
from tests.integration.test_console_auth import csrf_token

NOW = datetime(2026, 5, 4, 15, tzinfo=UTC)
SERVICER = servicer_block("Loanline Demo Servicing", "+1 800 555 0100", "PO Box 1000, Springfield, IL 62701")


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


@pytest.fixture
def letters(tmp_path: Path, renderer: Renderer) -> Correspondence:
    return Correspondence(tmp_path / "documents", SERVICER, "US", renderer)


def a_loan(session: Session, *, mailed: bool = True, **fields: Any) -> Loan:
    """Board a mortgage (with a US mailing address unless `mailed` is false) and return its row."""
    number = board(session, **fields)
    loan = session.scalars(select(Loan).where(Loan.loan_number == number)).one()
    if mailed:
        borrower = session.get_one(Borrower, loan.borrower_id)
        borrower.mailing_line1, borrower.mailing_city, borrower.mailing_region = "12 Elm St", "Springfield", "IL"
        borrower.mailing_postal_code, borrower.mailing_country = "62704", "US"
    return loan


def open_on(session: Session, loan: Loan, kind: CaseKind, on: date, summary: str = "", **extra: Any) -> Case:
    return open_case(session, kind, opened_on=on, country="US", source="console", actor="sam", loan_id=loan.id,
                     borrower_id=loan.borrower_id, summary=summary, **extra)  # fmt: skip


def the_document(session: Session, kind: str, loan: Loan) -> Document:
    [document] = session.scalars(select(Document).where(Document.kind == kind, Document.loan_id == loan.id)).all()
    return document


def written_notice_task(session: Session) -> Case:
    """Return the early-intervention task that asks for the written notice (later ones ask for live contact only)."""
    tasks = session.scalars(select(Case).where(Case.kind == "early_intervention").order_by(Case.id)).all()
    [task] = [case for case in tasks if any(d.name == "written_notice" for d in case.deadlines)]
    return task


def text_of(letters: Correspondence, document: Document) -> str:
    """Return a kept document's text as pypdf reads it back, lines joined by spaces (as a reader reads on)."""
    reader = pypdf.PdfReader(io.BytesIO(read_document(letters.root, document)))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def en(amount: Decimal) -> str:
    return money_text(amount, "USD", "en_US")


def long(day: date, locale: str = "en_US") -> str:
    return date_text(day, locale)


# -- payoff statement ----------------------------------------------------------------------------------------


def test_a_payoff_statement_prints_the_cores_payoff_quote_itemised_with_its_per_diem(
    sessions: sessionmaker[Session], letters: Correspondence
) -> None:
    with sessions.begin() as session:
        loan = a_loan(session)
        request = request_payoff_statement(session, loan_id=loan.id, borrower_id=loan.borrower_id,
                                           good_through=date(2026, 5, 20), opened_on=date(2026, 5, 4), country="US",
                                           source="sms", actor="bot").case  # fmt: skip
        made = payoff_statement_for_request(session, letters, request, on=date(2026, 5, 4), actor="bot")
        quote = payoff_for(session, loan.loan_number, date(2026, 5, 20), today=date(2026, 5, 4))
        assert made is not None and made.flags == []
        assert (made.kind, made.period, made.delivery) == ("payoff_statement", request.reference, "paper")
        assert made.summary == {"total": str(quote.total), "per_diem": str(quote.per_diem),
                                "good_through": "2026-05-20", "quote_date": "2026-05-04"}  # fmt: skip
        decisions.record_payoff_statement_sent(session, request.reference, on=date(2026, 5, 5), now=NOW,
                                               actor="sam", note="mailed", letters=letters)  # fmt: skip
        assert session.scalars(select(Document)).all() == [made]  # the request's statement, made once
        assert get_case(session, request.reference).closed_on == date(2026, 5, 5)
        text = text_of(letters, made)
    assert quote.total == quote.principal + quote.interest + quote.fees + quote.escrow_advance - quote.suspense
    assert f"Amount to pay off your loan {en(quote.total)} Good through May 20, 2026" in text
    assert f"Principal balance {en(quote.principal)}" in text
    assert f"Interest through May 20, 2026 {en(quote.interest)}" in text
    assert f"Total amount to pay off the loan {en(quote.total)}" in text
    assert f"after May 20, 2026, add {en(quote.per_diem)} of interest for each additional day" in text
    assert f"On the date of this statement it is {en(quote.escrow_refund)}" in text  # the escrow refund
    assert f"on May 4, 2026 (reference {request.reference})" in text
    assert "12 ELM ST SPRINGFIELD IL 62704" in text.upper()


# -- late notice (end of day) --------------------------------------------------------------------------------


def test_end_of_day_sends_a_late_notice_for_the_fee_it_charged_and_none_on_a_day_without_one(
    sessions: sessionmaker[Session], letters: Correspondence
) -> None:
    with sessions.begin() as session:
        loan = a_loan(session)
    fee_day = date(2026, 2, 17)  # the installment due 2026-02-01 is past its 15 days of grace
    with sessions.begin() as session:
        result = run_business_day(session, fee_day, "eod", letters=letters)
    with sessions.begin() as session:
        quiet = run_business_day(session, date(2026, 2, 18), "eod", letters=letters)
    with sessions() as session:
        [fee] = session.scalars(select(Fee)).all()
        account = load_account(session, loan.loan_number)
        assert account is not None
        notice = the_document(session, "late_notice", loan)
        text = text_of(letters, notice)
    assert (result.late_fees, result.letters, quiet.letters) == (1, 1, 0)
    assert (notice.period, notice.business_date, notice.created_by) == (f"fee:{fee.id}", fee_day, "eod")
    due = account.amount_due(fee_day)
    assert due == account.installment_amount(1) + fee.amount
    assert f"Amount to bring the loan current {en(due)} Past due since February 1, 2026" in text
    assert f"Past due installments {en(account.installment_amount(1))}" in text
    assert f"Late fee for the installment due February 1, 2026, charged on February 17, 2026 {en(fee.amount)}" in text
    assert f"Total to bring the loan current {en(due)}" in text
    assert "Your loan is 16 days past due." in text


# -- early intervention (end of day) -------------------------------------------------------------------------


def test_end_of_day_makes_the_written_early_intervention_notice_and_meets_its_deadline(
    sessions: sessionmaker[Session], letters: Correspondence
) -> None:
    with sessions.begin() as session:
        loan = a_loan(session)
    with sessions.begin() as session:
        run_business_day(session, date(2026, 3, 3), "eod")  # day 30: the task opens, the notice due 2026-03-18
    with sessions.begin() as session:
        early = run_business_day(session, date(2026, 3, 6), "eod", letters=letters)  # 12 days before: not yet
    with sessions.begin() as session:
        due_soon = run_business_day(session, date(2026, 3, 9), "eod", letters=letters)
    with sessions() as session:
        task = written_notice_task(session)
        deadlines = {d.name: (d.due_on, d.met_on) for d in task.deadlines}
        account = load_account(session, loan.loan_number)
        assert account is not None
        notice = the_document(session, "early_intervention", loan)
        text = text_of(letters, notice)
    assert (early.letters, due_soon.letters) == (0, 1)
    assert deadlines["written_notice"] == (date(2026, 3, 18), date(2026, 3, 9))  # the notice made is the notice sent
    assert deadlines["live_contact"][1] is None and task.closed_on is None
    assert notice.period == task.reference
    assert "Your loan is 36 days past due." in text
    assert f"Amount to bring the loan current {en(account.amount_due(date(2026, 3, 9)))}" in text
    assert "Please contact us as soon as you can" in text
    assert "Call us at +1 800 555 0100 to speak with our staff who help borrowers who are behind" in text
    assert "or write to us at PO Box 1000, Springfield, IL 62701" in text
    for option in ("Repayment plan:", "Forbearance:", "Payment deferral:", "Loan modification:"):
        assert option in text
    assert "To apply, call us or send us a message" in text and "proof of income" in text
    assert f"visit {COUNSELOR_WEBSITE} or call HUD at {COUNSELOR_PHONE}" in text
    assert "not before your loan is more than 120 days past due" in text


def test_a_written_notice_a_specialist_records_after_a_referral_tells_of_the_foreclosure(
    sessions: sessionmaker[Session], letters: Correspondence
) -> None:
    with sessions.begin() as session:
        loan = a_loan(session)
    with sessions.begin() as session:
        run_business_day(session, date(2026, 3, 3), "eod")  # the task opens; nobody sends the notice
    with sessions.begin() as session:
        refer_to_foreclosure(session, loan.loan_number, on=date(2026, 6, 2), actor="sue", reason="file review")
        schedule_foreclosure_sale(session, loan.loan_number, sale_on=date(2026, 9, 15), on=date(2026, 6, 2),
                                  actor="sue", reason="court date")  # fmt: skip
        task = written_notice_task(session)
        decisions.record_written_notice(session, task.reference, on=date(2026, 6, 2), actor="sam", note="sent",
                                        letters=letters)  # fmt: skip
        met = {d.name: d.met_on for d in task.deadlines}
        text = text_of(letters, the_document(session, "early_intervention", loan))
    assert met["written_notice"] == date(2026, 6, 2)
    assert "We referred your loan to foreclosure on June 2, 2026." in text
    assert "A foreclosure sale is scheduled for September 15, 2026." in text
    assert "120 days" not in text


# -- escrow account statement --------------------------------------------------------------------------------


def test_the_annual_escrow_analysis_at_end_of_day_sends_the_statement_with_the_cores_figures(
    sessions: sessionmaker[Session], letters: Correspondence
) -> None:
    # boarded 2026-01-01 with 300.00 in escrow and paid on time; a tax bill paid 2026-01-20 and insurance
    # 2026-07-20; the first computation year ends with the installment due 2027-01-01, analyzed 2027-01-02
    with sessions.begin() as session:
        loan = a_loan(session)
        add_escrow_item(session, loan.loan_number, kind="property_tax", payee="Kings County Treasurer",
                        amount=Decimal("1800.00"), next_due_date=date(2026, 1, 20), actor="test")  # fmt: skip
        add_escrow_item(session, loan.loan_number, kind="hazard_insurance", payee="Acme Mutual",
                        amount=Decimal("900.00"), next_due_date=date(2026, 7, 20), actor="test")  # fmt: skip
        analysis_day = session.get_one(Loan, loan.id).escrow_analysis_on
    assert analysis_day == date(2027, 1, 2)
    for month in range(12):
        due = date(2026 + (1 + month) // 12, (1 + month) % 12 + 1, 1)
        for bill_day in (date(2026, 1, 20), date(2026, 7, 20)):
            if due > bill_day and due - timedelta(days=31) < bill_day:
                with sessions.begin() as session:
                    run_business_day(session, bill_day, "eod")  # pays the bill from escrow
        with sessions.begin() as session:
            post_manual_payment(session, loan.loan_number, amount=Decimal("1051.68"), received_on=due,
                                reference=f"pay-{month}", reason="check", actor="test", today=due)  # fmt: skip
    with sessions.begin() as session:
        result = run_business_day(session, analysis_day, "eod", letters=letters)
    with sessions() as session:
        [analysis] = session.scalars(select(EscrowAnalysis)).all()
        statement = the_document(session, "escrow_statement", loan)
        text = text_of(letters, statement)
    payments, history = analysis.statement["payments"], analysis.statement["history"]
    figures = {name: Decimal(analysis.statement["figures"][name])
               for name in ("cushion", "lowest_balance", "shortage", "recovery_deposit")}  # fmt: skip
    assert result.escrow_analyzed == 1 and statement.period == f"analysis:{analysis.id}"
    assert statement.summary["statement"] == "annual" and "Annual escrow account statement" in text
    new_total = Decimal(payments["total_from_next_year"])
    assert f"Your new monthly payment {en(new_total)} From the payment due February 1, 2027" in text
    assert f"Escrow {en(Decimal(payments['escrow_before']))} {en(Decimal(payments['escrow_from_next_year']))}" in text
    assert f"We keep a cushion of {en(figures['cushion'])}" in text
    assert f"The lowest balance we project for the coming year is {en(figures['lowest_balance'])}" in text
    assert (Decimal(history["deposits"]), Decimal(history["disbursements"])) == (Decimal("2400.00"), Decimal("2700.00"))
    assert f"Total {en(Decimal('2400.00'))} {en(Decimal('2700.00'))} {en(Decimal(history['closing_balance']))}" in text
    assert f"Property tax {en(Decimal('1800.00'))} Homeowners insurance {en(Decimal('900.00'))}" in text
    assert "Acme Mutual" in text and "Kings County Treasurer" in text  # the coming year's bills
    assert figures["shortage"] > 0 and figures["recovery_deposit"] > 0
    assert f"Your account has a shortage of {en(figures['shortage'])}" in text
    assert (
        f"To make it up, {en(figures['recovery_deposit'])} is added to each monthly escrow payment for 12 months"
        in text
    )


def test_an_escrow_account_set_up_and_analyzed_on_demand_gets_the_initial_statement(
    sessions: sessionmaker[Session], letters: Correspondence
) -> None:
    with sessions.begin() as session:
        loan = a_loan(session, escrow_monthly="0.00", escrow_balance="0.00")
        add_escrow_item(session, loan.loan_number, kind="hazard_insurance", payee="Acme Mutual",
                        amount=Decimal("1200.00"), next_due_date=date(2026, 6, 15), actor="test")  # fmt: skip
        statement = run_escrow_analysis(session, loan.loan_number, on=date(2026, 3, 2), actor="sue",
                                        reason="new escrow account", letters=letters)  # fmt: skip
        document = the_document(session, "escrow_statement", loan)
        text = text_of(letters, document)
    assert document.summary["statement"] == "initial"
    assert "Initial escrow account statement" in text and "Total 0" not in text
    assert f"Your new monthly payment {en(Decimal('851.68') + statement.new_deposit)}" in text
    assert f"Homeowners insurance, Acme Mutual: {en(Decimal('1200.00'))}" in text
    assert f"We keep a cushion of {en(statement.cushion)}" in text


# -- loss mitigation -----------------------------------------------------------------------------------------


def test_an_incomplete_application_is_acknowledged_with_the_missing_documents_and_the_date_to_send_them(
    sessions: sessionmaker[Session], letters: Correspondence
) -> None:
    with sessions.begin() as session:
        loan = a_loan(session)
        case = open_on(session, loan, CaseKind.LOSS_MITIGATION, date(2026, 5, 1), "lost my job")
        decisions.mark_application_incomplete(session, case.reference, ["income", "bank"], on=date(2026, 5, 4),
                                              now=NOW, actor="sam", note="no pay stubs", letters=letters)  # fmt: skip
        send_by = date.fromisoformat(case.data["documents_due"])
        text = text_of(letters, the_document(session, "lm_acknowledgement", loan))
    assert send_by == date(2026, 6, 1)  # the 120th day of the delinquency that began 2026-02-01
    assert f"Please send the documents by {long(send_by)}" in text
    assert f"on May 1, 2026 (reference {case.reference})" in text
    assert "Your application is incomplete." in text
    assert "proof of income" in text and "your last two bank statements" in text and "tax return" not in text
    assert "consider contacting it too" in text  # another servicer of the same property


def test_a_complete_application_notice_gives_the_day_it_was_complete_the_decision_date_and_protections(
    sessions: sessionmaker[Session], letters: Correspondence
) -> None:
    with sessions.begin() as session:
        loan = a_loan(session)
        case = open_on(session, loan, CaseKind.LOSS_MITIGATION, date(2026, 5, 1), "lost my job")
        decisions.mark_application_complete(session, case.reference, on=date(2026, 5, 6), now=NOW, actor="sam",
                                            note="all in", received_on=date(2026, 5, 4), letters=letters)  # fmt: skip
        text = text_of(letters, the_document(session, "lm_complete", loan))
    assert "We expect to decide by June 3, 2026" in text
    assert "Your application has been complete since May 4, 2026." in text
    assert "within 30 days of that date, by June 3, 2026" in text
    assert "we will not start the foreclosure process until we have finished evaluating it" in text
    assert "We may need more information later" in text and "other protections under state or federal law" in text


def test_a_denial_gives_the_reason_for_each_option_reviewed_with_the_modifications_figures_and_the_appeal_date(
    sessions: sessionmaker[Session], letters: Correspondence
) -> None:
    with sessions.begin() as session:
        loan = a_loan(session)
        case = open_on(session, loan, CaseKind.LOSS_MITIGATION, date(2026, 5, 1), "lost my job")
        decisions.mark_application_complete(session, case.reference, on=date(2026, 5, 4), now=NOW, actor="sam",
                                            note="all in")  # fmt: skip
        for kind, reason in ((WorkoutKind.MODIFICATION, "The modified payment would be 52% of your income."),
                             (WorkoutKind.FORBEARANCE, "Your hardship is not temporary.")):  # fmt: skip
            deny_workout(session, loan.loan_number, kind, on=date(2026, 5, 20), reason=reason, actor="sue",
                         case_reference=case.reference)  # fmt: skip
        decisions.deny_application(session, case.reference, "income", on=date(2026, 5, 20), now=NOW, actor="sue",
                                   note="DTI", letters=letters)  # fmt: skip
        account = load_account(session, loan.loan_number)
        assert account is not None
        plan = modification_waterfall(account, account.annual_rate, date(2026, 5, 20))
        appeal_by = {d.name: d.due_on for d in case.deadlines}["appeal_window"]
        text = text_of(letters, the_document(session, "lm_denial", loan))
    assert appeal_by == date(2026, 6, 3)
    assert "You may appeal until June 3, 2026" in text
    assert "The reason for our decision: your income does not support a modified payment." in text
    assert "Loan modification The modified payment would be 52% of your income." in text
    assert "Forbearance Your hardship is not temporary." in text
    assert (f"principal balance {en(plan.principal_before)}; interest rate {rate_text(account.annual_rate, 'en_US')}; "
            f"monthly principal and interest {en(plan.payment_before)}; payment a modification had to reach "
            f"{en(plan.target_payment)}") in text  # fmt: skip
    assert "You may appeal this decision until June 3, 2026." in text
    assert f"the decision on application {case.reference}" in text


def test_a_denial_under_90_days_before_the_sale_offers_no_appeal_and_one_after_an_appeal_is_final(
    sessions: sessionmaker[Session], letters: Correspondence
) -> None:
    with sessions.begin() as session:
        loan = a_loan(session)
        loan.foreclosure_referred_on, loan.foreclosure_sale_on = date(2026, 6, 2), date(2026, 8, 31)
        late = open_on(session, loan, CaseKind.LOSS_MITIGATION, date(2026, 6, 15))
        decisions.mark_application_complete(session, late.reference, on=date(2026, 6, 15), now=NOW, actor="sam",
                                            note="all in")  # fmt: skip
        decisions.deny_application(session, late.reference, "investor", on=date(2026, 6, 20), now=NOW, actor="sue",
                                   note="investor", letters=letters)  # fmt: skip
        no_appeal = text_of(letters, the_document(session, "lm_denial", loan))
    assert "You cannot appeal this decision" in no_appeal and "You may appeal" not in no_appeal
    assert "Every option available for your loan the owner of your loan does not allow this option" in no_appeal
    assert "You may ask us for the owner's name and the requirement." in no_appeal
    with sessions.begin() as session:
        loan = a_loan(session)
        case = open_on(session, loan, CaseKind.LOSS_MITIGATION, date(2026, 5, 1))
        decisions.mark_application_complete(session, case.reference, on=date(2026, 5, 4), now=NOW, actor="sam",
                                            note="all in")  # fmt: skip
        decisions.deny_application(session, case.reference, "documents", on=date(2026, 5, 20), now=NOW,
                                   actor="sue", note="late")  # fmt: skip
        decisions.record_appeal(session, case.reference, on=date(2026, 5, 25), actor="sam", note="appeal")
        decisions.deny_application(session, case.reference, "documents", on=date(2026, 6, 10), now=NOW,
                                   actor="bob", note="still late", letters=letters)  # fmt: skip
        final = the_document(session, "lm_denial", loan)
        text = text_of(letters, final)
    assert final.period == f"{case.reference}:appeal"
    assert "We have reviewed your appeal" in text and "This decision is final" in text
    assert "we did not receive the documents we needed in time" in text and "appeal until" not in text


def test_an_approval_offers_the_terms_booked_on_the_application_and_the_date_to_accept(
    sessions: sessionmaker[Session], letters: Correspondence
) -> None:
    with sessions.begin() as session:
        loan = a_loan(session)
        case = open_on(session, loan, CaseKind.LOSS_MITIGATION, date(2026, 5, 1))
        decisions.mark_application_complete(session, case.reference, on=date(2026, 5, 4), now=NOW, actor="sam",
                                            note="all in")  # fmt: skip
        decisions.approve_application(session, case.reference, on=date(2026, 5, 20), now=NOW, actor="sue",
                                      note="plan", letters=letters)  # fmt: skip
        approval = the_document(session, "lm_offer", loan)
        workout = approve_workout(session, loan.loan_number, WorkoutKind.REPAYMENT_PLAN, on=date(2026, 5, 20),
                                  reason="affordable", actor="sue", now=NOW, months=6, case_reference=case.reference,
                                  disclosure_confirmed=True, letters=letters)  # fmt: skip
        offers = session.scalars(select(Document).where(Document.kind == "lm_offer").order_by(Document.id)).all()
        terms = session.get_one(Workout, workout.id).terms
        first = text_of(letters, approval)
        text = text_of(letters, offers[-1])
    assert [offer.period for offer in offers] == [case.reference, f"{case.reference}:workout:{workout.id}"]
    assert "Accept this offer by June 3, 2026" in first and "terms of the option in a separate letter" in first
    assert "Accept this offer by June 3, 2026" in text
    assert f"Past-due amount spread over the plan {en(Decimal(terms['arrears']))}" in text
    line = terms["lines"][0]
    assert (f"{long(date.fromisoformat(line['due_date']))} {en(Decimal(line['regular_payment']))} "
            f"{en(Decimal(line['arrears_share']))} {en(Decimal(line['total']))}") in text  # fmt: skip
    assert "contact us by June 3, 2026. If we do not hear from you by then" in text


# -- notices of error and information requests ---------------------------------------------------------------


def test_a_notice_of_error_is_acknowledged_then_answered_with_the_reason_and_the_right_to_the_documents(
    sessions: sessionmaker[Session], letters: Correspondence
) -> None:
    with sessions.begin() as session:
        loan = a_loan(session)
        case = open_on(session, loan, CaseKind.NOTICE_OF_ERROR, date(2026, 5, 1), "The late fee of April is wrong.")
        decisions.acknowledge_case(session, case.reference, on=date(2026, 5, 4), now=NOW, actor="sam", note="ok",
                                   letters=letters)  # fmt: skip
        resolve_by = {d.name: d.due_on for d in case.deadlines}["resolve"]
        decisions.resolve_notice_of_error(session, case.reference, "no_error", reason="late", on=date(2026, 5, 12),
                                          now=NOW, actor="sam", note="checked",
                                          reply="Your April payment arrived on April 20.", letters=letters)  # fmt: skip
        acknowledged = text_of(letters, the_document(session, "error_acknowledgement", loan))
        answered = text_of(letters, the_document(session, "error_response", loan))
    assert f"We will answer by {long(resolve_by)}" in acknowledged
    assert f"We received your notice of error on May 1, 2026. Its reference is {case.reference}." in acknowledged
    assert "The late fee of April is wrong." in acknowledged
    assert "No error found" in answered
    assert "no error occurred, for this reason: the payment arrived after its due date." in answered
    assert "Your April payment arrived on April 20." in answered
    assert "copies of the documents we relied on" in answered and "free of charge within 15 business days" in answered


def test_a_corrected_error_says_so_and_when(sessions: sessionmaker[Session], letters: Correspondence) -> None:
    with sessions.begin() as session:
        loan = a_loan(session)
        case = open_on(session, loan, CaseKind.NOTICE_OF_ERROR, date(2026, 5, 1), "Payment posted twice.")
        decisions.resolve_notice_of_error(session, case.reference, "corrected", on=date(2026, 5, 12), now=NOW,
                                          actor="sam", note="fixed", letters=letters)  # fmt: skip
        text = text_of(letters, the_document(session, "error_response", loan))
    assert "We found the error and corrected it. The correction took effect on May 12, 2026." in text
    assert "relied on" not in text


def test_an_information_request_is_acknowledged_then_answered_with_the_loans_figures(
    sessions: sessionmaker[Session], letters: Correspondence
) -> None:
    with sessions.begin() as session:
        loan = a_loan(session)
        case = open_on(session, loan, CaseKind.REQUEST_FOR_INFORMATION, date(2026, 5, 1), "Who owns my loan?",
                       topic="owner")  # fmt: skip
        decisions.acknowledge_case(session, case.reference, on=date(2026, 5, 4), now=NOW, actor="sam", note="ok",
                                   letters=letters)  # fmt: skip
        answer_by = {d.name: d.due_on for d in case.deadlines}["answer"]
        decisions.answer_information_request(session, case.reference, on=date(2026, 5, 8), now=NOW, actor="sam",
                                             note="looked up", reply="Your loan is owned by Example Trust 2024-1.",
                                             letters=letters)  # fmt: skip
        summary = loan_summary(session, loan.loan_number, date(2026, 5, 8), today=date(2026, 5, 8))
        acknowledged = text_of(letters, the_document(session, "information_acknowledgement", loan))
        answered = text_of(letters, the_document(session, "information_response", loan))
    assert answer_by == date(2026, 5, 15)  # an owner request: 10 business days
    assert f"We will answer by {long(answer_by)}" in acknowledged and "Who owns my loan?" in acknowledged
    assert "Our answer: Your loan is owned by Example Trust 2024-1." in answered
    assert f"Principal balance {en(summary.principal_balance)}" in answered
    assert f"Amount due {en(summary.amount_due)}" in answered
    assert f"Days past due {summary.days_past_due}" in answered
    assert "Interest rate 5.5%" in answered


# -- languages, addresses ------------------------------------------------------------------------------------


def test_a_spanish_borrower_reads_the_denial_in_spanish_with_spanish_dates(
    sessions: sessionmaker[Session], letters: Correspondence
) -> None:
    with sessions.begin() as session:
        loan = a_loan(session, locale="es_US")
        case = open_on(session, loan, CaseKind.LOSS_MITIGATION, date(2026, 5, 1))
        decisions.mark_application_complete(session, case.reference, on=date(2026, 5, 4), now=NOW, actor="sam",
                                            note="all in")  # fmt: skip
        decisions.deny_application(session, case.reference, "income", on=date(2026, 5, 20), now=NOW, actor="sue",
                                   note="DTI", letters=letters)  # fmt: skip
        document = the_document(session, "lm_denial", loan)
        text = text_of(letters, document)
    assert (document.language, document.locale, document.flags) == ("es", "es_US", [])
    assert "Decisión sobre su solicitud de asistencia" in text
    assert "El motivo de nuestra decisión: sus ingresos no permiten un pago modificado." in text
    assert "Puede apelar hasta" in text and "3 de junio de 2026" in text
    assert "Puede apelar esta decisión hasta el 3 de junio de 2026." in text


def test_a_hindi_borrower_reads_the_late_notice_in_devanagari_with_indian_figures(
    sessions: sessionmaker[Session], letters: Correspondence
) -> None:
    with sessions.begin() as session:
        loan = a_loan(session, locale="hi_IN")
    with sessions.begin() as session:
        run_business_day(session, date(2026, 2, 17), "eod", letters=letters)
    with sessions() as session:
        [fee] = session.scalars(select(Fee)).all()
        document = the_document(session, "late_notice", loan)
        text = text_of(letters, document)
    assert (document.language, document.locale, document.flags) == ("hi", "hi_IN", [])
    for word in ("भुगतान", "बकाया", "सूचना", "राशि"):
        assert word in text
    assert money_text(fee.amount, "USD", "hi_IN") in text and "17 फ़रवरी 2026" in text
    assert "\ufffd" not in text


def test_a_borrower_without_a_mailing_address_still_gets_the_letter_flagged_for_delivery(
    sessions: sessionmaker[Session], letters: Correspondence
) -> None:
    with sessions.begin() as session:
        loan = a_loan(session, mailed=False)
        case = open_on(session, loan, CaseKind.NOTICE_OF_ERROR, date(2026, 5, 1), "Wrong fee.")
        decisions.acknowledge_case(session, case.reference, on=date(2026, 5, 4), now=NOW, actor="sam", note="ok",
                                   letters=letters)  # fmt: skip
        document = the_document(session, "error_acknowledgement", loan)
    assert document.flags == ["no_mailing_address"]


# -- the paths that make them: the command line, the console, the bot ------------------------------------------


def test_loanline_payoff_writes_the_statement_pdf_with_the_figures_of_its_json_and_keeps_it_once(
    sessions: sessionmaker[Session], cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LOANLINE_TODAY", "2026-05-04")
    with sessions.begin() as session:
        number = a_loan(session).loan_number
    pdf = tmp_path / "payoff.pdf"
    asked = ["payoff", number, "--good-through", "2026-05-20"]
    first = CliRunner().invoke(main, [*asked, "--json", "--pdf", str(pdf)], catch_exceptions=False)
    again = CliRunner().invoke(main, [*asked, "--pdf", str(tmp_path / "b.pdf")], catch_exceptions=False)
    assert (first.exit_code, again.exit_code) == (0, 0), first.output + again.output
    quote = json.loads(first.stdout)
    text = " ".join(" ".join(page.extract_text().split()) for page in pypdf.PdfReader(pdf).pages)
    assert f"Amount to pay off your loan {en(Decimal(quote['total']))} Good through May 20, 2026" in text
    assert f"add {en(Decimal(quote['per_diem']))} of interest for each additional day" in text
    assert f"Interest through May 20, 2026 {en(Decimal(quote['interest']))}" in text
    with sessions() as session:
        [document] = session.scalars(select(Document)).all()
    assert (document.kind, document.period, document.created_by) == (
        "payoff_statement",
        "payoff:2026-05-04:2026-05-20",
        "cli",
    )
    assert (
        f"(document {document.id}, made)" in first.stderr
        and f"(document {document.id}, already on file)" in again.stderr
    )
    assert (tmp_path / "b.pdf").read_bytes() == pdf.read_bytes()  # the same statement, written again


def test_loanline_payoff_refuses_a_pdf_for_an_unknown_loan_and_writes_nothing(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    result = CliRunner().invoke(main, ["payoff", "NOPE", "--pdf", str(tmp_path / "x.pdf")], catch_exceptions=False)
    assert result.exit_code == 1 and "unknown loan NOPE" in result.output
    assert not (tmp_path / "x.pdf").exists()


def test_deciding_an_application_in_the_console_makes_its_letter(
    database_url: str, cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with staffed_console(database_url, "2026-06-02", monkeypatch) as app:
        with sessions_of(app).begin() as session:
            loan = a_loan(session)
            reference = open_on(session, loan, CaseKind.LOSS_MITIGATION, date(2026, 5, 29)).reference
        client = signed_in(app, "sam")
        token = csrf_token(client, "/console/")
        response = client.post(f"/console/worklists/cases/{reference}/incomplete",
                               data={"incomplete-note": "no stubs", "incomplete-missing": ["income"],
                                     "incomplete-csrf_token": token})  # fmt: skip
        assert response.status_code == 302
        with sessions_of(app)() as session:
            document = the_document(session, "lm_acknowledgement", loan)
            root = app.extensions["loanline.settings"].documents_dir
            text = " ".join(pypdf.PdfReader(io.BytesIO(read_document(root, document))).pages[0].extract_text().split())
    assert (document.period, document.created_by, document.business_date) == (reference, "sam", date(2026, 6, 2))
    assert "proof of income" in text and "Please send them by July 2, 2026." in text  # 30 days: day 120 has passed
