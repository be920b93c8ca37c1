"""The outbox worker of `loanline run` and `loanline worker`: without credentials it keeps every message."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from loanline.runtime import Runtime
from loanline.worker import start_worker_thread
from servicing.config import Settings
from servicing.conversations import find_or_open_conversation, record_outbound
from servicing.store.models import OutboxItem
from tests.conftest import SECRET


def test_without_credentials_the_worker_keeps_the_messages_and_says_why(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings.from_env({"LOANLINE_DATABASE_URL": database_url, "LOANLINE_SECRET_KEY": SECRET,
                                  "LOANLINE_INSTANCE_PATH": str(tmp_path)})  # fmt: skip
    rt = Runtime.start(settings)
    now = datetime.now(UTC)
    with rt.sessions.begin() as session:
        conversation = find_or_open_conversation(session, "sms", "+15550101010", now)
        record_outbound(session, conversation, "Hi from Ana", author="specialist:ana", now=now, deliver_later=True)
    with caplog.at_level(logging.WARNING):
        thread, stop = start_worker_thread(rt)
        time.sleep(0.5)
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    with rt.sessions() as session:
        assert session.scalar(select(OutboxItem.status)) == "pending"
    assert "TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER not set" in caplog.text
    rt.close()
