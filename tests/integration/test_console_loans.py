"""The console's loan pages and servicing actions, through the Flask test client on a real database."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from console.i18n import money
from servicing.cases import CaseKind, move_loss_mitigation, open_case
from servicing.conversations import find_or_open_conversation, keep_verified
from servicing.eod import run_business_day
from servicing.escrow import add_escrow_item
from servicing.loan_view import LEDGER_PER_PAGE
from servicing.queries import loan_summary, payoff_for
from servicing.specialists import Role
from servicing.store.accounts import ledger_balances
from servicing.store.models import (
    ApprovalRequest,
    AuditEntry,
    Case,
    EscrowAnalysis,
    Fee,
    LedgerEntry,
    Loan,
    OutboxItem,
    Payment,
    Workout,
)
from tests.integration.console_helpers import STAFF, sessions_of, signed_in, staffed_console
from tests.integration.helpers import board
from tests.integration.test_console_auth import create_specialist, csrf_token

TODAY = date(2026, 2, 20)
LATE_FEE_DAY = date(2026, 2, 17)  # the February 1 installment is past its 15 days of grace
FLASH = re.compile(r'<li class="flash-(\w+)" role="status">(.*?)</li>', re.S)


@pytest.fixture
def app(database_url: str, cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """A console on a database holding one Spanish-speaking borrower's mortgage, a month behind with a late fee."""
    staff = (*STAFF, ("ada", Role.ADMIN))  # a second checker: a supervisor's own requests need another person
    with staffed_console(database_url, TODAY.isoformat(), monkeypatch, staff) as app:
        with sessions_of(app).begin() as session:
            app.config["LOAN"] = board(session, locale="es", borrower_last_name="Zapata", loan_number="4400081005")
        with sessions_of(app).begin() as session:
            run_business_day(session, LATE_FEE_DAY, "eod")
        yield app


def db(app: Flask) -> Session:
    session: Session = app.extensions["loanline.sessions"]()
    return session


def loan_of(app: Flask) -> str:
    return str(app.config["LOAN"])


def client_of(app: Flask, username: str) -> FlaskClient:
    """Return a browser logged in as `username`, holding its session's CSRF token."""
    client = signed_in(app, username)
    client.csrf_token = csrf_token(client, "/console/")  # type: ignore[attr-defined]
    return client


def act(client: FlaskClient, path: str, data: dict[str, Any], *, token: bool = True) -> TestResponse:
    """Post an action form as the browser would (with the session's CSRF token unless told otherwise).

    A money-moving action answers with its preview: this confirms it as the specialist would, by posting the
    preview's own form (the same fields, the loan's state as previewed and the request key).
    """
    form = {**data, "csrf_token": client.csrf_token} if token else dict(data)  # type: ignore[attr-defined]
    response = client.post(path, data=form)
    page = response.get_data(as_text=True)
    if response.status_code == 200 and 'id="confirm-action"' in page:
        return client.post(path, data=form_on_page(page, path))
    return response


def preview_of(client: FlaskClient, path: str, data: dict[str, Any]) -> str:
    """Post an action form and return the preview page it answers with (nothing is done)."""
    response = client.post(path, data={**data, "csrf_token": client.csrf_token})  # type: ignore[attr-defined]
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def approve_latest(app: Flask, checker: str = "ada") -> TestResponse:
    """Approve the latest request waiting for approval as a checker would: from its page, as the page shows it."""
    with db(app) as session:
        request_id = session.scalar(select(func.max(ApprovalRequest.id)).where(ApprovalRequest.status == "pending"))
    assert request_id is not None
    client = client_of(app, checker)
    page = client.get(f"/console/approvals/{request_id}").get_data(as_text=True)
    return client.post(f"/console/approvals/{request_id}/approve",
                       data=form_on_page(page, f"/console/approvals/{request_id}/approve"))  # fmt: skip


def flashes(client: FlaskClient, loan_number: str) -> list[tuple[str, str]]:
    return FLASH.findall(client.get(f"/console/loans/{loan_number}").get_data(as_text=True))


def state(app: Flask) -> tuple[Any, ...]:
    """Everything an action could change: balances, ledger, payments, fees, workouts, outbox, actions audited."""
    with db(app) as session:
        loan = session.scalar(select(Loan).where(Loan.loan_number == loan_of(app)))
        assert loan is not None
        return (
            loan.principal_balance, loan.interest_balance, loan.escrow_balance, loan.fees_balance,
            loan.suspense_balance, loan.deferred_balance, loan.installments_paid,
            session.scalar(select(func.count()).select_from(LedgerEntry)),
            tuple(session.execute(select(Payment.reference, Payment.status).order_by(Payment.id))),
            tuple(session.execute(select(Fee.id, Fee.outstanding).order_by(Fee.id))),
            tuple(session.execute(select(Workout.id, Workout.status).order_by(Workout.id))),
            session.scalar(select(func.count()).select_from(OutboxItem)),
            session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action != "view",
                                                                                 AuditEntry.action != "login")),
        )  # fmt: skip


