"""The demo's conversations: a queue with something in it on first start, loaded once however often the demo is."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from servicing.conversations import conversations_of, waiting_queue
from servicing.demo.conversations import DEMO_SPECIALIST, demo_queue, load_demo_conversations
from servicing.demo.portfolio import load_demo
from servicing.store.models import Conversation, Loan, Message
from tests.conftest import SECRET

AS_OF = date(2026, 11, 2)
ANCHOR = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


def test_the_demo_fills_the_queue_with_conversations_of_every_kind(sessions: sessionmaker[Session]) -> None:
    load_demo(sessions, secret=SECRET, as_of=AS_OF)
    with sessions() as session:
        queue = waiting_queue(session)
        held = conversations_of(session, DEMO_SPECIALIST)
        loans = dict(session.execute(select(Loan.id, Loan.loan_number)).tuples().all())
        queued = {
            loans[c.loan_id]: c
            for c in session.scalars(select(Conversation).where(Conversation.state == "queued"))
            if c.loan_id
        }
        statuses = set(session.scalars(select(Message.status).where(Message.direction == "out")))
        photos = [m for m in session.scalars(select(Message).where(Message.direction == "in")) if m.attachments]
        bot_only = session.scalar(select(func.count()).select_from(Conversation).where(Conversation.state == "bot"))
    assert sorted(queued) == sorted(demo_queue())
    assert {entry.reason for entry in queue} == {"hardship", "dispute", "asked", "sensitive", "not_understood",
                                                 "locked_out"}  # fmt: skip
    assert queue[0].reason == "locked_out"  # the highest priority comes first
    hardship = queued["LN-2002"]
    assert (hardship.locale, hardship.escalation_reason, hardship.channel) == ("es_US", "hardship", "sms")
    assert hardship.queued_at is not None
    assert hardship.queued_at.replace(tzinfo=UTC) == ANCHOR - timedelta(minutes=24)
    assert {entry.channel for entry in queue} == {"sms", "telegram"}
    assert len(held) == 1 and held[0].locale == "es_US"
    assert {"delivered", "failed", "sent"} <= statuses
    assert [photo.attachments[0]["content_type"] for photo in photos] == ["image/jpeg"]
    assert bot_only is not None and bot_only >= 2
    assert queued["LN-7002"].locked_until is not None


def test_loading_the_demo_again_adds_no_conversation(sessions: sessionmaker[Session]) -> None:
    load_demo(sessions, secret=SECRET, as_of=AS_OF)
    with sessions() as session:
        before = session.scalar(select(func.count()).select_from(Message))
    assert load_demo_conversations(sessions, AS_OF) == 0
    load_demo(sessions, secret=SECRET, as_of=AS_OF)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == before
