"""The outbox worker of `loanline run` and `loanline worker`: without credentials it keeps every message."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from loanline.runtime import Runtime
from loanline.worker import start_worker_thread
from servicing.config import Settings
from servicing.conversations import find_or_open_conversation, record_outbound
from servicing.store.models import OutboxItem
from tests.conftest import SECRET, named_connections
from tests.integration.test_inbound_exactly_once import end_the_apps_connections


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


def queue_simulator_reply(sessions: sessionmaker[Session], body: str) -> None:
    now = datetime.now(UTC)
    with sessions.begin() as session:
        conversation = find_or_open_conversation(session, "simulator", "demo:+15550101011", now)
        record_outbound(session, conversation, body, author="specialist:ana", now=now, deliver_later=True)


def wait_for(condition: Callable[[], bool], seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.postgres
def test_the_worker_keeps_delivering_after_the_database_ends_its_connections(
    database_url: str, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("a SQLite file has no server to end connections")
    application_name = f"loanline-worker-{uuid.uuid4().hex[:8]}"
    settings = Settings.from_env({"LOANLINE_DATABASE_URL": named_connections(database_url, application_name),
                                  "LOANLINE_SECRET_KEY": SECRET, "LOANLINE_INSTANCE_PATH": str(tmp_path)})  # fmt: skip
    rt = Runtime.start(settings)  # the worker's own connections, named so that only they are ended

    def unsent() -> int:
        with sessions() as session:
            return len(session.scalars(select(OutboxItem.id).where(OutboxItem.status != "sent")).all())

    thread, stop = start_worker_thread(rt)
    try:
        queue_simulator_reply(sessions, "Before the restart")
        assert wait_for(lambda: unsent() == 0)
        assert end_the_apps_connections(application_name) >= 1  # the idle worker's pooled connection too
        queue_simulator_reply(sessions, "After the restart")
        assert wait_for(lambda: unsent() == 0), "the worker stopped delivering"
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(timeout=10)
        rt.close()