def audits(app: Flask, action: str) -> list[AuditEntry]:
    with db(app) as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def assert_ledger_agrees(app: Flask) -> None:
    with db(app) as session:
        sums = ledger_balances(session)
        for loan in session.scalars(select(Loan)):
            cached = (loan.principal_balance, loan.interest_balance, loan.escrow_balance, loan.fees_balance,
                      loan.suspense_balance, loan.deferred_balance)  # fmt: skip
            b = sums[loan.id]
            assert cached == (b.principal, b.interest, b.escrow, b.fees, b.suspense, b.deferred), loan.loan_number


def open_fee_id(app: Flask) -> int:
    with db(app) as session:
        fee_id = session.scalar(select(Fee.id).where(Fee.outstanding > 0).order_by(Fee.id))
        assert fee_id is not None
        return fee_id


def post_payment(client: FlaskClient, loan_number: str, amount: str, reference: str, **extra: str) -> TestResponse:
    data = {"amount": amount, "received_on": TODAY.isoformat(), "reference": reference,
            "reason": "borrower paid by phone", **extra}  # fmt: skip
    return act(client, f"/console/loans/{loan_number}/payments", data)


# -- pages ----------------------------------------------------------------------------------------------


def test_the_loan_page_shows_the_balances_the_core_computes(app: Flask) -> None:
    number = loan_of(app)
    with db(app) as session:
        summary = loan_summary(session, number, today=TODAY)
    page = client_of(app, "sam").get(f"/console/loans/{number}").get_data(as_text=True)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        for figure in (summary.principal_balance, summary.amount_due, summary.escrow_balance, summary.unpaid_fees):
            assert money(figure, "USD") in page
    assert summary.days_past_due == 16 and summary.unpaid_fees > 0
    assert f'id="days-past-due">{summary.days_past_due}<' in page
    assert "Zapata" in page and "late" in page and "<script" not in page and "style=" not in page
    assert [(a.subject_type, a.subject_id) for a in audits(app, "view")][-1] == ("loan", number)


def ledger_rows(page: str) -> int:
    """Return how many ledger rows a loan page lists."""
    section = page[page.index('id="ledger"') : page.index('aria-label="Ledger pages"')]
    return section.count('<tr id="entry-')


def test_the_ledger_is_paged_not_loaded_whole(app: Flask) -> None:
    number = loan_of(app)
    client = client_of(app, "sam")
    for n in range(LEDGER_PER_PAGE + 5):  # each small payment waits in suspense: one ledger line each at least
        post_payment(client, number, "1.00", f"small-{n}")
    with db(app) as session:
        total = session.scalar(select(func.count()).select_from(LedgerEntry))
    assert total is not None and total > LEDGER_PER_PAGE
    first = client.get(f"/console/loans/{number}").get_data(as_text=True)
    assert ledger_rows(first) == LEDGER_PER_PAGE and "Older entries" in first
    second = client.get(f"/console/loans/{number}?ledger_page=2").get_data(as_text=True)
    assert ledger_rows(second) == total - LEDGER_PER_PAGE and "Newer entries" in second


def test_a_search_finds_loans_by_number_or_last_name(app: Flask) -> None:
    client = client_of(app, "sam")
    number = loan_of(app)
    assert number in client.get("/console/loans/?q=zap").get_data(as_text=True)
    assert number in client.get(f"/console/loans/?q={number}").get_data(as_text=True)
    assert "No loan matches." in client.get("/console/loans/?q=nobody%25").get_data(as_text=True)


def test_the_payoff_quote_for_a_chosen_date_equals_the_cores(app: Flask) -> None:
    number = loan_of(app)
    with db(app) as session:
        quote = payoff_for(session, number, date(2026, 3, 10), today=TODAY)
    page = client_of(app, "sam").get(f"/console/loans/{number}/payoff?good_through=2026-03-10").get_data(as_text=True)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert f'id="payoff-total">{money(quote.total, "USD")}<' in page
        assert money(quote.per_diem, "USD") in page
        assert money(quote.escrow_refund, "USD") in page
    assert audits(app, "view")[-1].detail["path"] == f"/console/loans/{number}/payoff"


