"""A hardship or dispute opened before verification: linked to the borrower whose phone or Telegram link it came
from, marked "identity not verified", summarised in the borrower's words, and confirmed by a specialist."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.engine import Engine, InboundMessage
from servicing.config import Settings
from servicing.store.models import AuditEntry, Case, Loan
from tests.integration.console_helpers import sessions_of, staffed_console
from tests.integration.helpers import board
from tests.integration.test_console_worklists import case_of, client_of, decide, decisions_of

PHONE, LOAN = "+15557770088", "4400088800"
NOW = datetime(2026, 6, 2, 15, 0, tzinfo=UTC)  # Tuesday 11:00 in New York
HARDSHIP = ["I can't pay my mortgage, I lost my job", "laid off in January", "since January", "3 months",
            "half", "not sure"]  # fmt: skip
ids = itertools.count(1)
Chat = Callable[[str], str]


def chat(bot: Engine, address: str, channel: str = "sms") -> Chat:
    def send(text: str) -> str:
        replies = bot.handle(InboundMessage(channel, address, text, provider_id=f"{address}-{next(ids)}"))
        return "\n".join(reply.text for reply in replies)

    return send


def talk_to(sessions: sessionmaker[Session], settings: Settings, now: Callable[[], datetime] = lambda: NOW) -> Engine:
    with sessions.begin() as session:
        board(session, loan_number=LOAN, phone=PHONE)
    return Engine(sessions, settings, clock=now)


def the_case(sessions: sessionmaker[Session], kind: str) -> Case:
    with sessions() as session:
        [case] = session.scalars(select(Case).where(Case.kind == kind)).all()
        session.expunge_all()
        return case


def ids_of(sessions: sessionmaker[Session]) -> tuple[int, int]:
    with sessions() as session:
        loan = session.scalars(select(Loan).where(Loan.loan_number == LOAN)).one()
        return loan.id, loan.borrower_id


def test_a_hardship_from_a_phone_on_file_is_linked_to_its_borrower_marked_not_verified(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    send = chat(talk_to(sessions, settings), PHONE)
    for text in HARDSHIP:
        send(text)
    case = the_case(sessions, "loss_mitigation")
    assert (case.loan_id, case.borrower_id) == ids_of(sessions)
    assert case.data["identity"] == "not_verified"
    assert case.summary == "I can't pay my mortgage, I lost my job — laid off in January"


def test_a_dispute_from_a_linked_telegram_chat_after_its_session_ended_is_linked_and_marked(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    clock = [NOW]
    send = chat(talk_to(sessions, settings, lambda: clock[0]), "chat-88", "telegram")
    send("balance")
    send(LOAN)
    send("05/04/1980")
    assert "principal balance" in send("1234")
    clock[0] = NOW + timedelta(minutes=20)
    send("you charged me a late fee by mistake")
    send("I paid on the 1st, the fee came on the 17th")
    send("the $42.58 fee in May")
    case = the_case(sessions, "notice_of_error")
    assert (case.loan_id, case.borrower_id) == ids_of(sessions)
    assert case.data["identity"] == "not_verified"
    assert case.summary == "you charged me a late fee by mistake — I paid on the 1st, the fee came on the 17th"


def test_a_verified_borrowers_hardship_carries_no_mark(sessions: sessionmaker[Session], settings: Settings) -> None:
    send = chat(talk_to(sessions, settings), PHONE)
    send("balance")
    send("05/04/1980")
    for text in HARDSHIP:
        send(text)
    case = the_case(sessions, "loss_mitigation")
    assert (case.loan_id, case.borrower_id) == ids_of(sessions)
    assert "identity" not in case.data


def test_a_hardship_from_a_number_on_no_file_stays_unlinked(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    send = chat(talk_to(sessions, settings), "+15559990000")
    for text in ["7", *HARDSHIP[1:]]:  # from the menu: "7" is not a description
        send(text)
    case = the_case(sessions, "loss_mitigation")
    assert (case.loan_id, case.borrower_id) == (None, None)
    assert "identity" not in case.data and case.summary == "laid off in January"


# -- the specialist confirms ------------------------------------------------------------------------------


@pytest.fixture
def app(database_url: str, cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    with staffed_console(database_url, date(2026, 6, 2).isoformat(), monkeypatch) as app:
        yield app


def unverified_hardship(app: Flask, settings: Settings) -> str:
    sessions = sessions_of(app)
    send = chat(talk_to(sessions, settings), PHONE)
    for text in HARDSHIP:
        send(text)
    return the_case(sessions, "loss_mitigation").reference


def test_the_case_page_asks_the_specialist_to_confirm_the_identity_before_anything_else(
    app: Flask, settings: Settings
) -> None:
    reference = unverified_hardship(app, settings)
    client = client_of(app)
    page = client.get(f"/console/worklists/cases/{reference}").get_data(as_text=True)
    assert "Identity not verified" in page and "Ana Silva" in page
    assert "confirm_identity-note" in page and "not_the_borrower-note" in page
    assert "complete-note" not in page  # no other decision until the identity is confirmed
    listed = client.get("/console/worklists/loss_mitigation").get_data(as_text=True)
    assert "Identity not verified" in listed
    refused = decide(client, reference, "complete", note="All documents in")
    assert "confirm the borrower&#39;s identity first" in refused
    assert case_of(sessions_of(app), reference).status == "started"


def test_confirming_the_identity_is_audited_and_opens_the_other_decisions(app: Flask, settings: Settings) -> None:
    reference = unverified_hardship(app, settings)
    client = client_of(app)
    page = decide(client, reference, "confirm_identity", note="Called the number on file, DOB confirmed")
    assert "Identity not verified" not in page and "complete-note" in page
    assert case_of(sessions_of(app), reference).data["identity"] == "confirmed"
    [detail] = decisions_of(sessions_of(app), reference)
    assert detail["decision"] == "confirm_identity" and detail["note"] == "Called the number on file, DOB confirmed"
    with sessions_of(app)() as session:
        assert session.scalar(select(AuditEntry.actor).where(AuditEntry.action == "case.decision")) == "sam"
    decide(client, reference, "complete", note="All documents in")
    assert case_of(sessions_of(app), reference).status == "submitted_complete"


def test_not_the_borrower_unlinks_the_case_and_tells_nobody(app: Flask, settings: Settings) -> None:
    reference = unverified_hardship(app, settings)
    decide(client_of(app), reference, "not_the_borrower", note="The borrower never wrote; phone was reassigned")
    case = case_of(sessions_of(app), reference)
    assert (case.loan_id, case.borrower_id, case.data["identity"]) == (None, None, "not_the_borrower")
    [detail] = decisions_of(sessions_of(app), reference)
    assert detail["decision"] == "not_the_borrower" and detail["notice"] is None
    assert detail["unlinked"] == {"loan_id": ids_of(sessions_of(app))[0], "borrower_id": ids_of(sessions_of(app))[1]}
