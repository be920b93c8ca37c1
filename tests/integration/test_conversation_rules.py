"""Conversation rules beyond the journeys: Telegram linking, business hours, cancelling a scheduled payment,
switching language, and logs that never hold what a borrower must keep private."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.engine import Engine, InboundMessage
from servicing.config import Settings
from servicing.eod import disburse_escrow
from servicing.payments import PaymentInstruction, post_payments
from servicing.specialists import Role, add_specialist
from servicing.store.models import Conversation, EscrowItem, Loan, ScheduledPayment, Specialist
from tests.integration.helpers import Clock, board

PHONE, LOAN = "+15557770009", "4400077777"
NOW = datetime(2026, 3, 20, 15, 0, tzinfo=UTC)  # Friday 11:00 in New York


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def bot(sessions: sessionmaker[Session], settings: Settings, clock: Clock) -> Engine:
    with sessions.begin() as session:
        board(session, loan_number=LOAN, phone=PHONE, bank_account_last4="6789")
    return Engine(sessions, settings, clock=clock)


def talk(bot: Engine, channel: str, address: str) -> Callable[..., str]:
    counter = iter(range(1, 1000))

    def send(text: str, contact: str | None = None) -> str:
        message = InboundMessage(channel, address, text, provider_id=f"{address}-{next(counter)}",
                                 shared_contact_phone=contact)  # fmt: skip
        return "\n".join(reply.text for reply in bot.handle(message))

    return send


def test_a_telegram_chat_links_by_shared_contact_and_one_factor(bot: Engine) -> None:
    send = talk(bot, "telegram", "chat-100")
    assert "share your phone number" in send("balance")
    assert "date of birth" in send("", contact=PHONE)
    assert "principal balance $150,000.00" in send("05/04/1980")


def test_a_telegram_chat_links_by_loan_number_and_two_factors(bot: Engine) -> None:
    send = talk(bot, "telegram", "chat-200")
    send("balance")
    assert "date of birth" in send(LOAN)
    assert "tax ID" in send("05/04/1980")
    assert "principal balance" in send("1234")


def test_a_linked_chat_verifies_again_with_one_factor_once_the_session_expires(bot: Engine, clock: Clock) -> None:
    send = talk(bot, "telegram", "chat-300")
    send("balance")
    send("", contact=PHONE)
    send("05/04/1980")
    clock.now = NOW + timedelta(minutes=16)
    asked = send("balance")
    assert "date of birth" in asked and "share your phone" not in asked
    assert "principal balance" in send("05/04/1980")


def test_a_wrong_loan_number_fails_like_a_wrong_answer(bot: Engine) -> None:
    right, wrong = talk(bot, "telegram", "chat-400"), talk(bot, "telegram", "chat-401")
    right("balance"), wrong("balance")
    right(LOAN), wrong("9999999999")
    assert right("01/01/1999") == wrong("01/01/1999")


def test_outside_business_hours_the_borrower_is_told_when_a_person_will_reply(bot: Engine, clock: Clock) -> None:
    clock.now = datetime(2026, 3, 21, 3, 0, tzinfo=UTC)  # Friday 23:00 in New York
    reply = talk(bot, "sms", PHONE)("talk to a person")
    assert "Monday, March 23, 2026, 8:00" in reply and "Eastern Daylight Time" in reply


def test_outside_business_hours_an_available_specialist_with_the_language_means_a_reply_shortly(
    bot: Engine, clock: Clock, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        late = add_specialist(session, "nora", "nora-password-1", Role.SPECIALIST, actor="tests")
        late.presence, late.languages, late.skills = "available", ["es"], ["general"]
    clock.now = datetime(2026, 3, 21, 3, 0, tzinfo=UTC)  # Friday 23:00 in New York
    reply = talk(bot, "sms", PHONE)("talk to a person")
    assert "Monday, March 23, 2026, 8:00" in reply  # Nora speaks Spanish only: nobody on shift for an English borrower
    with sessions.begin() as session:
        session.scalars(select(Specialist).where(Specialist.username == "nora")).one().languages = ["es", "en"]
    reply = talk(bot, "sms", "+15557770010")("talk to a person")  # another borrower, while Nora works late
    assert "who will reply here shortly" in reply and "Monday" not in reply


def test_a_scheduled_payment_can_be_cancelled_before_its_date(bot: Engine, sessions: sessionmaker[Session]) -> None:
    send = talk(bot, "sms", PHONE)
    send("I want to pay")
    send("05/04/1980")
    send("the 25th")
    send("yes")
    assert "already have" in send("pay my loan")
    assert "is cancelled" in send("no")
    with sessions() as session:
        assert session.scalar(select(ScheduledPayment.status)) == "cancelled"


def test_an_english_borrower_writing_spanish_is_offered_spanish_after_the_answer(
    bot: Engine, sessions: sessionmaker[Session]
) -> None:
    send = talk(bot, "sms", PHONE)
    send("cuanto debo")
    answer = send("05/04/1980")
    assert "principal balance" in answer and "¿" in answer  # answered, then asked in Spanish
    send("si")
    with sessions() as session:
        assert session.scalar(select(Conversation.locale)) == "es_US"  # the borrower's region stays


def test_logs_never_hold_a_date_of_birth_a_tax_id_or_a_loan_number(
    bot: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    send = talk(bot, "sms", PHONE)
    with caplog.at_level(logging.DEBUG):
        for text in ["balance", "05/04/1980", "payoff", "I lost my job", "1234", "tax id 1234"]:
            send(text)
    logged = caplog.text
    for private in ("1980", "05/04", LOAN, "1234", PHONE):
        assert private not in logged


def test_escrow_answers_give_the_balance_the_last_bill_paid_and_the_next_one(
    bot: Engine, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        loan_id = session.scalar(select(Loan.id).where(Loan.loan_number == LOAN))
        session.add_all([
            EscrowItem(loan_id=loan_id, kind="hazard_insurance", payee="Harborline Insurance", amount=Decimal("240.00"),
                       next_due_date=date(2026, 3, 10), frequency_months=12),
            EscrowItem(loan_id=loan_id, kind="property_tax", payee="Travis County", amount=Decimal("1800.00"),
                       next_due_date=date(2026, 4, 1), frequency_months=6),
        ])  # fmt: skip
    with sessions.begin() as session:
        disburse_escrow(session, date(2026, 3, 10), "eod")
    send = talk(bot, "sms", PHONE)
    send("were my taxes paid?")
    answer = send("05/04/1980")
    assert "escrow balance is $60.00" in answer  # 300.00 boarded - 240.00 insurance
    assert "$240.00 to Harborline Insurance on March 10, 2026" in answer
    assert "$1,800.00 to Travis County due April 1, 2026" in answer


def test_payment_history_lists_the_latest_payments_newest_first(bot: Engine, sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        for amount, day, reference in [("1051.68", date(2026, 2, 1), "H1"), ("500.00", date(2026, 3, 2), "H2")]:
            post_payments(session, [PaymentInstruction(LOAN, Decimal(amount), day, reference)],
                          today=date(2026, 3, 20), business_date=date(2026, 3, 20), actor="test")  # fmt: skip
    send = talk(bot, "sms", PHONE)
    send("did you get my payment?")
    answer = send("05/04/1980")
    assert answer.index("March 2, 2026: $500.00") < answer.index("February 1, 2026: $1,051.68")


def test_greeting_thanks_and_the_numbered_menu(bot: Engine) -> None:
    send = talk(bot, "sms", PHONE)
    hello = send("hi")
    assert "virtual assistant" in hello and "1 Balance" in hello
    assert "date of birth" in send("1")  # the menu's first option, in any language
    assert "You're welcome" in send("thanks")
