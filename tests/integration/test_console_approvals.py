"""Four eyes in the console: the preview, the request, the approvals page, and approving once, on a real database."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from servicing.eod import run_business_day
from servicing.specialists import Role
from servicing.store.models import ApprovalRequest, AuditEntry, Fee, LedgerEntry, Payment
from tests.integration.console_helpers import STAFF, sessions_of, staffed_console
from tests.integration.helpers import board
from tests.integration.test_console_auth import create_specialist
from tests.integration.test_console_loans import (
    LATE_FEE_DAY,
    TODAY,
    act,
    client_of,
    db,
    flashes,
    form_on_page,
    loan_of,
    post_payment,
    preview_of,
    state,
)


@pytest.fixture
def app(database_url: str, cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """A console whose fee waivers above 10.00 need approval, a loan a month behind with a 100.00 payment."""
    monkeypatch.setenv("LOANLINE_FEE_WAIVER_APPROVAL_ABOVE", "10.00")
    with staffed_console(database_url, TODAY.isoformat(), monkeypatch, (*STAFF, ("ada", Role.ADMIN))) as app:
        with sessions_of(app).begin() as session:
            app.config["LOAN"] = board(session, locale="es", borrower_last_name="Zapata", loan_number="4400081005")
        with sessions_of(app).begin() as session:
            run_business_day(session, LATE_FEE_DAY, "eod")
        post_payment(client_of(app, "sam"), loan_of(app), "100.00", "phone-1")
        yield app


def reversal_path(app: Flask) -> str:
    return f"/console/loans/{loan_of(app)}/payments/reverse"


def request_reversal(app: Flask, maker: str | FlaskClient = "sam") -> int:
    client = client_of(app, maker) if isinstance(maker, str) else maker
    act(client, reversal_path(app), {"reference": "phone-1", "reason": "the check bounced"})
    with db(app) as session:
        request_id = session.scalar(select(func.max(ApprovalRequest.id)))
    assert request_id is not None
    return request_id


def approval_form(client: FlaskClient, request_id: int) -> dict[str, str]:
    page = client.get(f"/console/approvals/{request_id}").get_data(as_text=True)
    return form_on_page(page, f"/console/approvals/{request_id}/approve")


def payment_status(app: Flask) -> str | None:
    with db(app) as session:
        return session.scalar(select(Payment.status).where(Payment.reference == "phone-1"))


def test_a_payments_preview_shows_its_allocation_and_changes_nothing(app: Flask) -> None:
    before = state(app)
    page = preview_of(client_of(app, "sam"), f"/console/loans/{loan_of(app)}/payments",
                      {"amount": "1500.00", "received_on": TODAY.isoformat(), "reference": "phone-2",
                       "reason": "paid by phone"})  # fmt: skip
    assert state(app) == before
    entries = page[page.index('id="effect-entries"') : page.index("</table>", page.index('id="effect-entries"'))]
    assert entries.count('class="entry-payment"') >= 2 and "$-42.58" in entries.replace("-$", "$-")  # the late fee
    assert 'class="figure-days_past_due changed"' in page and 'id="needs-approval"' not in page
    assert 'name="loan_state"' in page and 'name="request_key"' in page


def test_a_specialists_reversal_waits_in_the_approvals_list_with_a_count_in_the_nav(app: Flask) -> None:
    sam = client_of(app, "sam")
    request_id = request_reversal(app, sam)
    assert ("success", f"Sent for approval as request #{request_id}: nothing changes until a supervisor approves "
            "it.") in flashes(sam, loan_of(app))  # fmt: skip
    assert payment_status(app) == "posted"
    home = sam.get("/console/").get_data(as_text=True)
    assert re.search(r'href="/console/approvals/"[^>]*>Approvals \(1\)<', home)
    listing = sam.get("/console/approvals/").get_data(as_text=True)
    assert f'id="request-{request_id}"' in listing and "Payment reversal" in listing
    mine = sam.get(f"/console/approvals/{request_id}").get_data(as_text=True)
    assert 'id="maker-waits"' in mine and 'id="approve-request"' not in mine
    assert sam.post(f"/console/approvals/{request_id}/approve", data={"seen_state": "x"}).status_code in (400, 403)


def test_a_supervisor_approves_once_however_many_times_the_button_is_pressed(app: Flask) -> None:
    request_id = request_reversal(app)
    sue = client_of(app, "sue")
    form = approval_form(sue, request_id)
    first = sue.post(f"/console/approvals/{request_id}/approve", data=form)
    second = sue.post(f"/console/approvals/{request_id}/approve", data=form)  # a double click
    assert first.status_code == second.status_code == 302
    assert payment_status(app) == "reversed"
    with db(app) as session:
        reversed_entries = session.scalar(select(func.count()).select_from(AuditEntry)
                                          .where(AuditEntry.action == "payment.reversed"))  # fmt: skip
        approved = session.scalars(select(AuditEntry).where(AuditEntry.action == "approval.approved")).all()
    assert reversed_entries == 1 and [(a.actor, a.detail["maker"]) for a in approved] == [("sue", "sam")]
    page = sue.get("/console/approvals/").get_data(as_text=True)
    assert f"Request #{request_id} was already Approved by sue; nothing changed." in page


def test_a_supervisor_cannot_approve_their_own_request(app: Flask) -> None:
    request_id = request_reversal(app, maker="sue")
    sue = client_of(app, "sue")
    page = sue.get(f"/console/approvals/{request_id}").get_data(as_text=True)
    assert 'id="approve-request"' not in page
    before = state(app)
    form = approval_form(client_of(app, "ada"), request_id)  # the form another checker would post
    sue.post(f"/console/approvals/{request_id}/approve", data={**form, "csrf_token": sue.csrf_token})  # type: ignore[attr-defined]
    assert state(app) == before and payment_status(app) == "posted"
    assert any("a second person decides" in text for _, text in flashes(sue, loan_of(app)))


def test_a_loan_that_changed_after_the_checker_looked_is_not_approved_until_they_look_again(app: Flask) -> None:
    request_id = request_reversal(app)
    sue = client_of(app, "sue")
    stale = approval_form(sue, request_id)
    post_payment(client_of(app, "sam"), loan_of(app), "50.00", "phone-3")
    response = sue.post(f"/console/approvals/{request_id}/approve", data=stale)
    assert response.status_code == 302 and payment_status(app) == "posted"
    page = sue.get(f"/console/approvals/{request_id}").get_data(as_text=True)
    assert "The loan changed while you looked" in page and 'id="request-changed"' in page
    sue.post(
        f"/console/approvals/{request_id}/approve", data=form_on_page(page, f"/console/approvals/{request_id}/approve")
    )
    assert payment_status(app) == "reversed"
    with db(app) as session:
        assert session.scalar(select(AuditEntry.detail).where(AuditEntry.action == "approval.approved"))["recomputed"]


def test_a_rejection_needs_a_note_and_changes_nothing(app: Flask) -> None:
    request_id = request_reversal(app)
    sue = client_of(app, "sue")
    before = state(app)
    token = {"csrf_token": sue.csrf_token}  # type: ignore[attr-defined]
    sue.post(f"/console/approvals/{request_id}/reject", data={**token, "note": ""})
    with db(app) as session:
        assert session.get_one(ApprovalRequest, request_id).status == "pending"
    sue.post(f"/console/approvals/{request_id}/reject", data={**token, "note": "the check cleared after all"})
    assert state(app)[:12] == before[:12] and payment_status(app) == "posted"
    with db(app) as session:
        kept = session.get_one(ApprovalRequest, request_id)
    assert (kept.status, kept.decided_by, kept.decision_note) == ("rejected", "sue", "the check cleared after all")
    assert "Rejected" in sue.get("/console/approvals/?status=rejected").get_data(as_text=True)


def test_the_maker_withdraws_their_request_nobody_else_can_and_then_it_cannot_be_approved(app: Flask) -> None:
    sam, ana, sue = client_of(app, "sam"), client_of(app, "ana"), client_of(app, "sue")
    request_id = request_reversal(app, sam)
    assert 'id="withdraw-request"' not in ana.get(f"/console/approvals/{request_id}").get_data(as_text=True)
    assert 'id="withdraw-request"' not in sue.get(f"/console/approvals/{request_id}").get_data(as_text=True)
    for other in (ana, sue):  # the form the maker's page holds, posted by someone else
        other.post(f"/console/approvals/{request_id}/withdraw", data={"csrf_token": other.csrf_token})  # type: ignore[attr-defined]
        assert any("only the person who asked" in text for _, text in flashes(other, loan_of(app)))
    with db(app) as session:
        assert session.get_one(ApprovalRequest, request_id).status == "pending"
    checker_form = approval_form(sue, request_id)  # sue looks at it while the maker changes their mind

    mine = sam.get(f"/console/approvals/{request_id}").get_data(as_text=True)
    assert 'id="withdraw-request"' in mine and 'id="maker-waits"' in mine
    sam.post(f"/console/approvals/{request_id}/withdraw", data={"csrf_token": sam.csrf_token, "note": "x" * 201})  # type: ignore[attr-defined]
    assert any("Why (optional)" in text for _, text in flashes(sam, loan_of(app)))
    sam.post(f"/console/approvals/{request_id}/withdraw",
             data={"csrf_token": sam.csrf_token, "note": "wrong payment"})  # type: ignore[attr-defined]  # fmt: skip
    assert ("success", f"Request #{request_id} withdrawn.") in flashes(sam, loan_of(app))
    assert not re.search(r"Approvals \(\d+\)", sam.get("/console/").get_data(as_text=True))

    before = state(app)
    sue.post(f"/console/approvals/{request_id}/approve", data=checker_form)
    assert (f"Request #{request_id} was already Withdrawn by sam; nothing changed.") in [
        t for _, t in flashes(sue, loan_of(app))
    ]
    assert state(app) == before and payment_status(app) == "posted"
    listing = sue.get("/console/approvals/?status=withdrawn").get_data(as_text=True)
    assert f'id="request-{request_id}"' in listing
    with db(app) as session:
        kept = session.get_one(ApprovalRequest, request_id)
        withdrawn = session.scalars(select(AuditEntry).where(AuditEntry.action == "approval.withdrawn")).one()
    assert (kept.status, kept.decided_by, kept.decision_note) == ("withdrawn", "sam", "wrong payment")
    assert (withdrawn.actor, withdrawn.detail["note"]) == ("sam", "wrong payment")
    assert "Approval request withdrawn" in sue.get(f"/console/loans/{loan_of(app)}?tab=audit").get_data(as_text=True)


def test_a_fee_waiver_above_the_threshold_waits_and_one_below_is_done_at_once(app: Flask) -> None:
    with db(app) as session:
        fee = session.scalars(select(Fee)).one()
    act(
        client_of(app, "sam"),
        f"/console/loans/{loan_of(app)}/fees/waive",
        {"fee_id": str(fee.id), "reason": "goodwill"},
    )
    with db(app) as session:
        assert session.get_one(Fee, fee.id).outstanding == fee.outstanding  # 42.58 is above 10.00: asked for
        assert session.scalars(select(ApprovalRequest.kind)).one() == "fee_waiver"
    sue = client_of(app, "sue")
    sue.post("/console/approvals/1/approve", data=approval_form(sue, 1))
    with db(app) as session:
        assert session.get_one(Fee, fee.id).outstanding == 0
        assert session.scalar(select(LedgerEntry.posted_by).where(LedgerEntry.kind == "fee_waived")) == "sue"


def test_every_tab_of_the_loan_page_answers_and_speaks_the_specialists_language(app: Flask) -> None:
    create_specialist(app, "lucia", Role.SPECIALIST, locale="es")
    lucia, number = client_of(app, "lucia"), loan_of(app)
    for tab in ("ledger", "schedule", "escrow", "cases", "workouts", "conversations", "documents", "audit"):
        page = lucia.get(f"/console/loans/{number}?tab={tab}").get_data(as_text=True)
        assert f'id="tab-{tab}" aria-current="page"' in page, tab
    ledger = lucia.get(f"/console/loans/{number}").get_data(as_text=True)
    assert "Desembolso" in ledger and "Cargo por mora" in ledger and ">disbursement<" not in ledger
    history = lucia.get(f"/console/loans/{number}?tab=audit").get_data(as_text=True)
    assert "Pago registrado" in history and "Consultado" not in history  # specialists see changes, not views
    assert 'aria-current="page">Pagos y libro mayor' in lucia.get(f"/console/loans/{number}?tab=nope").get_data(
        as_text=True
    )
