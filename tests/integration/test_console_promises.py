"""Promises to pay in the console: recorded and cancelled on the loan page (CSRF, audit, bad input changes
nothing), shown on the loan and in the conversation's panel, the broken-promise worklist, and the report."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from servicing.conversations import find_or_open_conversation
from servicing.eod import run_eod
from servicing.outreach.promises import make_promise
from servicing.store.models import AuditEntry, Case, Loan, Promise
from tests.integration.console_helpers import sessions_of, signed_in, staffed_console
from tests.integration.helpers import board
from tests.integration.test_console_auth import create_specialist, csrf_token

TODAY = date(2026, 3, 2)
FRIDAY = date(2026, 3, 6)
FLASH = re.compile(r'<li class="flash-(\w+)" role="status">(.*?)</li>', re.S)


@pytest.fixture
def app(database_url: str, cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """A console on a database holding one mortgage whose first installment fell due yesterday."""
    with staffed_console(database_url, TODAY.isoformat(), monkeypatch) as app:
        with sessions_of(app).begin() as session:
            app.config["LOAN"] = board(session, date(2026, 2, 2), origination_date="2026-02-02",
                                       first_payment_date="2026-03-01", loan_number="4400077001",
                                       borrower_last_name="Okafor")  # fmt: skip
        yield app


def loan_of(app: Flask) -> str:
    return str(app.config["LOAN"])


def client_of(app: Flask, username: str = "sam") -> FlaskClient:
    client = signed_in(app, username)
    client.csrf_token = csrf_token(client, "/console/")  # type: ignore[attr-defined]
    return client


def act(client: FlaskClient, path: str, data: dict[str, Any], *, token: bool = True) -> TestResponse:
    form = {**data, "csrf_token": client.csrf_token} if token else dict(data)  # type: ignore[attr-defined]
    return client.post(path, data=form)


def record(client: FlaskClient, loan: str, amount: str = "600.00", day: date = FRIDAY, **extra: Any) -> TestResponse:
    data = {"amount": amount, "promised_for": day.isoformat(), "channel": "phone", **extra}
    return act(client, f"/console/loans/{loan}/promises", data)


def flashes(client: FlaskClient, loan: str) -> list[tuple[str, str]]:
    return FLASH.findall(client.get(f"/console/loans/{loan}?tab=conversations").get_data(as_text=True))


def promises(app: Flask) -> list[Promise]:
    with sessions_of(app)() as session:
        found = list(session.scalars(select(Promise).order_by(Promise.id)))
        session.expunge_all()
        return found


def audits(app: Flask, action: str) -> list[AuditEntry]:
    with sessions_of(app)() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def promises_section(page: str) -> str:
    return page[page.index('id="promises"') : page.index('aria-labelledby="contact"')]


def test_a_specialist_records_a_promise_made_by_phone_and_the_loan_page_shows_it(app: Flask) -> None:
    client, loan = client_of(app, "sam"), loan_of(app)
    response = record(client, loan, "600.00", FRIDAY)
    assert response.status_code == 302
    assert ("success", "Promise to pay $600.00 by Mar 6, 2026 recorded.") in flashes(client, loan)
    [made] = promises(app)
    assert (made.amount, made.promised_for, made.made_on, made.made_by, made.channel, made.status) == (
        Decimal("600.00"), FRIDAY, TODAY, "sam", "phone", "open",
    )  # fmt: skip
    [audit] = audits(app, "promise.made")
    assert (audit.actor, audit.subject_id) == ("sam", loan)
    section = promises_section(client.get(f"/console/loans/{loan}?tab=conversations").get_data(as_text=True))
    assert all(shown in section for shown in ("$600.00", "Mar 6, 2026", "open", "sam", "Phone call", "Mar 21, 2026"))
    assert "Cancel the promise" in section


def test_recording_without_the_csrf_token_is_refused(app: Flask) -> None:
    client, loan = client_of(app), loan_of(app)
    data = {"amount": "600.00", "promised_for": FRIDAY.isoformat(), "channel": "phone"}
    assert act(client, f"/console/loans/{loan}/promises", data, token=False).status_code == 400
    assert promises(app) == []


@pytest.mark.parametrize(
    ("amount", "day", "channel", "said"),
    [
        ("abc", FRIDAY, "phone", "Amount promised: Write the amount as digits"),
        ("1,000", FRIDAY, "phone", "Amount promised: Write the amount as digits"),
        ("0", FRIDAY, "phone", "Refused: a promise is for an amount more than zero"),
        ("600.00", date(2026, 2, 27), "phone", "Refused: the promised date 2026-02-27 has passed"),
        ("600.00", date(2026, 4, 2), "phone", "Refused: a promise is for a date at most 30 days ahead"),
        ("9000000.00", FRIDAY, "phone", "Refused: 9000000.00 USD is more than the payoff on 2026-03-06"),
        ("600.00", FRIDAY, "fax", "Channel: Not a valid choice"),
    ],
)
def test_a_bad_promise_is_refused_with_a_clear_error_and_changes_nothing(
    app: Flask, amount: str, day: date, channel: str, said: str
) -> None:
    client, loan = client_of(app), loan_of(app)
    record(client, loan, amount, day, channel=channel)
    shown = flashes(client, loan)
    assert any(kind == "error" and said in text for kind, text in shown), shown
    assert promises(app) == [] and audits(app, "promise.made") == []


def test_a_second_open_promise_is_refused(app: Flask) -> None:
    client, loan = client_of(app), loan_of(app)
    record(client, loan)
    record(client, loan, "100.00", date(2026, 3, 13))
    assert any("already has an open promise" in text for _, text in flashes(client, loan))
    assert len(promises(app)) == 1


def test_a_specialist_cancels_an_open_promise_with_a_reason_and_it_is_audited(app: Flask) -> None:
    client, loan = client_of(app, "ana"), loan_of(app)
    record(client, loan)
    [made] = promises(app)
    path = f"/console/loans/{loan}/promises/cancel"
    assert act(client, path, {"promise_id": made.id, "reason": "x"}, token=False).status_code == 400
    act(client, path, {"promise_id": made.id, "reason": ""})
    assert promises(app)[0].status == "open"
    act(client, path, {"promise_id": made.id, "reason": "Borrower withdrew it"})
    assert ("success", "Promise cancelled.") in flashes(client, loan)
    [cancelled] = promises(app)
    assert (cancelled.status, cancelled.resolved_on) == ("cancelled", TODAY)
    [audit] = audits(app, "promise.cancelled")
    assert (audit.actor, audit.detail["reason"]) == ("ana", "Borrower withdrew it")
    section = promises_section(client.get(f"/console/loans/{loan}?tab=conversations").get_data(as_text=True))
    assert "cancelled" in section and "Cancel the promise" not in section


def test_the_promise_form_is_in_spanish_for_a_spanish_speaking_specialist(app: Flask) -> None:
    create_specialist(app, "lola", locale="es")
    client = client_of(app, "lola")
    record(client, loan_of(app))
    page = client.get(f"/console/loans/{loan_of(app)}?tab=conversations").get_data(as_text=True)
    assert "Promesas de pago" in page and "Registrar una promesa de pago" in page and "Llamada telefónica" in page


def test_the_conversation_panel_shows_the_borrowers_promises(app: Flask) -> None:
    loan = loan_of(app)
    with sessions_of(app).begin() as session:
        make_promise(session, loan, amount=Decimal("250.00"), promised_for=FRIDAY, today=TODAY, channel="sms",
                     actor="bot")  # fmt: skip
        borrower_id = session.scalar(select(Loan.borrower_id).where(Loan.loan_number == loan))
        conversation = find_or_open_conversation(session, "sms", "+15550101010", datetime.now(UTC))
        conversation.borrower_id = borrower_id
        conversation_id = conversation.id
    page = client_of(app).get(f"/console/conversations/{conversation_id}").get_data(as_text=True)
    panel = page[page.index("Promises to pay") :]
    assert "$250.00" in panel and "Mar 6, 2026" in panel and "open" in panel and "bot" in panel and "SMS" in panel


def test_a_broken_promise_waits_in_its_worklist_until_a_specialist_follows_it_up(app: Flask) -> None:
    client, loan = client_of(app, "sam"), loan_of(app)
    record(client, loan)
    run_eod(sessions_of(app), date(2026, 3, 23), country="US")
    assert promises(app)[0].status == "broken"
    worklist = client.get("/console/worklists/broken_promise").get_data(as_text=True)
    reference = re.search(r"BP-\d{6}", worklist)
    assert reference is not None and loan in worklist
    index = client.get("/console/worklists/").get_data(as_text=True)
    assert "Broken promises to pay" in index
    case_path = f"/console/worklists/cases/{reference.group()}"
    page = client.get(case_path).get_data(as_text=True)
    assert "Borrower followed up" in page and "Follow up" in page
    act(client, f"{case_path}/promise_follow_up", {"promise_follow_up-note": "Called her; she will pay Friday"})
    with sessions_of(app)() as session:
        case = session.scalar(select(Case).where(Case.reference == reference.group()))
        assert case is not None and case.closed_on == TODAY and case.data["outcome"] == "followed_up"


def test_the_promises_report_draws_its_charts_and_exports_its_figures(app: Flask) -> None:
    client, loan = client_of(app, "sam"), loan_of(app)
    record(client, loan)
    with sessions_of(app).begin() as session:
        other = board(session, date(2026, 2, 2), origination_date="2026-02-02", first_payment_date="2026-03-01")
        make_promise(session, other, amount=Decimal("100.00"), promised_for=FRIDAY, today=TODAY, channel="sms",
                     actor="bot")  # fmt: skip
    page = client.get("/console/reports/promises").get_data(as_text=True)
    assert "<svg" in page and '<rect x="' in page and "style=" not in page and "<script" not in page
    assert "Promises made, kept and broken" in page and "Promises made per channel" in page
    rows = list(csv.DictReader(io.StringIO(client.get("/console/reports/promises?format=csv").get_data(as_text=True))))
    figures = {(row["group"], row["name"]): row["made"] for row in rows}
    assert figures == {("all", ""): "2", ("specialist", "bot"): "1", ("specialist", "sam"): "1",
                       ("channel", "phone"): "1", ("channel", "sms"): "1"}  # fmt: skip
    with sessions_of(app)() as session:
        views = (AuditEntry.action == "view", AuditEntry.subject_type == "report", AuditEntry.subject_id == "promises")
        viewed = session.scalar(select(func.count()).select_from(AuditEntry).where(*views))
    assert viewed == 2
