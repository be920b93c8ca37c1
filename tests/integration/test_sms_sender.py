"""SMS out through the real Twilio client: the exact REST call, the provider id kept, retries, give-ups and waits."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from twilio.rest import Client

from bot.channels import configured_senders
from bot.channels.twilio_sender import TwilioSender
from servicing.config import Settings
from servicing.conversations import find_or_open_conversation, record_outbound
from servicing.outbox import deliver_outbox
from servicing.store.models import Message, OutboxItem
from tests.conftest import SECRET
from tests.twilio_double import ACCOUNT_SID, RecordingHttpClient

AUTH_TOKEN = "test-auth-token"
FROM_NUMBER = "+15550001111"
BORROWER = "+15558880001"
NOW = datetime(2026, 3, 20, 15, 0, tzinfo=UTC)  # 11:00 in New York
MESSAGES_URL = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"


def twilio_error(status: int, code: int) -> tuple[int, dict[str, Any]]:
    return status, {"code": code, "message": f"error {code}", "more_info": f"https://www.twilio.com/docs/errors/{code}",
                    "status": status}  # fmt: skip


def twilio_sender(http: RecordingHttpClient, status_callback: str | None = None) -> TwilioSender:
    return TwilioSender(Client(ACCOUNT_SID, AUTH_TOKEN, http_client=http), FROM_NUMBER, status_callback=status_callback)


def queue(sessions: sessionmaker[Session], body: str = "Hi, this is Ana from servicing.") -> int:
    with sessions.begin() as session:
        conversation = find_or_open_conversation(session, "sms", BORROWER, NOW)
        return record_outbound(session, conversation, body, author="specialist:ana", now=NOW, deliver_later=True).id


def outbox_row(session: Session, message_id: int) -> OutboxItem:
    item = session.scalar(select(OutboxItem).where(OutboxItem.message_id == message_id))
    assert item is not None
    return item


def deliver(sessions: sessionmaker[Session], sender: TwilioSender, at: datetime = NOW) -> None:
    deliver_outbox(sessions, {"sms": sender}, worker="w1", clock=lambda: at)


def test_a_queued_reply_goes_out_as_one_rest_call_and_keeps_twilios_sid(sessions: sessionmaker[Session]) -> None:
    message_id = queue(sessions)
    http = RecordingHttpClient()
    deliver(sessions, twilio_sender(http, status_callback="https://loanline.example.com/sms/twilio/status"))
    [call] = http.calls
    assert (call["method"], call["url"]) == ("POST", MESSAGES_URL)
    assert call["data"] == {"To": BORROWER, "From": FROM_NUMBER, "Body": "Hi, this is Ana from servicing.",
                            "StatusCallback": "https://loanline.example.com/sms/twilio/status"}  # fmt: skip
    assert call["auth"] == (ACCOUNT_SID, AUTH_TOKEN)
    with sessions() as session:
        message = session.get(Message, message_id)
        assert message is not None
        assert (message.status, message.provider_id) == ("sent", f"SM{1:032d}")
        assert outbox_row(session, message_id).provider_id == message.provider_id


def test_a_twilio_server_error_is_retried_with_backoff_then_sent(sessions: sessionmaker[Session]) -> None:
    message_id = queue(sessions)
    http = RecordingHttpClient(errors=[twilio_error(500, 20500), twilio_error(503, 20503)])
    sender = twilio_sender(http)
    deliver(sessions, sender)
    with sessions() as session:
        row = outbox_row(session, message_id)
        assert (row.status, row.attempts) == ("pending", 1)
        assert row.next_attempt_at.replace(tzinfo=UTC) == NOW + timedelta(seconds=30)
    deliver(sessions, sender, NOW + timedelta(seconds=10))  # not due yet: no call
    assert len(http.calls) == 1
    deliver(sessions, sender, NOW + timedelta(seconds=30))
    with sessions() as session:
        row = outbox_row(session, message_id)
        assert (row.status, row.attempts) == ("pending", 2)
        assert row.next_attempt_at.replace(tzinfo=UTC) == NOW + timedelta(seconds=90)  # 30 s, then 1 min
    deliver(sessions, sender, NOW + timedelta(seconds=90))
    with sessions() as session:
        assert outbox_row(session, message_id).status == "sent"
    assert len(http.calls) == 3


def test_a_network_failure_is_retried(sessions: sessionmaker[Session]) -> None:
    message_id = queue(sessions)
    http = RecordingHttpClient(errors=[ConnectionError("connection refused")])
    deliver(sessions, twilio_sender(http))
    with sessions() as session:
        row = outbox_row(session, message_id)
        assert (row.status, row.attempts) == ("pending", 1)
        assert row.last_error is not None and row.last_error.startswith("network")


@pytest.mark.parametrize("code", [21614, 21211, 21610, 21408])
def test_a_number_twilio_cannot_text_is_given_up_at_once(sessions: sessionmaker[Session], code: int) -> None:
    message_id = queue(sessions)
    http = RecordingHttpClient(errors=[twilio_error(400, code)])
    deliver(sessions, twilio_sender(http))
    with sessions() as session:
        row = outbox_row(session, message_id)
        message = session.get(Message, message_id)
        assert message is not None
        assert (row.status, row.attempts, message.status, message.error_code) == ("gave_up", 1, "failed", str(code))
    assert len(http.calls) == 1


def test_too_many_requests_waits_before_trying_again(sessions: sessionmaker[Session]) -> None:
    message_id = queue(sessions)
    http = RecordingHttpClient(errors=[twilio_error(429, 20429)])
    sender = twilio_sender(http)
    deliver(sessions, sender)
    with sessions() as session:
        row = outbox_row(session, message_id)
        assert (row.status, row.attempts) == ("pending", 1)
        assert row.next_attempt_at.replace(tzinfo=UTC) == NOW + timedelta(seconds=60)
    deliver(sessions, sender, NOW + timedelta(seconds=59))
    assert len(http.calls) == 1
    deliver(sessions, sender, NOW + timedelta(seconds=60))
    with sessions() as session:
        assert outbox_row(session, message_id).status == "sent"


def settings_with(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env({"LOANLINE_SECRET_KEY": SECRET, "LOANLINE_INSTANCE_PATH": str(tmp_path), **env})


def test_without_twilio_credentials_no_sms_sender_is_configured_and_the_log_says_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, sessions: sessionmaker[Session]
) -> None:
    message_id = queue(sessions)
    with caplog.at_level(logging.WARNING, logger="bot.channels"):
        senders = configured_senders(settings_with(tmp_path, TWILIO_ACCOUNT_SID=ACCOUNT_SID))
    assert "sms" not in senders
    assert "TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER not set" in caplog.text
    deliver_outbox(sessions, senders, worker="w1", clock=lambda: NOW)
    with sessions() as session:
        assert outbox_row(session, message_id).status == "pending"  # kept for a worker that can send


def test_with_twilio_credentials_the_sms_sender_sends_from_the_configured_number(
    tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    queue(sessions)
    http = RecordingHttpClient()
    credentials = {
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": FROM_NUMBER,
    }
    settings = settings_with(tmp_path, LOANLINE_PUBLIC_URL="https://loanline.example.com/", **credentials)
    senders = configured_senders(settings, http_client=http)
    deliver_outbox(sessions, senders, worker="w1", clock=lambda: NOW)
    [call] = http.calls
    assert (call["data"]["From"], call["data"]["StatusCallback"]) == (
        FROM_NUMBER, "https://loanline.example.com/sms/twilio/status"
    )  # fmt: skip