def test_the_modification_calculator_shows_each_steps_payment(app: Flask) -> None:
    number = loan_of(app)
    page = client_of(app, "sam").get(f"/console/loans/{number}/modification?rate=0.05").get_data(as_text=True)
    for step in ("capitalize_arrears", "reduce_rate", "extend_term"):
        assert f'class="step-{step}"' in page
    assert "Lower the rate" in page
    with db(app) as session:
        assert session.scalar(select(func.count()).select_from(Workout)) == 0  # nothing booked


def test_an_unknown_loan_is_not_found(app: Flask) -> None:
    client = client_of(app, "sam")
    for path in ("/console/loans/NOPE", "/console/loans/NOPE/payoff", "/console/loans/NOPE/modification"):
        assert client.get(path).status_code == 404


# -- posting and reversing a payment -----------------------------------------------------------------------


def test_a_manual_payment_submitted_twice_posts_once_and_says_so(app: Flask) -> None:
    number = loan_of(app)
    client = client_of(app, "sam")
    assert post_payment(client, number, "1198.45", "phone-1").status_code == 302
    messages = flashes(client, number)
    assert post_payment(client, number, "1198.45", "phone-1").status_code == 302
    messages += flashes(client, number)
    assert ("success", "Payment phone-1 posted.") in messages
    assert ("success", "Payment phone-1 was already posted; nothing changed.") in messages
    with db(app) as session:
        assert session.scalar(select(func.count()).select_from(Payment).where(Payment.reference == "phone-1")) == 1
    [entry] = audits(app, "payment.posted")
    assert (entry.actor, entry.detail["amount"], entry.detail["currency"]) == ("sam", "1198.45", "USD")
    assert entry.detail["reason"] == "borrower paid by phone"
    assert_ledger_agrees(app)


def test_a_refused_payment_is_flashed_and_changes_nothing(app: Flask) -> None:
    number = loan_of(app)
    client = client_of(app, "sam")
    before = state(app)
    post_payment(client, number, "-5.00", "neg-1")
    post_payment(client, number, "10.00", "future-1", received_on="2026-12-01")
    assert state(app) == before
    errors = [text for kind, text in flashes(client, number) if kind == "error"]
    assert any("future" in text for text in errors) and len(errors) == 2


def test_a_reversal_undoes_the_payment(app: Flask) -> None:
    number = loan_of(app)
    before = state(app)[:7]
    post_payment(client_of(app, "sam"), number, "1198.45", "phone-2")
    assert state(app)[:7] != before
    response = act(client_of(app, "sam"), f"/console/loans/{number}/payments/reverse",
                   {"reference": "phone-2", "reason": "check bounced"})  # fmt: skip
    assert response.status_code == 302
    assert state(app)[:7] != before  # asked for, not done: a second person approves a reversal
    assert approve_latest(app, "sue").status_code == 302
    assert state(app)[:7] == before
    [entry] = audits(app, "payment.reversed")
    assert entry.actor == "sue" and entry.detail["reason"] == "check bounced"
    assert_ledger_agrees(app)


def test_a_payment_of_another_loan_is_not_reversed_from_this_one(app: Flask) -> None:
    with db(app) as session, session.begin():
        other = board(session)
    post_payment(client_of(app, "sam"), other, "10.00", "other-1")
    before = state(app)
    act(client_of(app, "sue"), f"/console/loans/{loan_of(app)}/payments/reverse",
        {"reference": "other-1", "reason": "wrong loan"})  # fmt: skip
    assert state(app) == before  # refused by the preview: no request either


# -- fee waiver, forbearance, workout decisions -----------------------------------------------------------------


def test_a_fee_waiver_zeroes_the_fee_with_a_ledger_entry(app: Flask) -> None:
    number = loan_of(app)
    fee_id = open_fee_id(app)
    response = act(client_of(app, "sue"), f"/console/loans/{number}/fees/waive",
                   {"fee_id": str(fee_id), "reason": "first late fee, goodwill"})  # fmt: skip
    assert response.status_code == 302
    with db(app) as session:
        fee = session.get_one(Fee, fee_id)
        assert fee.outstanding == 0
        assert session.scalar(select(Loan.fees_balance).where(Loan.loan_number == number)) == 0
        waived = session.scalar(select(LedgerEntry).where(LedgerEntry.kind == "fee_waived"))
        assert waived is not None and waived.fees == -fee.amount and waived.posted_by == "sue"
    assert audits(app, "fee.waived")[0].detail["reason"] == "first late fee, goodwill"
    assert_ledger_agrees(app)


