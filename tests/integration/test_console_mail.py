"""The loan page's mail in the console: addresses, E-SIGN consent, preferences and the documents (view, download,
re-send, print again), each audited, CSRF-protected, and refused with a clear message that changes nothing."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from servicing.config import Settings
from servicing.documents.render import Renderer
from servicing.store.models import AuditEntry, Borrower, Document, EsignConsent, Loan, OutboxItem
from tests.integration.console_helpers import sessions_of, signed_in, staffed_console
from tests.integration.document_helpers import NO_ADDRESS, Notices, a_loan, keep_notice, render_notices
from tests.integration.test_console_auth import csrf_token

TODAY = date(2026, 3, 20)
FLASH = re.compile(r'<li class="flash-(\w+)" role="status">(.*?)</li>', re.S)


@pytest.fixture(scope="module")
def notices() -> Notices:
    return render_notices(Renderer(), TODAY)


@pytest.fixture
def app(
    database_url: str, cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, notices: Notices, tmp_path: Path
) -> Iterator[Flask]:
    """A console with two loans: one with a mailing address and two documents, one with neither."""
    monkeypatch.setenv("LOANLINE_DOCUMENTS_DIR", str(tmp_path / "documents"))
    with staffed_console(database_url, TODAY.isoformat(), monkeypatch) as app:
        root = Settings.from_env().documents_dir
        with sessions_of(app).begin() as session:
            loan = a_loan(session, loan_number="4400081005")
            other = a_loan(session, loan_number="4400081006", **NO_ADDRESS)
            paper = keep_notice(session, root, loan, notices.one_page, TODAY)
            second = keep_notice(session, root, loan, notices.two_pages, TODAY, period="fee:2")
            elsewhere = keep_notice(session, root, other, notices.one_page, TODAY)
            app.config.update(LOAN=loan.loan_number, OTHER=other.loan_number,
                              DOCUMENTS=(paper.id, second.id, elsewhere.id))  # fmt: skip
        yield app


def client_of(app: Flask, username: str) -> FlaskClient:
    client = signed_in(app, username)
    client.csrf_token = csrf_token(client, "/console/")  # type: ignore[attr-defined]
    return client


def act(client: FlaskClient, path: str, data: dict[str, Any], *, token: bool = True) -> TestResponse:
    form = {**data, "csrf_token": client.csrf_token} if token else dict(data)  # type: ignore[attr-defined]
    return client.post(path, data=form)


def flashes(client: FlaskClient, loan_number: str) -> list[tuple[str, str]]:
    page = client.get(f"/console/loans/{loan_number}?tab=documents").get_data(as_text=True)
    return [(kind, html.unescape(text)) for kind, text in FLASH.findall(page)]


def audits(app: Flask, action: str) -> list[AuditEntry]:
    with sessions_of(app)() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def db(app: Flask) -> Session:
    return sessions_of(app)()


ADDRESS = {"line1": "400 Park Avenue South", "line2": "Apt 9", "city": "New York", "region": "NY",
           "postal_code": "10016", "country": "US", "reason": "Borrower called: moved"}  # fmt: skip


def test_the_loan_page_shows_addresses_consent_preferences_and_documents(app: Flask) -> None:
    client = client_of(app, "sam")
    page = client.get(f"/console/loans/{app.config['LOAN']}?tab=documents").get_data(as_text=True)
    assert "Mail and documents" in page and "12 Main St" in page and "New York NY 10001" in page
    assert "No consent in force: every document goes on paper." in page and "None: paper for every kind." in page
    paper, second, elsewhere = app.config["DOCUMENTS"]
    assert f'id="document-{paper}"' in page and f'id="document-{second}"' in page
    assert f'id="document-{elsewhere}"' not in page  # another loan's
    assert f"/console/loans/{app.config['LOAN']}/documents/{paper}/download" in page
    bare = client.get(f"/console/loans/{app.config['OTHER']}?tab=documents").get_data(as_text=True)
    assert "No mailing address on file: paper documents are held, not printed." in bare


def test_viewing_and_downloading_a_document_are_audited_and_another_loans_document_is_not_found(app: Flask) -> None:
    client = client_of(app, "sam")
    paper, _, elsewhere = app.config["DOCUMENTS"]
    base = f"/console/loans/{app.config['LOAN']}/documents"
    shown = client.get(f"{base}/{paper}")
    assert shown.status_code == 200 and shown.mimetype == "application/pdf" and shown.data.startswith(b"%PDF")
    assert shown.headers["Content-Disposition"].startswith("inline; ")
    assert "object-src 'self'" in shown.headers["Content-Security-Policy"]
    assert shown.headers["Cache-Control"] == "no-store"
    kept = client.get(f"{base}/{paper}/download")
    assert kept.headers["Content-Disposition"] == f'attachment; filename="late_notice-{app.config["LOAN"]}-fee_1.pdf"'
    assert kept.data == shown.data
    assert client.get(f"{base}/{elsewhere}").status_code == 404
    assert client.get(f"{base}/999999/download").status_code == 404
    viewed, downloaded = audits(app, "document.viewed"), audits(app, "document.downloaded")
    assert [(e.actor, e.subject_id, e.detail["document"]) for e in viewed] == [("sam", app.config["LOAN"], paper)]
    assert [(e.actor, e.detail["document"]) for e in downloaded] == [("sam", paper)]


def test_a_changed_file_is_not_shown_and_the_specialist_is_told(app: Flask) -> None:
    paper = app.config["DOCUMENTS"][0]
    with db(app) as session:
        path = Settings.from_env().documents_dir / session.get_one(Document, paper).storage_path
    path.write_bytes(path.read_bytes() + b"%")
    client = client_of(app, "sam")
    response = client.get(f"/console/loans/{app.config['LOAN']}/documents/{paper}")
    assert response.status_code == 302
    assert ("error", f"Document {paper} was not shown: its file no longer matches the fingerprint it was made "
            "with. Tell your supervisor.") in flashes(client, app.config["LOAN"])  # fmt: skip
    assert audits(app, "document.viewed") == []


def test_printing_again_puts_a_document_back_in_the_next_batch_and_a_held_one_is_refused(app: Flask) -> None:
    client = client_of(app, "sam")
    paper, _, elsewhere = app.config["DOCUMENTS"]
    with sessions_of(app).begin() as session:
        session.get_one(Document, paper).delivery_status = "printed"
        held = session.get_one(Document, elsewhere)
        held.delivery_status, held.flags = "held", ["no_mailing_address"]
    act(client, f"/console/loans/{app.config['LOAN']}/documents/{paper}/print", {"reason": "Returned mail"})
    assert ("success", f"Document {paper} goes into the next print batch.") in flashes(client, app.config["LOAN"])
    act(client, f"/console/loans/{app.config['OTHER']}/documents/{elsewhere}/print", {"reason": "Please"})
    refused = flashes(client, app.config["OTHER"])
    assert refused and refused[0][0] == "error" and "made without a mailing address" in refused[0][1]
    with db(app) as session:
        assert session.get_one(Document, paper).delivery_status == "pending"
        assert session.get_one(Document, elsewhere).delivery_status == "held"
    [entry] = audits(app, "document.print_again")
    assert entry.detail["before"]["status"] == "printed" and entry.detail["reason"] == "Returned mail"


def test_resending_an_electronic_document_tells_the_borrower_again(app: Flask) -> None:
    client = client_of(app, "sam")
    paper = app.config["DOCUMENTS"][0]
    path = f"/console/loans/{app.config['LOAN']}/documents/{paper}/resend"
    act(client, path, {"reason": "Borrower asked"})
    assert flashes(client, app.config["LOAN"])[0] == ("error", "Refused: this document goes on paper: print it "
                                                              "again instead")  # fmt: skip
    with sessions_of(app).begin() as session:
        session.get_one(Document, paper).delivery = "electronic"
    assert act(client, path, {"reason": ""}).status_code == 302
    assert flashes(client, app.config["LOAN"])[0][0] == "error"  # a reason is required
    act(client, path, {"reason": "Borrower asked"})
    told = f"The borrower is told again that document {paper} is ready."
    assert ("success", told) in flashes(client, app.config["LOAN"])
    with db(app) as session:
        [body] = session.scalars(select(OutboxItem.body)).all()
        assert "Late payment notice" in body and session.get_one(Document, paper).delivery_status == "notified"
    assert [e.detail["reason"] for e in audits(app, "document.resent")] == ["Borrower asked"]


def test_editing_the_mailing_address_saves_it_audited_and_a_bad_one_changes_nothing(app: Flask) -> None:
    client = client_of(app, "sam")
    loan = app.config["LOAN"]
    act(client, f"/console/loans/{loan}/mailing-address", {**ADDRESS, "postal_code": "1001"})
    [(kind, text)] = flashes(client, loan)
    assert kind == "error" and "mailing_postal_code: '1001' is not a postal code of US" in text
    assert act(client, f"/console/loans/{loan}/mailing-address", ADDRESS, token=False).status_code == 400
    assert audits(app, "address.mailing_changed") == []
    act(client, f"/console/loans/{loan}/mailing-address", ADDRESS)
    assert ("success", "Address saved.") in flashes(client, loan)
    with db(app) as session:
        borrower_id = session.scalars(select(Loan.borrower_id).where(Loan.loan_number == loan)).one()
        borrower = session.get_one(Borrower, borrower_id)
        saved = (borrower.mailing_line1, borrower.mailing_line2, borrower.mailing_postal_code)
        assert saved == ("400 Park Avenue South", "Apt 9", "10016")
    [entry] = audits(app, "address.mailing_changed")
    assert entry.actor == "sam" and entry.detail["changed"] == ["line1", "line2", "postal_code"]
    assert "Park" not in str(entry.detail) and entry.detail["reason"] == "Borrower called: moved"
    page = client.get(f"/console/loans/{loan}?tab=documents").get_data(as_text=True)
    assert "400 Park Avenue South" in page and 'value="Apt 9"' in page


def test_a_property_address_abroad_is_saved_and_removed_with_a_reason(app: Flask) -> None:
    client = client_of(app, "sam")
    loan = app.config["OTHER"]
    abroad = {"line1": "Flat 4", "line2": "27 Waterloo Road", "city": "London", "region": "",
              "postal_code": "se1 7pb", "country": "gb", "reason": "Boarding file had none"}  # fmt: skip
    act(client, f"/console/loans/{loan}/property-address", abroad)
    page = client.get(f"/console/loans/{loan}?tab=documents").get_data(as_text=True)
    assert "SE1 7PB" in page and "UNITED KINGDOM" in page
    act(client, f"/console/loans/{loan}/property-address", {**dict.fromkeys(abroad, ""), "reason": "Sold"})
    assert ("success", "Address removed.") in flashes(client, loan)
    assert [e.detail["after"] for e in audits(app, "address.property_changed")][-1] is None


def test_a_consent_by_phone_then_electronic_delivery_then_its_withdrawal(app: Flask) -> None:
    client = client_of(app, "sam")
    loan = app.config["LOAN"]
    prefer = {"kind": "*", "channel": "electronic", "reason": "Borrower asked"}
    act(client, f"/console/loans/{loan}/delivery-preferences", prefer)
    assert flashes(client, loan)[0] == ("error", "Refused: electronic delivery needs the borrower's E-SIGN consent "
                                                 "first")  # fmt: skip
    act(client, f"/console/loans/{loan}/esign-consent", {"method": "console_phone", "evidence": ""})
    assert flashes(client, loan)[0][0] == "error"
    act(client, f"/console/loans/{loan}/esign-consent",
        {"method": "console_phone", "evidence": "Read the disclosure; she said yes and can open PDFs"})  # fmt: skip
    act(client, f"/console/loans/{loan}/delivery-preferences", prefer)
    page = client.get(f"/console/loans/{loan}?tab=documents").get_data(as_text=True)
    assert "In force since" in page and "recorded by sam (console_phone)" in page and "every kind" in page
    act(client, f"/console/loans/{loan}/esign-consent/revoke", {"method": "console_written", "reason": "Letter"})
    page = client.get(f"/console/loans/{loan}?tab=documents").get_data(as_text=True)
    assert "No consent in force" in page and "(paper until the borrower consents)" in page
    with db(app) as session:
        consent = session.scalars(select(EsignConsent)).one()
        assert (consent.recorded_by, consent.revoked_by, consent.revoke_method) == ("sam", "sam", "console_written")
    assert [len(audits(app, action)) for action in ("esign.consent_recorded", "esign.consent_revoked",
                                                    "delivery.preference_set")] == [1, 1, 1]  # fmt: skip


def test_every_mail_form_needs_the_csrf_token(app: Flask) -> None:
    client = client_of(app, "sam")
    loan, paper = app.config["LOAN"], app.config["DOCUMENTS"][0]
    for path in ("mailing-address", "property-address", "esign-consent", "esign-consent/revoke",
                 "delivery-preferences", f"documents/{paper}/resend", f"documents/{paper}/print"):  # fmt: skip
        assert act(client, f"/console/loans/{loan}/{path}", {"reason": "x"}, token=False).status_code == 400, path
    with db(app) as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action.not_in(("view", "login", "document.made", "specialist.add")))) == 0  # fmt: skip
