"""The outbox: sent once, retried with backoff, given up on loudly, never to an opted-out number,
proactive messages only in the borrower's daytime, and two workers never send the same message."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from servicing.conversations import find_or_open_conversation, record_outbound, set_opt_out
from servicing.outbox import DeliveryFailed, claim_due, deliver_outbox
from servicing.store.models import Message, OutboxItem
from tests.integration.helpers import board

NOW = datetime(2026, 3, 20, 15, 0, tzinfo=UTC)  # 11:00 in New York


class RecordingSender:
    """Records every send; fails the first `failures` sends with the given error."""

    def __init__(self, failures: int = 0, error: DeliveryFailed | None = None) -> None:
        self.sent: list[tuple[str, str]] = []
        self.failures, self.error = failures, error
        self.ids = itertools.count(1)
        self.lock = threading.Lock()

    def send(self, address: str, body: str) -> str:
        with self.lock:
            if self.failures:
                self.failures -= 1
                raise self.error or DeliveryFailed("provider unavailable", code="503")
            self.sent.append((address, body))
            return f"SM{next(self.ids):06d}"


def queue(sessions: sessionmaker[Session], body: str = "Hi, this is Ana.", address: str = "+15558880001",
          proactive: bool = False) -> int:  # fmt: skip
    with sessions.begin() as session:
        conversation = find_or_open_conversation(session, "sms", address, NOW)
        message = record_outbound(session, conversation, body, author="specialist:ana", now=NOW, deliver_later=True,
                                  proactive=proactive)  # fmt: skip
        return message.id


def item_of(session: Session, message_id: int) -> OutboxItem:
    item = session.scalar(select(OutboxItem).where(OutboxItem.message_id == message_id))
    assert item is not None
    return item


def test_a_queued_reply_is_sent_once_and_the_provider_id_recorded(sessions: sessionmaker[Session]) -> None:
    message_id = queue(sessions)
    sender = RecordingSender()
    first = deliver_outbox(sessions, {"sms": sender}, worker="w1", clock=lambda: NOW)
    second = deliver_outbox(sessions, {"sms": sender}, worker="w1", clock=lambda: NOW + timedelta(hours=1))
    assert (first.sent, second.sent, sender.sent) == (1, 0, [("+15558880001", "Hi, this is Ana.")])
    with sessions() as session:
        message = session.get(Message, message_id)
        assert message is not None
        assert (message.status, message.provider_id) == ("sent", "SM000001")


def test_a_failed_send_is_retried_with_growing_waits_then_given_up(sessions: sessionmaker[Session]) -> None:
    message_id = queue(sessions)
    sender = RecordingSender(failures=100)
    now = NOW
    waits = []
    for _ in range(6):
        deliver_outbox(sessions, {"sms": sender}, worker="w1", clock=lambda at=now: at)
        with sessions() as session:
            item = item_of(session, message_id)
            if item.status == "pending":
                waits.append(item.next_attempt_at.replace(tzinfo=UTC) - now)
                now = item.next_attempt_at.replace(tzinfo=UTC)
    assert waits == [timedelta(seconds=s) for s in (30, 60, 120, 240, 480)]
    with sessions() as session:
        item, message = item_of(session, message_id), session.get(Message, message_id)
        assert message is not None
        assert (item.status, item.attempts, message.status, message.error_code) == ("gave_up", 6, "failed", "503")


def test_a_permanent_failure_is_given_up_at_once(sessions: sessionmaker[Session]) -> None:
    message_id = queue(sessions)
    sender = RecordingSender(failures=1, error=DeliveryFailed("not a mobile number", code="21614", permanent=True))
    report = deliver_outbox(sessions, {"sms": sender}, worker="w1", clock=lambda: NOW)
    with sessions() as session:
        assert (report.given_up, item_of(session, message_id).status) == (1, "gave_up")


def test_a_provider_asking_to_wait_is_obeyed(sessions: sessionmaker[Session]) -> None:
    message_id = queue(sessions)
    sender = RecordingSender(failures=1, error=DeliveryFailed("Too Many Requests", code="429", retry_after=7))
    deliver_outbox(sessions, {"sms": sender}, worker="w1", clock=lambda: NOW)
    with sessions() as session:
        assert item_of(session, message_id).next_attempt_at.replace(tzinfo=UTC) == NOW + timedelta(seconds=7)


def test_nothing_is_sent_to_a_number_that_opted_out(sessions: sessionmaker[Session]) -> None:
    message_id = queue(sessions)
    with sessions.begin() as session:
        set_opt_out(session, "sms", "+15558880001", True, NOW)
    sender = RecordingSender()
    report = deliver_outbox(sessions, {"sms": sender}, worker="w1", clock=lambda: NOW)
    with sessions() as session:
        assert (sender.sent, item_of(session, message_id).status, len(report.held)) == ([], "blocked", 1)


def test_a_servicer_started_message_waits_for_the_borrowers_morning(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        board(session, phone="+15558880002", timezone="America/New_York")  # the 555 number tells no zone
    message_id = queue(sessions, "Your payment is due soon.", "+15558880002", proactive=True)
    night = datetime(2026, 3, 21, 3, 0, tzinfo=UTC)  # 23:00 in New York
    sender = RecordingSender()
    deliver_outbox(sessions, {"sms": sender}, worker="w1", clock=lambda: night)
    with sessions() as session:
        held_until = item_of(session, message_id).next_attempt_at.replace(tzinfo=UTC)
    assert sender.sent == [] and held_until == datetime(2026, 3, 21, 12, 0, tzinfo=UTC)  # 08:00 in New York
    deliver_outbox(sessions, {"sms": sender}, worker="w1", clock=lambda: held_until)
    assert len(sender.sent) == 1


def test_a_worker_that_died_mid_send_leaves_its_rows_for_others_once_the_lease_ends(
    sessions: sessionmaker[Session],
) -> None:
    queue(sessions)
    with sessions.begin() as session:
        assert len(claim_due(session, "dead-worker", NOW, 10, {"sms"})) == 1
    sender = RecordingSender()
    assert deliver_outbox(sessions, {"sms": sender}, worker="w2", clock=lambda: NOW).sent == 0
    assert deliver_outbox(sessions, {"sms": sender}, worker="w2", clock=lambda: NOW + timedelta(minutes=6)).sent == 1


def test_two_workers_draining_one_outbox_never_send_a_message_twice(sessions: sessionmaker[Session]) -> None:
    if sessions.kw["bind"].dialect.name != "postgresql":
        pytest.skip("SKIP LOCKED is a PostgreSQL matter; SQLite has one writer")
    for n in range(120):
        queue(sessions, f"message {n}", f"+1555889{n:04d}")
    sender = RecordingSender()

    def drain(worker: str) -> None:
        while deliver_outbox(sessions, {"sms": sender}, worker=worker, clock=lambda: NOW, limit=7).sent:
            pass

    threads = [threading.Thread(target=drain, args=(f"w{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    bodies = [body for _, body in sender.sent]
    assert sorted(bodies) == sorted(f"message {n}" for n in range(120))  # each exactly once