def test_a_supervisor_runs_an_escrow_analysis_with_a_reason_and_it_is_audited(app: Flask) -> None:
    number = loan_of(app)
    with db(app) as session, session.begin():
        add_escrow_item(session, number, kind="property_tax", payee="Travis County", amount=Decimal("1200.00"),
                        next_due_date=date(2026, 6, 10), actor="test")  # fmt: skip
    # Analysis on the business date, 17 February: the year runs from the 1 March 2026 installment to
    # 1 February 2027; 1,200 a year: base 100, cushion 200. The 300 held and the 200 deposit of the unpaid
    # 1 February installment (counted as expected) make 500: Mar 600, Apr 700, May 800, Jun 900 - 1,200
    # = -300, the low point. Shortage 200 + 300 = 500, above the 200 deposit: spread, 500 / 12 = 41.67;
    # deposit 100 + 41.67 = 141.67 from 1 March. February keeps its 200.
    client = client_of(app, "sue")
    response = act(client, f"/console/loans/{number}/escrow-analysis", {"reason": "county sent the new tax bill"})
    assert response.status_code == 302
    assert ("success", "Escrow analyzed: the deposit is $141.67 from Mar 1, 2026.") in flashes(client, number)
    with db(app) as session:
        loan = session.scalars(select(Loan).where(Loan.loan_number == number)).one()
        assert (loan.escrow_monthly, loan.escrow_previous_monthly, loan.escrow_monthly_from) == (
            Decimal("141.67"),
            Decimal("200.00"),
            date(2026, 3, 1),
        )
        analysis = session.scalars(select(EscrowAnalysis)).one()
    assert (analysis.trigger, analysis.analyzed_by, analysis.reason) == (
        "on_demand",
        "sue",
        "county sent the new tax bill",
    )
    [audit] = audits(app, "escrow.analyzed")
    assert (audit.actor, audit.detail["reason"], audit.detail["shortage"]) == ("sue", "county sent the new tax bill",
                                                                                "500.00")  # fmt: skip
    page = client.get(f"/console/loans/{number}?tab=escrow").get_data(as_text=True)
    assert 'id="escrow-last-analysis">Last analysis Feb 17, 2026 (on demand, by sue): deposit $141.67' in page
    assert "Next annual analysis: Feb 2, 2027." in page  # the day after the year's last due date


def test_a_forbearance_is_placed_then_ended_and_the_borrower_told_in_spanish(app: Flask) -> None:
    number = loan_of(app)
    client = client_of(app, "sue")
    act(client, f"/console/loans/{number}/forbearance",
        {"months": "3", "reduced_payment": "0", "starts_on": "2026-02-01", "reason": "job loss",
         "confirm_disclosure": "y"})  # fmt: skip
    with db(app) as session:
        assert session.scalar(select(Workout)) is None  # asked for: booked once approved
    approve_latest(app)
    with db(app) as session:
        workout = session.scalar(select(Workout))
        assert workout is not None and (workout.kind, workout.status) == ("forbearance", "active")
        [notice] = session.scalars(select(OutboxItem))
        assert "aprobad" in notice.body.lower() and "préstamo que termina en 1005" in notice.body
        assert number not in notice.body
    assert "End the forbearance" in client.get(f"/console/loans/{number}?tab=workouts").get_data(as_text=True)
    act(client, f"/console/loans/{number}/forbearance/end", {"reason": "borrower back at work"})
    with db(app) as session:
        assert session.scalar(select(Workout.status)) == "ended"
    decisions = [(a.detail["decision"], a.detail["reason"]) for a in audits(app, "workout.decision")]
    assert decisions == [("approved", "job loss"), ("ended", "borrower back at work")]
    assert len(audits(app, "workout.forbearance_placed")) == 1


def test_an_approved_repayment_plan_queues_a_notice_in_the_borrowers_language(app: Flask) -> None:
    number = loan_of(app)
    act(client_of(app, "sam"), f"/console/loans/{number}/workout-decision",
        {"kind": "repayment_plan", "decision": "approve", "months": "3", "reason": "can pay extra",
         "confirm_disclosure": "y"})  # fmt: skip
    approve_latest(app, "sue")
    with db(app) as session:
        assert session.scalar(select(Workout.kind)) == "repayment_plan"
        [notice] = session.scalars(select(OutboxItem))
        assert "plan de pago" in notice.body.lower() and "US$" in notice.body
        assert notice.proactive
    [decision] = audits(app, "workout.decision")
    detail = decision.detail
    assert (decision.actor, detail["decision"], detail["reason"]) == ("sue", "approved", "can pay extra")
    assert decision.detail["terms"]["months"] == 3 and Decimal(decision.detail["terms"]["arrears"]) > 0
    assert len(audits(app, "workout.repayment_plan_started")) == 1


