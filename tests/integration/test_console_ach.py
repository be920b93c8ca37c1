"""The console's ACH page: a bank account typed once and shown masked, autopay enrolled and stopped, the ACH report."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from servicing.store.models import AuditEntry, AutopayEnrolment, BankAccount
from tests.integration.console_helpers import sessions_of, signed_in, staffed_console
from tests.integration.helpers import board
from tests.integration.test_console_auth import csrf_token

ACCOUNT = "000123456789"


@pytest.fixture
def app(database_url: str, cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    with staffed_console(database_url, "2026-01-20", monkeypatch) as app:
        yield app


def loan(app: Flask) -> str:
    with sessions_of(app).begin() as session:
        return board(session)


def post(client: FlaskClient, path: str, data: dict[str, str]) -> str:
    token = csrf_token(client, "/console/")
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=True).get_data(as_text=True)


def add_account(client: FlaskClient, number: str) -> str:
    return post(
        client,
        f"/console/loans/{number}/ach/accounts",
        {"routing": "121042882", "account_number": ACCOUNT, "account_type": "checking", "reason": "borrower called"},
    )


def test_an_account_added_in_the_console_is_shown_by_its_last_4_only(app: Flask) -> None:
    number = loan(app)
    client = signed_in(app, "sam")
    page = add_account(client, number)
    assert "Bank account ****6789 is on file." in page and ACCOUNT not in page
    with sessions_of(app)() as session:
        assert session.scalars(select(BankAccount.account_last4)).all() == ["6789"]
        assert ACCOUNT not in str([e.detail for e in session.scalars(select(AuditEntry))])


def test_a_bad_routing_number_is_refused_and_nothing_is_stored(app: Flask) -> None:
    number = loan(app)
    page = post(
        signed_in(app, "sam"),
        f"/console/loans/{number}/ach/accounts",
        {"routing": "121042883", "account_number": ACCOUNT, "account_type": "checking", "reason": "called"},
    )
    assert "is not a routing number" in page
    with sessions_of(app)() as session:
        assert session.scalar(select(BankAccount.id)) is None


def test_autopay_is_enrolled_with_the_authorization_shown_then_stopped(app: Flask) -> None:
    number = loan(app)
    client = signed_in(app, "sam")
    add_account(client, number)
    preview = client.get(f"/console/loans/{number}/ach?amount_kind=fixed&fixed_amount=1200.00&days_before=2")
    text = preview.get_data(as_text=True)
    assert "a fixed amount of $1,200.00" in text and "2 days before each due date" in text
    refused = post(
        client,
        f"/console/loans/{number}/ach/autopay",
        {"amount_kind": "fixed", "fixed_amount": "1200.00", "days_before": "2", "channel": "console_phone"},
    )
    assert "The borrower&#39;s agreement is required." in refused
    page = post(client, f"/console/loans/{number}/ach/autopay", {
        "amount_kind": "fixed", "fixed_amount": "1200.00", "days_before": "2", "channel": "console_phone",
        "agreed": "y", "confirm_disclosure": "y"})  # fmt: skip
    assert "Autopay is on; the borrower was sent a copy of the authorization." in page
    with sessions_of(app)() as session:
        enrolment = session.scalars(select(AutopayEnrolment)).one()
        assert enrolment.enrolled_by == "sam" and "a fixed amount of $1,200.00" in enrolment.authorization_text
    stopped = post(client, f"/console/loans/{number}/ach/autopay/stop", {"reason": "borrower asked"})
    assert "Autopay is stopped." in stopped and "Autopay is off." in stopped


def test_the_ach_report_opens_in_the_reports_area(app: Flask) -> None:
    client = signed_in(app, "sam")
    page = client.get("/console/reports/ach").get_data(as_text=True)
    assert "ACH drafts and returns" in page
    assert client.get("/console/reports/ach?format=csv").status_code == 200
