"""The home page: what waits in the outbox, and a channel this server cannot send on."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import update

from servicing.conversations import (
    EscalationReason,
    claim_conversation,
    escalate,
    find_or_open_conversation,
    record_outbound,
)
from servicing.store.models import OutboxItem
from tests.integration.console_helpers import sessions_of, signed_in, staffed_console

NOT_CONFIGURED = re.compile(r'<p class="error" role="alert">(\w+) is not configured on this server')
TWILIO = {"TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "token", "TWILIO_FROM_NUMBER": "+15550001111"}


def queue_messages(app: Flask, channel: str, address: str, count: int) -> list[int]:
    """Queue `count` outbound messages to one address; return their outbox ids."""
    now = datetime.now(UTC)
    with sessions_of(app).begin() as session:
        conversation = find_or_open_conversation(session, channel, address, now)
        messages = [record_outbound(session, conversation, f"notice {n}", author="sam", now=now, deliver_later=True)
                    for n in range(count)]  # fmt: skip
        session.flush()
        return [
            item.id for item in session.query(OutboxItem).where(OutboxItem.message_id.in_([m.id for m in messages]))
        ]


@pytest.fixture
def app(database_url: str, cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    for name in (*TWILIO, "TELEGRAM_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with staffed_console(database_url, "2026-03-20", monkeypatch) as app:
        yield app


def test_the_home_page_counts_the_outbox_and_says_which_channel_cannot_send(app: Flask) -> None:
    waiting = queue_messages(app, "sms", "+15550000401", 3)
    queue_messages(app, "telegram", "4242", 1)
    with sessions_of(app).begin() as session:
        session.execute(update(OutboxItem).where(OutboxItem.id == waiting[0]).values(status="gave_up"))
    page = signed_in(app, "sam").get("/console/").get_data(as_text=True)
    outbox = page[page.index("<h2>Outbox</h2>") :]
    assert re.search(r"SMS <strong>2</strong> · Telegram <strong>1</strong>", outbox)
    assert re.search(r"Given up after repeated failures: <strong>1</strong>", outbox)
    assert NOT_CONFIGURED.findall(page) == ["SMS", "Telegram"]


def test_a_configured_channel_is_not_reported_as_missing(
    database_url: str, cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in TWILIO.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    with staffed_console(database_url, "2026-03-20", monkeypatch) as app:
        queue_messages(app, "sms", "+15550000402", 1)
        page = signed_in(app, "sam").get("/console/").get_data(as_text=True)
    assert NOT_CONFIGURED.findall(page) == []  # SMS can send; Telegram has nothing waiting


def test_a_conversation_on_a_channel_that_cannot_send_says_replies_will_wait(app: Flask) -> None:
    now = datetime.now(UTC)
    with sessions_of(app).begin() as session:
        conversation = find_or_open_conversation(session, "sms", "+15550000403", now)
        escalate(session, conversation, EscalationReason.ASKED, now)
        claim_conversation(session, conversation.id, "sam", now)
    page = signed_in(app, "sam").get(f"/console/conversations/{conversation.id}").get_data(as_text=True)
    assert "This channel is not configured on this server" in page