@pytest.mark.parametrize(
    ("terms", "words"),
    [
        ({"kind": "payment_deferral", "months": "1"}, "report de paiements"),
        ({"kind": "modification", "modification_rate": "0.03"}, "modification de votre prêt"),
    ],
)
def test_an_approved_deferral_or_modification_is_booked_and_told_in_french(
    app: Flask, terms: dict[str, str], words: str
) -> None:
    with db(app) as session, session.begin():
        number = board(session, locale="fr_CA")
    act(client_of(app, "sue"), f"/console/loans/{number}/workout-decision",
        {**terms, "decision": "approve", "reason": "hardship documented", "confirm_disclosure": "y"})  # fmt: skip
    approve_latest(app)
    with db(app) as session:
        loan = session.scalar(select(Loan).where(Loan.loan_number == number))
        assert loan is not None and loan.days_past_due == 0
        assert session.scalar(select(Workout.kind).where(Workout.loan_id == loan.id)) == terms["kind"]
        [notice] = session.scalars(select(OutboxItem))
        assert words in notice.body and "$" in notice.body
    assert_ledger_agrees(app)


NOTICE_REFUSAL = "Not done: the notice tells the borrower loan figures, and they have not verified on the channel"
NOTICE_CONFIRMATION = "The borrower has not verified on the channel the notice goes to. I confirm: send the notice"


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("forbearance", {"months": "3", "reduced_payment": "0", "starts_on": "2026-02-01"}),
        ("workout-decision", {"kind": "repayment_plan", "decision": "approve", "months": "3"}),
    ],
)
def test_a_notice_with_figures_to_an_unverified_borrower_needs_a_confirmation_and_names_the_loan_by_its_last_4(
    app: Flask, path: str, form: dict[str, str]
) -> None:
    number = loan_of(app)
    client = client_of(app, "sue")
    assert client.get(f"/console/loans/{number}?tab=workouts").get_data(as_text=True).count(NOTICE_CONFIRMATION) == 2
    before = state(app)

    act(client, f"/console/loans/{number}/{path}", {**form, "reason": "hardship documented"})

    assert state(app) == before  # no workout, no notice, no audit: nothing happened
    assert ("error", NOTICE_REFUSAL) in [(kind, text[: len(NOTICE_REFUSAL)]) for kind, text in flashes(client, number)]
    act(client, f"/console/loans/{number}/{path}", {**form, "reason": "hardship documented", "confirm_disclosure": "y"})
    approve_latest(app)
    with db(app) as session:
        assert session.scalar(select(Workout.kind)) in ("forbearance", "repayment_plan")
        [notice] = session.scalars(select(OutboxItem))
    assert "préstamo que termina en 1005" in notice.body and number not in notice.body


def test_a_notice_to_a_borrower_verified_on_their_conversation_needs_no_confirmation(app: Flask) -> None:
    number = loan_of(app)
    with db(app) as session, session.begin():
        loan = session.scalars(select(Loan).where(Loan.loan_number == number)).one()
        conversation = find_or_open_conversation(session, "sms", "+15550199999", datetime.now(UTC))
        conversation.borrower_id, conversation.last_message_at = loan.borrower_id, datetime.now(UTC)
        keep_verified(conversation, datetime.now(UTC))
    client = client_of(app, "sue")
    assert NOTICE_CONFIRMATION not in client.get(f"/console/loans/{number}?tab=workouts").get_data(as_text=True)

    act(client, f"/console/loans/{number}/forbearance",
        {"months": "3", "reduced_payment": "0", "starts_on": "2026-02-01", "reason": "job loss"})  # fmt: skip
    approve_latest(app)

    with db(app) as session:
        [notice] = session.scalars(select(OutboxItem))
    assert (notice.address, "1005" in notice.body) == ("+15550199999", True)


def test_a_denial_is_recorded_with_its_reason_against_the_case(app: Flask) -> None:
    number = loan_of(app)
    with db(app) as session, session.begin():
        loan = session.scalar(select(Loan).where(Loan.loan_number == number))
        assert loan is not None
        case = open_case(session, CaseKind.LOSS_MITIGATION, loan_id=loan.id, borrower_id=loan.borrower_id,
                         opened_on=TODAY, source="console", country="US", actor="test")  # fmt: skip
        for status in ("submitted_complete", "under_review"):
            move_loss_mitigation(session, case.reference, status, TODAY, "test")
        reference = case.reference
    before = state(app)[:12]
    denial = {"kind": "modification", "decision": "deny", "reason": "income too low", "case_reference": reference}
    act(client_of(app, "sue"), f"/console/loans/{number}/workout-decision", denial)
    assert state(app)[:12] == before  # no workout, no money, no notice
    [entry] = audits(app, "workout.decision")
    assert entry.detail == {"decision": "denied", "kind": "modification", "reason": "income too low",
                            "case": reference}  # fmt: skip
    with db(app) as session:  # the case's own decision and notice are made on the case, in the worklist
        assert session.scalar(select(Case.status).where(Case.reference == reference)) == "under_review"


