"""Outreach in the open: `loanline report outreach`, the loan page's contact section (flags set by a specialist,
cleared by a supervisor, audited), the conversation page, and the outreach report's charts."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from loanline.cli import main
from servicing.conversations import find_or_open_conversation
from servicing.outreach.reminders import Outreach, queue_outreach
from servicing.rules.contact import DEFAULT_RULES
from servicing.specialists import Role
from servicing.store.models import AuditEntry, ContactFlag, Conversation
from tests.integration.console_helpers import sessions_of, signed_in, staffed_console
from tests.integration.helpers import board
from tests.integration.test_console_auth import create_specialist, csrf_token

TODAY = date(2026, 1, 27)
EVENING = datetime(2026, 1, 28, 6, 0, tzinfo=UTC)  # 1:00 in New York, 22:00 in Los Angeles: both wait


@pytest.fixture
def app(database_url: str, cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """A console with two borrowers reminded of their February payment: Ana Silva in New York, Lucía Zapata in
    Los Angeles (the evening run defers both to their 8:00)."""
    with staffed_console(database_url, TODAY.isoformat(), monkeypatch) as app:
        create_specialist(app, "lea", Role.SPECIALIST, locale="es")
        with sessions_of(app).begin() as session:
            app.config["ANA"] = board(session, loan_number="4400010001", timezone="America/New_York")
            app.config["LUCIA"] = board(session, loan_number="4400010002", borrower_first_name="Lucía",
                                        borrower_last_name="Zapata", locale="es_US",
                                        timezone="America/Los_Angeles")  # fmt: skip
            queue_outreach(session, TODAY, Outreach(DEFAULT_RULES, EVENING, "Acme", "+1 800 555 0199"))
        yield app


def run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False, prog_name="loanline")
    assert result.exit_code == 0, result.output
    return result.output


def client_of(app: Flask, username: str) -> FlaskClient:
    client = signed_in(app, username)
    client.csrf_token = csrf_token(client, "/console/")  # type: ignore[attr-defined]
    return client


def post(client: FlaskClient, path: str, **data: str) -> int:
    return client.post(path, data={**data, "csrf_token": client.csrf_token}).status_code  # type: ignore[attr-defined]


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def test_the_outreach_report_lists_every_decision_with_the_borrower_masked(app: Flask) -> None:
    rows = json.loads(run("report", "outreach", "--format", "json", "--from", "2026-01-28", "--to", "2026-01-28"))
    assert [(r["loan_number"], r["borrower"], r["kind"], r["channel"], r["status"], r["reason"], r["send_after"])
            for r in rows] == [
        ("4400010001", "A. S.", "payment_reminder", "sms", "deferred", "quiet_hours", "2026-01-28T13:00:00+00:00"),
        ("4400010002", "L. Z.", "payment_reminder", "sms", "deferred", "quiet_hours", "2026-01-28T16:00:00+00:00"),
    ]  # fmt: skip
    table = list(csv.DictReader(io.StringIO(run("report", "outreach"))))
    assert list(table[0]) == ["decided_at", "loan_number", "borrower", "kind", "purpose", "channel", "status",
                              "reason", "send_after"]  # fmt: skip
    assert "Silva" not in run("report", "outreach") and "Ana" not in run("report", "outreach")
    assert json.loads(run("report", "outreach", "--format", "json", "--to", "2026-01-27")) == []


def test_the_loan_page_shows_the_loans_decisions_and_a_specialist_sets_a_flag_that_is_audited(app: Flask) -> None:
    sam, loan = client_of(app, "sam"), app.config["ANA"]
    page = text_of(sam.get(f"/console/loans/{loan}?tab=conversations").get_data(as_text=True))
    assert "Contact" in page and "No contact flag in force." in page
    assert "Payment reminder sms deferred Outside the borrower's contact hours 2026-01-28 13:00" in page
    assert post(sam, f"/console/loans/{loan}/contact-flags", flag="cease_communication", every_loan="y",
                reason="Letter of January 26 asks us to stop") == 302  # fmt: skip
    page = text_of(sam.get(f"/console/loans/{loan}?tab=conversations").get_data(as_text=True))
    assert "Flag set: Cease communication." in page
    assert "Cease communication · every loan · set" in page and "Letter of January 26 asks us to stop" in page
    assert "Clear flag" not in page  # clearing is a supervisor's
    with sessions_of(app)() as session:
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "contact_flag.set")).one()
        assert (audit.actor, audit.subject_id, audit.detail["flag"]) == ("sam", loan, "cease_communication")
        assert "Letter" not in json.dumps(audit.detail)  # the note stays with the flag


def test_a_flag_is_refused_without_a_note_or_twice_and_cleared_only_by_a_supervisor(app: Flask) -> None:
    sam, sue, loan = client_of(app, "sam"), client_of(app, "sue"), app.config["ANA"]
    post(sam, f"/console/loans/{loan}/contact-flags", flag="bankruptcy", reason="")
    post(sam, f"/console/loans/{loan}/contact-flags", flag="bankruptcy", reason="chapter 7, case 26-10001")
    post(sam, f"/console/loans/{loan}/contact-flags", flag="bankruptcy", reason="again")
    page = text_of(sam.get(f"/console/loans/{loan}?tab=conversations").get_data(as_text=True))
    assert "Refused: bankruptcy is already set on this borrower or loan" in page
    with sessions_of(app)() as session:
        [flag] = session.scalars(select(ContactFlag)).all()
    assert post(sam, f"/console/loans/{loan}/contact-flags/clear", flag_id=str(flag.id), reason="dismissed") == 403
    assert post(sue, f"/console/loans/{loan}/contact-flags/clear", flag_id=str(flag.id), reason="dismissed") == 302
    page = sue.get(f"/console/loans/{loan}?tab=conversations").get_data(as_text=True)
    assert "Flag cleared: Bankruptcy." in text_of(page)
    with sessions_of(app)() as session:
        cleared = session.get_one(ContactFlag, flag.id)
        assert (cleared.cleared_by, cleared.clear_note) == ("sue", "dismissed")


def test_the_conversation_page_shows_the_borrowers_flags_and_decisions_in_spanish(app: Flask) -> None:
    with sessions_of(app).begin() as session:
        conversation = session.scalars(select(Conversation).where(Conversation.locale == "es_US")).one()
        conversation_id = conversation.id
    lea = client_of(app, "lea")
    post(lea, f"/console/loans/{app.config['LUCIA']}/contact-flags", flag="deceased", every_loan="y",
         reason="su hija llamó")  # fmt: skip
    page = text_of(lea.get(f"/console/conversations/{conversation_id}").get_data(as_text=True))
    assert "Contacto" in page and "Fallecido · todos los préstamos" in page
    assert "Recordatorio de pago sms aplazado Fuera del horario de contacto del prestatario" in page


def test_the_outreach_report_charts_decisions_by_status_and_reason(app: Flask) -> None:
    with sessions_of(app).begin() as session:
        find_or_open_conversation(session, "sms", "+15550000999", EVENING)
    page = signed_in(app, "sue").get("/console/reports/outreach").get_data(as_text=True)
    assert "Decisions by status" in page and "Deferred or suppressed, by reason" in page
    assert "<svg" in page and '<rect x="' in page and "deferred: 2" in page
    assert "Outside the borrower&#39;s contact hours: 2" in page
    assert "<script" not in page and "style=" not in page
    csv_page = signed_in(app, "sue").get("/console/reports/outreach?format=csv").get_data(as_text=True)
    assert csv_page.startswith("decided_at,loan_number,borrower,kind")
