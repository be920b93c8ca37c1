"""The explanations on the console (issue 18): a page per payment, fee or escrow change linked from the ledger,
and beside the conversation the explanations the bot gave; the same sentences the core builds for the bot."""

from __future__ import annotations

import html
from collections.abc import Iterator
from datetime import date

import pytest
from flask import Flask
from sqlalchemy import select

from bot.engine import Engine
from bot.turn import InboundMessage
from servicing.explanations import explain_entry
from servicing.speaking import Speaker
from servicing.store.models import AuditEntry, Conversation, LedgerEntry, Loan
from tests.integration import explanation_helpers as scenario
from tests.integration.console_helpers import sessions_of, signed_in, staffed_console
from tests.integration.helpers import board

TODAY = date(2026, 3, 20)
PHONE = "+15557770081"


@pytest.fixture
def app(database_url: str, cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """A console on a Spanish-speaking borrower's mortgage: February's fee, then February, March and the fee paid."""
    with staffed_console(database_url, TODAY.isoformat(), monkeypatch) as app:
        sessions = sessions_of(app)
        with sessions.begin() as session:
            app.config["LOAN"] = board(session, locale="es_US", phone=PHONE, loan_number="4400081005")
            app.config["OTHER"] = board(session, loan_number="4400099999")
        scenario.two_installments_and_a_fee(sessions, app.config["LOAN"], "US")
        yield app


def entries(app: Flask, loan_number: str, kind: str) -> list[LedgerEntry]:
    with sessions_of(app)() as session:
        loan_id = session.scalar(select(Loan.id).where(Loan.loan_number == loan_number))
        return list(session.scalars(select(LedgerEntry).where(LedgerEntry.loan_id == loan_id,
                                                              LedgerEntry.kind == kind)))  # fmt: skip


def text_of(response_html: str) -> str:
    return html.unescape(response_html)


def test_the_ledger_links_each_payment_and_fee_to_its_explanation_in_both_languages(app: Flask) -> None:
    loan = app.config["LOAN"]
    client = signed_in(app, "sam")
    page = client.get(f"/console/loans/{loan}").get_data(as_text=True)
    [payment] = [e for e in entries(app, loan, "payment") if e.fees]
    [fee] = entries(app, loan, "fee_assessed")
    assert f"/console/loans/{loan}/explain/{payment.id}" in page and f"/console/loans/{loan}/explain/{fee.id}" in page
    [disbursement] = entries(app, loan, "disbursement")
    assert f'/explain/{disbursement.id}"' not in page

    shown = text_of(client.get(f"/console/loans/{loan}/explain/{payment.id}").get_data(as_text=True))
    with sessions_of(app)() as session:
        explanation = explain_entry(session, loan, payment.id, today=TODAY).explanation
    for line in explanation.lines(Speaker("en")) + explanation.lines(Speaker("es_US")):
        assert line in shown
    assert "Installment due February 1, 2026: $687.50 interest, $164.18 principal, $200.00 escrow." in shown
    assert "As the borrower reads it" in shown

    fee_page = text_of(client.get(f"/console/loans/{loan}/explain/{fee.id}").get_data(as_text=True))
    assert (
        "the end of its 15-day grace period" in fee_page and "That installment was paid on March 10, 2026." in fee_page
    )
    with sessions_of(app)() as session:
        paths = session.scalars(select(AuditEntry.detail).where(AuditEntry.action == "view",
                                                                AuditEntry.subject_id == loan)).all()  # fmt: skip
    assert {f"/console/loans/{loan}/explain/{payment.id}", f"/console/loans/{loan}/explain/{fee.id}"} <= {
        detail["path"] for detail in paths
    }


def test_an_entry_without_an_explanation_or_of_another_loan_is_not_found(app: Flask) -> None:
    loan, other = app.config["LOAN"], app.config["OTHER"]
    client = signed_in(app, "sam")
    [disbursement] = entries(app, loan, "disbursement")
    [payment] = [e for e in entries(app, loan, "payment") if e.fees]
    assert client.get(f"/console/loans/{loan}/explain/{disbursement.id}").status_code == 404
    assert client.get(f"/console/loans/{other}/explain/{payment.id}").status_code == 404
    assert client.get(f"/console/loans/{loan}/explain/999999").status_code == 404
    assert app.test_client().get(f"/console/loans/{loan}/explain/{payment.id}").status_code in (302, 401)


def test_the_conversation_shows_what_the_bot_explained_to_the_borrower(app: Flask) -> None:
    loan = app.config["LOAN"]
    engine = Engine(sessions_of(app), app.extensions["loanline.settings"])
    for number, text in enumerate(("por qué hay un cargo?", "04/05/1980"), start=1):
        engine.handle(InboundMessage("sms", PHONE, text, provider_id=f"SM-explain-{number}"))
    with sessions_of(app)() as session:
        conversation = session.scalars(select(Conversation)).one()
    page = text_of(signed_in(app, "sam").get(f"/console/conversations/{conversation.id}").get_data(as_text=True))
    assert "Explained to the borrower" in page and "Why the fee was charged · " + loan in page
    assert "Late fee of $42.58 charged February 17, 2026" in page
    spanish = Speaker("es_US").say("That installment was paid on {date}.", date=Speaker("es_US").day(date(2026, 3, 10)))
    assert spanish in page
