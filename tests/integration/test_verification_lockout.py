"""Verification without an oracle: all factors are asked before one "match" or "no match", and failures
are counted per loan number and per borrower across chats and channels, with one lockout and fraud alert."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.engine import Engine, InboundMessage
from servicing.config import Settings
from servicing.store.models import ClaimedIdentity, Conversation, FraudAlert
from tests.integration.console_helpers import sessions_of, signed_in, staffed_console
from tests.integration.helpers import Clock, board

PHONE, LOAN = "+15557770077", "4400077700"
DOB, TAX = "05/04/1980", "1234"
NOW = datetime(2026, 3, 20, 15, 0, tzinfo=UTC)  # Friday 11:00 in New York
PAUSED = "self-service for this account is paused"
LOCKED = "paused for 30 minutes"
ids = itertools.count(1)
Chat = Callable[[str], str]


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def bot(sessions: sessionmaker[Session], settings: Settings, clock: Clock) -> Engine:
    with sessions.begin() as session:
        board(session, loan_number=LOAN, phone=PHONE)
    return Engine(sessions, settings, clock=clock)


def chat(bot: Engine, address: str, channel: str = "telegram") -> Chat:
    """Return a borrower writing from one chat (a Telegram chat id, or a phone on SMS)."""

    def send(text: str) -> str:
        replies = bot.handle(InboundMessage(channel, address, text, provider_id=f"{address}-{next(ids)}"))
        return "\n".join(reply.text for reply in replies)

    return send


def new_chat(bot: Engine) -> Chat:
    return chat(bot, f"chat-{next(ids)}")


def by_loan_number(send: Chat, number: str, date_of_birth: str, tax_id: str) -> str:
    """Ask for the balance, give a loan number and both factors; return the last reply."""
    send("balance")
    send(number)
    send(date_of_birth)
    return send(tax_id)


def fraud_alerts(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(FraudAlert.reason).order_by(FraudAlert.id)))


def test_a_wrong_date_of_birth_after_a_loan_number_is_asked_for_the_tax_id_like_a_right_one(bot: Engine) -> None:
    right, wrong = new_chat(bot), new_chat(bot)
    right("balance"), wrong("balance")
    right(LOAN), wrong(LOAN)
    asked = right(DOB)
    assert asked == wrong("01/01/1999")
    assert "tax ID" in asked and "match" not in asked


def test_match_or_no_match_is_said_once_after_every_factor(bot: Engine) -> None:
    wrong_date, wrong_tax_id = new_chat(bot), new_chat(bot)
    first = by_loan_number(wrong_date, LOAN, "01/01/1999", TAX)
    second = by_loan_number(wrong_tax_id, LOAN, DOB, "9999")
    assert first == second
    assert "doesn't match" in first and "date of birth" in first  # asked again from the first factor
    assert "principal balance" in wrong_tax_id(DOB) + wrong_tax_id(TAX)  # and the right pair verifies


def test_three_new_chats_guessing_one_loan_lock_it_and_raise_one_fraud_alert(
    bot: Engine, sessions: sessionmaker[Session]
) -> None:
    replies = [by_loan_number(new_chat(bot), LOAN, "01/01/1999", "9999") for _ in range(3)]
    assert "doesn't match" in replies[0] and "doesn't match" in replies[1]
    assert LOCKED in replies[2]
    assert fraud_alerts(sessions) == [
        "three failed verification attempts on one borrower and one loan number across chats"
    ]
    fourth = new_chat(bot)
    fourth("balance")
    told = fourth(LOAN)
    assert PAUSED in told and "date of birth" not in told  # the next chat does not get to guess at all


def test_failures_on_telegram_and_sms_count_against_one_borrower(bot: Engine) -> None:
    by_loan_number(new_chat(bot), LOAN, "01/01/1999", "9999")
    by_loan_number(new_chat(bot), LOAN, "02/02/1999", "9999")
    sms = chat(bot, PHONE, "sms")  # the borrower's own phone, a third guess at the date of birth
    sms("balance")
    assert LOCKED in sms("03/03/1999")
    elsewhere = new_chat(bot)
    elsewhere("balance")
    assert PAUSED in elsewhere(LOAN)


def test_the_real_borrower_locked_out_by_others_is_told_how_to_reach_a_person(
    bot: Engine, sessions: sessionmaker[Session]
) -> None:
    for _ in range(3):
        by_loan_number(new_chat(bot), LOAN, "01/01/1999", "9999")
    borrower = chat(bot, PHONE, "sms")
    told = borrower("what's my balance")
    assert PAUSED in told and "Reply AGENT" in told and "call us at" in told
    assert "date of birth" not in told
    assert "specialist" in borrower("agent")
    with sessions() as session:
        conversation = session.scalar(select(Conversation).where(Conversation.address == PHONE))
        assert conversation is not None and conversation.state == "queued"


def test_a_loan_number_that_does_not_exist_is_locked_exactly_like_a_real_one(bot: Engine) -> None:
    def story(number: str) -> list[str]:
        replies = [by_loan_number(new_chat(bot), number, "01/01/1999", "9999") for _ in range(3)]
        fourth = new_chat(bot)
        fourth("balance")
        return [*replies, fourth(number)]

    assert story(LOAN) == story("4400099999")


def test_the_lock_lifts_after_thirty_minutes_and_a_success_starts_the_count_again(
    bot: Engine, clock: Clock, sessions: sessionmaker[Session]
) -> None:
    for _ in range(3):
        by_loan_number(new_chat(bot), LOAN, "01/01/1999", "9999")
    clock.now = NOW + timedelta(minutes=31)
    by_loan_number(new_chat(bot), LOAN, "01/01/1999", "9999")
    assert "principal balance" in by_loan_number(new_chat(bot), LOAN, DOB, TAX)
    with sessions() as session:
        assert set(session.scalars(select(ClaimedIdentity.failed_attempts))) == {0}


def test_guesses_sent_at_once_from_many_chats_are_counted_one_by_one(
    bot: Engine, sessions: sessionmaker[Session]
) -> None:
    chats = [new_chat(bot) for _ in range(6)]
    for send in chats:
        send("balance"), send(LOAN), send("01/01/1999")
    start, answers = threading.Barrier(len(chats)), [""] * len(chats)

    def guess(index: int) -> None:
        start.wait()
        answers[index] = chats[index]("9999")

    threads = [threading.Thread(target=guess, args=(index,)) for index in range(len(chats))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sum("doesn't match" in answer for answer in answers) == 2  # the first two, whichever they are
    assert sum(LOCKED in answer for answer in answers) == 1
    assert sum(PAUSED in answer for answer in answers) == 3
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(FraudAlert)) == 1


@pytest.fixture
def app(database_url: str, cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    with staffed_console(database_url, "2026-03-20", monkeypatch) as app:
        yield app


def test_the_specialist_sees_why_the_borrower_who_asked_for_a_person_cannot_verify(
    app: Flask, settings: Settings
) -> None:
    sessions = sessions_of(app)
    with sessions.begin() as session:
        board(session, loan_number=LOAN, phone=PHONE)
    bot = Engine(sessions, settings, clock=lambda: datetime.now(UTC))
    for _ in range(3):
        by_loan_number(new_chat(bot), LOAN, "01/01/1999", "9999")
    borrower = chat(bot, PHONE, "sms")
    borrower("balance")
    borrower("agent")
    with sessions() as session:
        conversation_id = session.scalars(select(Conversation.id).where(Conversation.address == PHONE)).one()
    page = signed_in(app, "sam").get(f"/console/conversations/{conversation_id}").get_data(as_text=True)
    assert "self-service paused until" in page and "after failed attempts in other chats" in page
    assert "Failed attempts: 0" in page  # this chat never failed