# -- refusals: no reason, no CSRF token, a role too low ----------------------------------------------------------

ACTIONS = {
    "payments": {"amount": "10.00", "received_on": TODAY.isoformat(), "reference": "r-1"},
    "payments/reverse": {"reference": "seed-1"},
    "fees/waive": {"fee_id": "FEE"},
    "forbearance": {"months": "3", "reduced_payment": "0", "starts_on": "2026-02-01"},
    "forbearance/end": {},
    "workout-decision": {"kind": "repayment_plan", "decision": "approve", "months": "3"},
    "escrow-analysis": {},
}


def fill(app: Flask, data: dict[str, str]) -> dict[str, str]:
    return {key: str(open_fee_id(app)) if value == "FEE" else value for key, value in data.items()}


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_an_action_without_a_reason_is_refused_and_changes_nothing(app: Flask, action: str) -> None:
    number = loan_of(app)
    post_payment(client_of(app, "sam"), number, "5.00", "seed-1")
    before = state(app)
    client = client_of(app, "sue")
    response = act(client, f"/console/loans/{number}/{action}", fill(app, ACTIONS[action]))
    assert response.status_code == 302
    assert state(app) == before
    assert any(kind == "error" and "Reason" in text for kind, text in flashes(client, number))


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_an_action_without_the_csrf_token_is_refused(app: Flask, action: str) -> None:
    number = loan_of(app)
    before = state(app)
    data = {**fill(app, ACTIONS[action]), "reason": "because"}
    response = act(client_of(app, "sue"), f"/console/loans/{number}/{action}", data, token=False)
    assert response.status_code == 400
    assert state(app) == before


SUPERVISORS_ONLY = ("forbearance/end", "escrow-analysis")
ASKED_FOR = ("payments/reverse", "forbearance", "workout-decision")


@pytest.mark.parametrize("action", SUPERVISORS_ONLY)
def test_a_specialist_may_not_end_a_forbearance_or_analyze_escrow(app: Flask, action: str) -> None:
    number = loan_of(app)
    before = state(app)
    data = {**fill(app, ACTIONS[action]), "reason": "because"}
    assert act(client_of(app, "sam"), f"/console/loans/{number}/{action}", data).status_code == 403
    assert state(app) == before


@pytest.mark.parametrize("action", ASKED_FOR)
def test_a_specialists_reversal_or_workout_waits_for_a_checker_and_moves_nothing(app: Flask, action: str) -> None:
    number = loan_of(app)
    post_payment(client_of(app, "sam"), number, "5.00", "seed-1")
    before = state(app)
    data = {**fill(app, ACTIONS[action]), "reason": "because", "confirm_disclosure": "y"}
    assert act(client_of(app, "sam"), f"/console/loans/{number}/{action}", data).status_code == 302
    assert state(app)[:12] == before[:12]  # money, workouts, notices: untouched
    with db(app) as session:
        request = session.scalars(select(ApprovalRequest)).one()
    assert (request.status, request.requested_by) == ("pending", "sam")
    assert [a.actor for a in audits(app, "approval.requested")] == ["sam"]


def test_a_specialist_may_not_deny_a_workout(app: Flask) -> None:
    before = state(app)
    denial = {"kind": "modification", "decision": "deny", "reason": "income too low"}
    assert act(client_of(app, "sam"), f"/console/loans/{loan_of(app)}/workout-decision", denial).status_code == 403
    assert state(app) == before


def test_a_specialist_sees_the_request_forms_and_only_a_supervisor_the_decision_forms(app: Flask) -> None:
    number = loan_of(app)
    specialist, supervisor = client_of(app, "sam"), client_of(app, "sue")
    for client in (specialist, supervisor):
        ledger = client.get(f"/console/loans/{number}?tab=ledger").get_data(as_text=True)
        workouts = client.get(f"/console/loans/{number}?tab=workouts").get_data(as_text=True)
        assert "Post a payment received" in ledger and "Waive fee" in ledger and "Place a forbearance" in workouts
    escrow = "Analyze the escrow account now"
    assert escrow not in specialist.get(f"/console/loans/{number}?tab=escrow").get_data(as_text=True)
    assert escrow in supervisor.get(f"/console/loans/{number}?tab=escrow").get_data(as_text=True)
    assert 'id="foreclosure-referral"' not in specialist.get(f"/console/loans/{number}?tab=workouts").get_data(
        as_text=True
    )


