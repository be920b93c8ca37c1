"""Migration 0025 fills the inbound receipts from the inbound messages already stored, and names each referred
message's created_at beside its id, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from alembic import command
from sqlalchemy import Table, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from servicing.conversations import record_inbound
from servicing.store.migrate import alembic_config
from servicing.store.models import Conversation, InboundReceipt, Message, OutboxItem

SENT = datetime(2026, 3, 20, 15, 0, tzinfo=UTC)


def migrate(engine: Engine, revision: str, *, down: bool = False) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def test_the_migration_fills_the_receipts_and_the_created_at_of_referred_messages(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    migrate(engine, "0024", down=True)
    messages, conversations = cast(Table, Message.__table__), cast(Table, Conversation.__table__)
    with engine.begin() as connection:  # rows as the schema before 0025 held them
        conversation_id = connection.execute(conversations.insert().values(
            channel="sms", address="+15557770009", state="bot", locale="en", priority=0, failed_attempts=0,
            misses=0, waiting_acknowledged=False, flow={}, created_at=SENT, last_message_at=SENT,
        ).returning(conversations.c.id)).scalar_one()  # fmt: skip
        common = {"conversation_id": conversation_id, "channel": "sms", "author": "bot", "body": "hi",
                  "attachments": [], "internal": False, "created_at": SENT}  # fmt: skip
        inbound = {**common, "direction": "in", "provider_id": "SM-OLD", "status": "received"}
        outbound = {**common, "direction": "out", "provider_id": None, "status": "queued"}
        connection.execute(messages.insert(), [inbound, outbound])
        out_id = connection.scalar(text("SELECT id FROM messages WHERE direction = 'out'"))
        connection.execute(text("INSERT INTO outbox (message_id, channel, address, body, proactive, status, attempts, "
                                "next_attempt_at, created_at) VALUES (:id, 'sms', '+15557770009', 'hi', false, "
                                "'pending', 0, :at, :at)"), {"id": out_id, "at": SENT})  # fmt: skip
    migrate(engine, "head")
    with sessions() as session:
        assert session.execute(select(InboundReceipt.channel, InboundReceipt.provider_id)).all() == [("sms", "SM-OLD")]
        assert session.scalars(select(OutboxItem.message_created_at)).all() == [SENT]
    with sessions.begin() as session:  # the provider's retry of a message stored before the migration
        retry = record_inbound(session, "sms", "+15557770009", "hi", provider_id="SM-OLD", now=SENT, lock=True)
    assert retry.duplicate
