"""The handoff summary: why a conversation came, verification, the figures the bot quoted (kept in the messages'
meta), cases, promises and suggested replies; built as data by one core function, shown at the top of the page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.sms import respond_by_sms
from bot.engine import Engine
from servicing.canned import canned_responses
from servicing.config import Settings
from servicing.handoff.summary import SECTIONS, Section, handoff_summary
from servicing.queries import summarize
from servicing.rules.payoff import payoff_quote
from servicing.store.accounts import load_account
from servicing.store.models import Conversation, Message
from tests.integration.console_helpers import sessions_of, signed_in, staffed_console
from tests.integration.helpers import board
from tests.integration.test_conversation_journeys import NOW, PHONE, TODAY, chat_as


@pytest.fixture
def bot(sessions: sessionmaker[Session], settings: Settings) -> Engine:
    return Engine(sessions, settings, clock=lambda: NOW)


@pytest.fixture
def loan(sessions: sessionmaker[Session]) -> str:
    with sessions.begin() as session:
        return board(session, loan_number="4400012345", phone=PHONE)


def summary_of(sessions: sessionmaker[Session], now: datetime = NOW) -> dict[str, Section]:
    with sessions() as session:
        conversation = session.scalars(select(Conversation).where(Conversation.address == PHONE)).one()
        canned = canned_responses(session, conversation, "Sam", TODAY)
        return {section.kind: section for section in handoff_summary(session, conversation, now=now, canned=canned)}


def test_the_bot_keeps_the_figures_it_quoted_in_the_messages_meta(
    bot: Engine, loan: str, sessions: sessionmaker[Session]
) -> None:
    chat = chat_as(bot)
    chat("whats my balance")
    chat("05/04/1980")
    with sessions() as session:
        summary = summarize(load_account(session, loan), TODAY)
        [meta] = session.scalars(select(Message.meta).where(Message.meta.is_not(None))).all()
    assert meta == {"quoted": {
        "intent": "balance", "loan": "…2345", "currency": "USD", "as_of": TODAY.isoformat(),
        "figures": {"principal_balance": str(summary.principal_balance), "amount_due": str(summary.amount_due),
                    "due_date": summary.next_due_date.isoformat() if summary.next_due_date else None,
                    "days_past_due": str(summary.days_past_due)},
    }}  # fmt: skip


def test_a_handed_off_conversation_says_why_with_the_borrowers_words_and_what_the_bot_quoted(
    bot: Engine, loan: str, sessions: sessionmaker[Session]
) -> None:
    chat = chat_as(bot)
    chat("payoff please")
    chat("05/04/1980")
    chat("I want to talk to a real person about my escrow")
    sections = summary_of(sessions)
    assert list(sections) == ["why", "verification", "bot_answers", "cases", "suggested"]
    why = sections["why"].data
    assert (why.reason, why.words) == ("asked", "I want to talk to a real person about my escrow")
    assert sections["verification"].data.verified_until is not None
    [answer] = sections["bot_answers"].data
    with sessions() as session:
        account = load_account(session, loan)
    through = date(2026, 3, 30)
    quote = payoff_quote(account, TODAY, through)
    figures = {figure.name: figure.amount or figure.day for figure in answer.figures}
    assert (answer.intent, answer.loan, answer.as_of) == ("payoff", "…2345", TODAY)
    assert figures == {"payoff_total": quote.total, "good_through": through, "per_diem": quote.per_diem}
    [case] = sections["cases"].data
    assert case.kind == "payoff_request"
    suggested = [item.key for item in sections["suggested"].data]
    assert suggested == ["greeting", "looking_into_it", "amount_due", "payoff_requested"]


def test_a_locked_out_conversation_does_not_quote_the_verification_answer(
    bot: Engine, loan: str, sessions: sessionmaker[Session]
) -> None:
    chat = chat_as(bot)
    chat("balance")
    for wrong in ("01/01/1970", "02/02/1971", "03/03/1972"):
        chat(wrong)
    sections = summary_of(sessions)
    why = sections["why"].data
    assert why.reason == "locked_out" and why.words is None and why.words_withheld
    assert [item.key for item in sections["suggested"].data] == ["greeting"]  # no figures to the unverified


def test_a_conversation_with_the_bot_has_no_why_section_and_a_new_builder_adds_a_section(
    bot: Engine, loan: str, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    chat_as(bot)("hello")
    monkeypatch.setattr("servicing.handoff.summary.SECTIONS", [*SECTIONS, lambda context: Section("extra", 42)])
    sections = summary_of(sessions)
    assert "why" not in sections and sections["extra"].data == 42


@pytest.fixture
def app(database_url: str, cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    with staffed_console(database_url, TODAY.isoformat(), monkeypatch) as app:
        yield app


def test_the_conversation_page_shows_the_summary_on_top(app: Flask, settings: Settings) -> None:
    sessions = sessions_of(app)
    with sessions.begin() as session:
        board(session, loan_number="4400012345", phone=PHONE)
    now = datetime.now(UTC)
    engine = Engine(sessions, settings, clock=lambda: now)
    chat = chat_as(engine)
    chat("next payment")
    chat("05/04/1980")
    chat("agent")
    with sessions() as session:
        conversation_id = session.scalars(select(Conversation.id)).one()
    page = signed_in(app, "sam").get(f"/console/conversations/{conversation_id}").get_data(as_text=True)
    top = page.index("Handoff summary")
    assert top < page.index('id="transcript"')
    assert "Asked for a person" in page and "What the assistant already answered" in page
    assert "Next payment" in page and "loan …2345" in page and "Suggested replies" in page


def test_figures_quoted_over_sms_are_kept_after_the_answer_is_cut_into_pages(
    sessions: sessionmaker[Session], settings: Settings, loan: str
) -> None:
    engine = Engine(sessions, settings, clock=lambda: NOW, respond=respond_by_sms)
    chat = chat_as(engine)
    chat("balance")
    chat("05/04/1980")
    with sessions() as session:
        [meta] = session.scalars(select(Message.meta).where(Message.meta.is_not(None))).all()
    assert meta["quoted"]["intent"] == "balance"