def test_the_page_speaks_the_specialists_language(app: Flask) -> None:
    create_specialist(app, "amelie", Role.SPECIALIST, locale="fr")
    page = client_of(app, "amelie").get(f"/console/loans/{loan_of(app)}").get_data(as_text=True)
    assert '<html lang="fr">' in page


def test_a_payoff_good_through_a_past_date_is_refused_and_the_default_quoted(app: Flask) -> None:
    number = loan_of(app)
    page = client_of(app, "sam").get(f"/console/loans/{number}/payoff?good_through=2025-01-01").get_data(as_text=True)
    assert "A payoff is quoted good through a date on or after 2026-02-17." in page
    assert 'value="2026-02-27"' in page  # the business date plus 10 days


HIDDEN = re.compile(r'<input[^>]*type="hidden"[^>]*>')
ATTRIBUTE = re.compile(r'(name|value)="([^"]*)"')


def form_on_page(page: str, action: str) -> dict[str, str]:
    """Return the hidden fields of the first form on the page posting to `action`, as a browser would send them."""
    start = page.index(f'action="{action}"')
    form = page[start : page.index("</form>", start)]
    fields = {}
    for tag in HIDDEN.findall(form):
        attributes = dict(ATTRIBUTE.findall(tag))
        fields[attributes["name"]] = attributes.get("value", "")
    return fields


def test_the_forms_drawn_on_the_page_post_as_they_are(app: Flask) -> None:
    number = loan_of(app)
    specialist, supervisor = client_of(app, "sam"), client_of(app, "sue")
    page = specialist.get(f"/console/loans/{number}").get_data(as_text=True)
    payment = form_on_page(page, f"/console/loans/{number}/payments")
    assert payment["csrf_token"] and "reference" not in payment
    reference = re.search(r'name="reference" required type="text" value="([^"]+)"', page)
    assert reference is not None and reference.group(1).startswith("console-")
    data = {**payment, "amount": "25.00", "received_on": TODAY.isoformat(), "reference": reference.group(1),
            "reason": "phone"}  # fmt: skip
    preview = specialist.post(f"/console/loans/{number}/payments", data=data).get_data(as_text=True)
    assert 'id="effect-entries"' in preview  # the allocation, before anything is posted
    confirm = form_on_page(preview, f"/console/loans/{number}/payments")
    specialist.post(f"/console/loans/{number}/payments", data=confirm)
    specialist.post(f"/console/loans/{number}/payments", data=confirm)  # the browser resubmits
    page = supervisor.get(f"/console/loans/{number}").get_data(as_text=True)
    reversal = form_on_page(page, f"/console/loans/{number}/payments/reverse")
    assert reversal["reference"] == reference.group(1)
    preview = supervisor.post(f"/console/loans/{number}/payments/reverse", data={**reversal, "reason": "duplicate"})
    confirm = form_on_page(preview.get_data(as_text=True), f"/console/loans/{number}/payments/reverse")
    supervisor.post(f"/console/loans/{number}/payments/reverse", data=confirm)
    supervisor.post(f"/console/loans/{number}/payments/reverse", data=confirm)  # the browser resubmits: asked once
    with db(app) as session:
        assert session.scalar(select(func.count()).select_from(ApprovalRequest)) == 1
    approve_latest(app)
    waiver = form_on_page(supervisor.get(f"/console/loans/{number}").get_data(as_text=True),
                          f"/console/loans/{number}/fees/waive")  # fmt: skip
    preview = supervisor.post(f"/console/loans/{number}/fees/waive", data={**waiver, "reason": "goodwill"})
    supervisor.post(
        f"/console/loans/{number}/fees/waive",
        data=form_on_page(preview.get_data(as_text=True), f"/console/loans/{number}/fees/waive"),
    )
    with db(app) as session:
        assert list(session.execute(select(Payment.reference, Payment.status))) == [(reference.group(1), "reversed")]
        assert session.scalar(select(Loan.fees_balance).where(Loan.loan_number == number)) == 0
    assert_ledger_agrees(app)


