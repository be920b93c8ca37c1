"""Journeys 1 to 6 through the real engine on a real database, in English, with the core's exact figures."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.engine import Engine, InboundMessage
from bot.i18n import Speaker
from servicing.config import Settings
from servicing.conversations import claim_conversation, record_outbound, resolve_conversation
from servicing.queries import summarize
from servicing.rules.payoff import payoff_quote
from servicing.store.accounts import load_account
from servicing.store.models import Case, Conversation, Document, FraudAlert, ScheduledPayment
from tests.integration.helpers import board

PHONE = "+15557770001"
TODAY = date(2026, 3, 20)  # a Friday
NOW = datetime(2026, 3, 20, 15, 0, tzinfo=UTC)  # 11:00 in New York: specialists are in
Chat = Callable[[str], str]


@pytest.fixture
def bot(sessions: sessionmaker[Session], settings: Settings) -> Engine:
    return Engine(sessions, settings, clock=lambda: NOW)


@pytest.fixture
def loan(sessions: sessionmaker[Session]) -> str:
    with sessions.begin() as session:
        return board(session, loan_number="4400012345", phone=PHONE, bank_account_last4="6789")


def chat_as(engine: Engine, phone: str = PHONE, channel: str = "sms") -> Chat:
    counter = iter(range(1, 1000))

    def send(text: str) -> str:
        replies = engine.handle(InboundMessage(channel, phone, text, provider_id=f"{phone}-{next(counter)}"))
        return "\n".join(reply.text for reply in replies)

    return send


def en(amount: object, currency: str = "USD") -> str:
    return Speaker("en_US").money(amount, currency)  # type: ignore[arg-type]


def test_journey_1_balance_after_one_knowledge_factor(bot: Engine, loan: str, sessions: sessionmaker[Session]) -> None:
    chat = chat_as(bot)
    first = chat("whats my balance")
    assert "date of birth" in first
    assert "150,000" not in first and "loan" not in first.lower()  # nothing about a loan before verification
    answer = chat("05/04/1980")  # en_US writes month first: May 4, 1980
    with sessions() as session:
        account = load_account(session, loan)
        assert account is not None
        summary = summarize(account, TODAY)
    assert "you're verified" in answer
    assert f"principal balance {en(summary.principal_balance)}" in answer
    since = Speaker("en_US").day(account.next_due_date)
    assert f"Amount due {en(summary.amount_due)}, past due since {since}" in answer
    assert loan not in answer  # the full loan number is never echoed


def test_journey_2_payoff_good_through_a_chosen_date_with_a_payoff_request(
    bot: Engine, loan: str, sessions: sessionmaker[Session]
) -> None:
    chat = chat_as(bot)
    chat("how much to pay off my loan?")
    answer = chat("May 4 1980")
    with sessions() as session:
        account = load_account(session, loan)
        assert account is not None
        default = payoff_quote(account, TODAY, TODAY + timedelta(days=10))
        chosen = payoff_quote(account, TODAY, date(2026, 4, 15))
        [case] = session.scalars(select(Case).where(Case.kind == "payoff_request")).all()
        [statement] = session.scalars(select(Document).where(Document.kind == "payoff_statement")).all()
    assert (statement.period, statement.summary["total"]) == (case.reference, str(default.total))  # the written one
    assert f"send {en(default.total)} by March 30, 2026" in answer
    assert f"add {en(default.per_diem)} for each day" in answer
    assert case.reference in answer
    again = chat("2026-04-15")
    assert f"send {en(chosen.total)} by April 15, 2026" in again


def test_journey_3_a_payment_is_scheduled_only_after_explicit_confirmation(
    bot: Engine, loan: str, sessions: sessionmaker[Session]
) -> None:
    chat = chat_as(bot)
    chat("I want to pay")
    asked = chat("05/04/1980")
    assert "account ending 6789" in asked
    confirm = chat("friday")  # today is Friday: the next Friday, 2026-03-27
    assert "March 27, 2026" in confirm and "YES" in confirm
    with sessions() as session:
        assert session.scalar(select(ScheduledPayment)) is None  # nothing until the borrower says yes
    done = chat("yes")
    with sessions() as session:
        scheduled = session.scalar(select(ScheduledPayment))
        assert scheduled is not None
        assert (scheduled.scheduled_for, scheduled.bank_account_last4) == (date(2026, 3, 27), "6789")
    assert scheduled.reference in done


def test_journey_4_hardship_intake_opens_a_loss_mitigation_application_and_hands_off(
    bot: Engine, loan: str, sessions: sessionmaker[Session]
) -> None:
    chat = chat_as(bot)
    for text in ["I lost my job", "I was laid off", "February", "3 months", "no income now", "not sure"]:
        last = chat(text)
    with sessions() as session:
        [case] = session.scalars(select(Case).where(Case.kind == "loss_mitigation")).all()
        conversation = session.scalar(select(Conversation))
        assert conversation is not None
        assert (conversation.state, conversation.escalation_reason) == ("queued", "hardship")
        assert case.data["intake"]["reason"] == "I was laid off"
    assert case.reference in last
    assert chat("hello?") == ""  # a person owns the conversation now: the bot stays silent


def test_journey_5_dispute_opens_a_notice_of_error_with_its_deadlines(
    bot: Engine, loan: str, sessions: sessionmaker[Session]
) -> None:
    chat = chat_as(bot)
    chat("you charged me a late fee by mistake")
    chat("I paid on time but got a late fee")
    last = chat("the $42.58 fee in February")
    with sessions() as session:
        [case] = session.scalars(select(Case).where(Case.kind == "notice_of_error")).all()
    # Fri 2026-03-20 + 5 business days = Fri 2026-03-27; + 30 business days = Fri 2026-05-01
    assert f"{case.reference} is recorded" in last
    assert "March 27, 2026" in last and "May 1, 2026" in last


def test_journey_6_handoff_specialist_reply_and_the_bot_takes_over_again(
    bot: Engine, loan: str, sessions: sessionmaker[Session]
) -> None:
    chat = chat_as(bot)
    assert "specialist" in chat("talk to a person")
    assert chat("are you there?") == ""
    with sessions.begin() as session:
        conversation = session.scalar(select(Conversation))
        assert conversation is not None
        claim_conversation(session, conversation.id, "ana", NOW)
        record_outbound(session, conversation, "Hi, I'm Ana.", author="specialist:ana", now=NOW, deliver_later=True)
        resolve_conversation(session, conversation.id, "ana")
    assert "date of birth" in chat("balance please")


def test_three_wrong_answers_lock_the_number_and_raise_a_fraud_alert(
    bot: Engine, loan: str, sessions: sessionmaker[Session]
) -> None:
    chat = chat_as(bot)
    chat("balance")
    replies = [chat("01/01/1990") for _ in range(3)]
    assert "doesn't match" in replies[0] and "paused for 30 minutes" in replies[2]
    assert "a specialist has your message" in chat("balance")  # the locked number waits for a person
    with sessions() as session:
        assert session.scalar(select(FraudAlert)) is not None


def test_failure_replies_are_identical_for_a_number_not_on_file(bot: Engine, loan: str) -> None:
    known, stranger = chat_as(bot), chat_as(bot, "+15559990000")
    assert known("balance") == stranger("balance")
    assert known("01/01/1990") == stranger("01/01/1990")


def test_a_borrower_with_two_loans_picks_one_by_its_last_four_digits(
    bot: Engine, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        first = board(session, loan_number="4400011111", phone=PHONE)
        second = board(session, loan_number="4400022222", phone=PHONE, original_principal="90000.00")
    chat = chat_as(bot)
    chat("balance")
    question = chat("05/04/1980")
    assert first[-4:] in question and second[-4:] in question
    assert en(Decimal("90000")) in chat(second[-4:])


def test_two_misses_in_a_row_offer_a_person(bot: Engine, loan: str, sessions: sessionmaker[Session]) -> None:
    chat = chat_as(bot)
    assert "didn't get that" in chat("what's the weather on mars")
    assert "specialist" in chat("tell me a joke")
    with sessions() as session:
        conversation = session.scalar(select(Conversation))
        assert conversation is not None
        assert conversation.escalation_reason == "not_understood"
