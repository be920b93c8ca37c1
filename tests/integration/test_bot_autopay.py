"""Autopay in the bot: after verification it shows the authorization and records it only on an explicit yes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.engine import Engine, InboundMessage
from servicing.ach.accounts import add_bank_account, check_bank_details
from servicing.config import Settings
from servicing.store.models import AutopayEnrolment
from tests.integration.ach_helpers import ACCOUNT, ROUTING, VAULT
from tests.integration.helpers import board

PHONE = "+15557770099"
NOW = datetime(2026, 3, 20, 15, 0, tzinfo=UTC)


@pytest.fixture
def bot(sessions: sessionmaker[Session], settings: Settings) -> Engine:
    return Engine(sessions, settings, clock=lambda: NOW)


def chat_with(engine: Engine) -> object:
    counter = iter(range(1, 100))

    def send(text: str) -> str:
        replies = engine.handle(InboundMessage("sms", PHONE, text, provider_id=f"a-{next(counter)}"))
        return "\n".join(reply.text for reply in replies)

    return send


def loan_with_account(sessions: sessionmaker[Session], locale: str = "en_US") -> str:
    with sessions.begin() as session:
        number = board(session, loan_number="4400077777", phone=PHONE, locale=locale)
        add_bank_account(session, number, check_bank_details(ROUTING, ACCOUNT, "savings"), vault=VAULT, actor="ana")
    return number


def test_autopay_is_recorded_with_the_text_shown_only_after_yes(bot: Engine, sessions: sessionmaker[Session]) -> None:
    loan_with_account(sessions)
    chat = chat_with(bot)
    assert "date of birth" in chat("autopay")  # type: ignore[operator]
    shown = chat("05/04/1980")  # type: ignore[operator]
    assert "I authorize" in shown and "savings account ending in 6789" in shown and "YES" in shown
    assert ACCOUNT not in shown
    with sessions() as session:
        assert session.scalar(select(AutopayEnrolment.id)) is None
    done = chat("yes")  # type: ignore[operator]
    assert "autopay is on" in done and "I authorize" in done
    with sessions() as session:
        enrolment = session.scalars(select(AutopayEnrolment)).one()
        assert (enrolment.channel, enrolment.enrolled_by, enrolment.authorization_language) == ("sms", "bot", "en_US")
        assert enrolment.authorization_text in shown
    assert "already on" in chat("autopay")  # type: ignore[operator]


def test_no_leaves_autopay_off_and_a_borrower_without_an_account_is_sent_to_a_person(
    bot: Engine, sessions: sessionmaker[Session]
) -> None:
    loan_with_account(sessions)
    chat = chat_with(bot)
    chat("autopay")  # type: ignore[operator]
    chat("05/04/1980")  # type: ignore[operator]
    assert "not set up" in chat("no")  # type: ignore[operator]
    with sessions() as session:
        assert session.scalar(select(AutopayEnrolment.id)) is None


def test_the_authorization_speaks_the_borrowers_language(bot: Engine, sessions: sessionmaker[Session]) -> None:
    loan_with_account(sessions, locale="es_US")
    chat = chat_with(bot)
    chat("autopago")  # type: ignore[operator]
    shown = chat("04/05/1980")  # type: ignore[operator]
    assert "autorizo" in shown.lower() and "6789" in shown