def test_a_paid_off_loan_and_a_daily_simple_interest_loan_show_their_pages(app: Flask) -> None:
    with db(app) as session, session.begin():
        personal = board(session, product="personal", interest_method="actual/365", escrow_monthly="0",
                         escrow_balance="0", original_principal="12000.00", term_months="48")  # fmt: skip
    number = loan_of(app)
    with db(app) as session:
        total = payoff_for(session, number, TODAY, today=TODAY).total
    specialist = client_of(app, "sam")
    post_payment(specialist, number, str(total), "payoff-1")
    with db(app) as session:
        assert session.scalar(select(Loan.status).where(Loan.loan_number == number)) == "paid_off"
    closed = specialist.get(f"/console/loans/{number}").get_data(as_text=True)
    assert 'id="loan-status">Paid off<' in closed and "Post a payment received" not in closed
    assert "Nothing left to pay." in specialist.get(f"/console/loans/{number}?tab=schedule").get_data(as_text=True)
    assert specialist.get(f"/console/loans/{number}/payoff").status_code == 302  # nothing to pay off: flashed
    daily = specialist.get(f"/console/loans/{personal}?tab=escrow").get_data(as_text=True)
    assert "This loan has no escrow account." in daily and "Personal loan" in daily


def test_every_field_on_the_loan_page_has_its_own_id_and_label(app: Flask) -> None:
    number = loan_of(app)
    post_payment(client_of(app, "sam"), number, "5.00", "seed-1")
    client, labelled_anywhere = client_of(app, "sue"), set()
    for tab in ("ledger", "schedule", "escrow", "cases", "workouts", "conversations", "documents", "audit"):
        page = client.get(f"/console/loans/{number}?tab={tab}").get_data(as_text=True)
        ids = re.findall(r'\sid="([^"]+)"', page)
        assert sorted(ids) == sorted(set(ids)), tab
        labelled = re.findall(r'<label for="([^"]+)"', page)
        assert set(labelled) <= set(ids), tab
        labelled_anywhere |= set(labelled)
    assert {"decision-months", "forbearance-months", "payment-amount"} <= labelled_anywhere


def test_a_notice_of_error_received_by_mail_is_opened_from_the_loan_page_with_its_clock_from_receipt(
    app: Flask,
) -> None:
    # received Monday 2026-02-16 (Presidents' Day, a US holiday), keyed in on 2026-02-20: acknowledge within
    # 5 business days of receipt (Feb 17-20 (4), 23 (5)) and resolve a payoff-statement error within 7
    # (Feb 24 (6), 25 (7)), not from the day it was keyed in
    number, client = loan_of(app), client_of(app, "sam")
    response = act(client, f"/console/loans/{number}/cases", {
        "kind": "notice_of_error", "topic": "payoff_statement", "received_on": "2026-02-16",
        "reason": "letter: the payoff statement omits my last payment",
    })  # fmt: skip
    assert response.status_code == 302
    with db(app) as session:
        case = session.scalars(select(Case).where(Case.kind == "notice_of_error")).one()
        assert (case.opened_on, case.source, case.data["topic"]) == (date(2026, 2, 16), "console", "payoff_statement")
        assert case.summary == "letter: the payoff statement omits my last payment"
        assert {d.name: d.due_on for d in case.deadlines} == {
            "acknowledge": date(2026, 2, 23),
            "resolve": date(2026, 2, 25),
        }
    assert [a.actor for a in audits(app, "case.opened")] == ["sam"]
    [(kind, text)] = flashes(client, number)
    assert kind == "success" and case.reference in text


def test_a_request_the_kind_does_not_allow_is_refused_and_opens_nothing(app: Flask) -> None:
    number = loan_of(app)
    act(client_of(app, "sam"), f"/console/loans/{number}/cases", {
        "kind": "request_for_information", "topic": "payoff_statement", "received_on": "2026-02-16",
        "reason": "who owns my loan?",
    })  # fmt: skip
    with db(app) as session:
        assert session.scalars(select(Case)).all() == []


def test_a_referral_to_foreclosure_before_day_121_is_refused_and_changes_nothing(app: Flask) -> None:
    # the loan is 19 days past its 2026-02-01 installment on 2026-02-20: Reg X 1024.41(f)(1) forbids a referral
    number, client = loan_of(app), client_of(app, "sue")
    page = client.get(f"/console/loans/{number}?tab=workouts").get_data(as_text=True)
    assert 'id="foreclosure-referral"' in page and "Not referred." in page
    before = state(app)
    act(client, f"/console/loans/{number}/foreclosure/referral", {"on": "2026-02-20", "reason": "file review"})
    [(kind, text)] = flashes(client, number)
    assert kind == "error" and "19 days delinquent" in text and "2026-06-02" in text
    assert state(app) == before
    assert act(client_of(app, "sam"), f"/console/loans/{number}/foreclosure/referral",
               {"on": "2026-02-20", "reason": "x"}).status_code == 403  # fmt: skip
