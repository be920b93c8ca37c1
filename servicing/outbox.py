"""The outbox: messages waiting to be sent, claimed by workers, retried with backoff, given up on loudly.

A worker claims due rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so two workers never take the same
row; SQLite has one writer at a time), sends them outside any transaction, then records the outcome.
A claim is a lease: a worker that dies mid-send leaves rows that become due again when the lease ends.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from servicing.conversations import is_opted_out
from servicing.store.db import retried_when_disconnected
from servicing.store.models import Borrower, Conversation, Message, OutboxItem

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=5)
FIRST_RETRY = timedelta(seconds=30)
MAX_ATTEMPTS = 6  # 30 s, 1, 2, 4, 8 min: given up after about a quarter of an hour
QUIET_BEFORE, QUIET_AFTER = time(8, 0), time(21, 0)


class DeliveryFailed(Exception):
    """A provider refused or failed a send; `retry_after` (seconds) when it said when to try again."""

    def __init__(
        self, reason: str, *, code: str | None = None, permanent: bool = False, retry_after: float | None = None
    ):
        super().__init__(reason)
        self.code = code
        self.permanent = permanent
        self.retry_after = retry_after


class Sender(Protocol):
    """What a channel gives the outbox: send a text, return the provider's message id."""

    def send(self, address: str, body: str) -> str:
        """Send one message; raise DeliveryFailed when it cannot."""


@dataclass
class DeliveryReport:
    """What one pass over the outbox did."""

    sent: int = 0
    retried: int = 0
    given_up: int = 0
    held: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Claimed:
    id: int
    message_id: int
    channel: str
    address: str
    body: str
    proactive: bool
    attempts: int


def claim_due(session: Session, worker: str, now: datetime, limit: int, channels: set[str]) -> list[_Claimed]:
    """Take up to `limit` due rows for this worker, each on a lease; other workers skip them."""
    query = (
        select(OutboxItem)
        .where(
            OutboxItem.channel.in_(sorted(channels)),
            OutboxItem.status.in_(("pending", "sending")),
            OutboxItem.next_attempt_at <= now,
        )
        .order_by(OutboxItem.next_attempt_at, OutboxItem.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = []
    for item in session.scalars(query):
        item.status, item.claimed_by, item.next_attempt_at = "sending", worker, now + LEASE
        claimed.append(_Claimed(item.id, item.message_id, item.channel, item.address, item.body, item.proactive,
                                item.attempts))  # fmt: skip
    return claimed


def deliver_outbox(
    sessions: sessionmaker[Session],
    senders: Mapping[str, Sender],
    *,
    worker: str,
    clock: Callable[[], datetime],
    limit: int = 50,
) -> DeliveryReport:
    """Send what is due on the channels that have a sender; record each outcome."""
    report = DeliveryReport()
    now = clock()
    with sessions.begin() as session:
        claimed = claim_due(session, worker, now, limit, set(senders))
    waiting: dict[str, datetime] = {}  # channels whose provider asked to wait (a 429), until when
    for item in claimed:
        if item.channel in waiting:
            _postpone(sessions, item, waiting[item.channel], report)
            continue
        wait_until = _deliver(sessions, senders[item.channel], item, clock, report)
        if wait_until is not None:
            waiting[item.channel] = wait_until
    return report


def _postpone(sessions: sessionmaker[Session], item: _Claimed, until: datetime, report: DeliveryReport) -> None:
    """Put a claimed message back, untried, until its channel's provider is ready again."""
    with sessions.begin() as session:
        session.execute(update(OutboxItem).where(OutboxItem.id == item.id)
                        .values(status="pending", next_attempt_at=until))  # fmt: skip
    report.held.append(f"{item.id}: {item.channel} asked to wait until {until.isoformat()}")


def _deliver(
    sessions: sessionmaker[Session],
    sender: Sender,
    item: _Claimed,
    clock: Callable[[], datetime],
    report: DeliveryReport,
) -> datetime | None:
    """Send one claimed message and record the outcome; return until when the provider asked to wait, if it did."""
    with sessions.begin() as session:
        if is_opted_out(session, item.channel, item.address):
            _finish(session, item, "blocked", None, "recipient opted out", clock())
            report.held.append(f"{item.id}: opted out")
            return None
        wait_until = _quiet_hours_end(session, item, clock()) if item.proactive else None
        if wait_until is not None:
            session.execute(update(OutboxItem).where(OutboxItem.id == item.id)
                            .values(status="pending", next_attempt_at=wait_until))  # fmt: skip
            report.held.append(f"{item.id}: quiet hours until {wait_until.isoformat()}")
            return None
    try:
        provider_id = sender.send(item.address, item.body)
    except DeliveryFailed as failure:
        now = clock()
        with sessions.begin() as session:
            _failed(session, item, failure, now, report)
        return now + timedelta(seconds=failure.retry_after) if failure.retry_after else None
    sent_at = clock()

    def record_sent() -> None:
        with sessions.begin() as session:
            _finish(session, item, "sent", provider_id, None, sent_at)

    retried_when_disconnected(record_sent)  # a send not recorded would be sent again when its lease ends
    report.sent += 1
    return None


def _finish(
    session: Session, item: _Claimed, status: str, provider_id: str | None, error: str | None, now: datetime
) -> None:
    session.execute(
        update(OutboxItem)
        .where(OutboxItem.id == item.id)
        .values(status=status, provider_id=provider_id, last_error=error, sent_at=now if provider_id else None)
    )
    message_status = {"sent": "sent", "blocked": "blocked", "gave_up": "failed"}[status]
    session.execute(
        update(Message)
        .where(Message.id == item.message_id)
        .values(status=message_status, provider_id=provider_id, sent_at=now if provider_id else None)
    )


def _failed(session: Session, item: _Claimed, failure: DeliveryFailed, now: datetime, report: DeliveryReport) -> None:
    attempts = item.attempts + 1
    reason = f"{failure.code or 'error'}: {failure}"[:300]
    if failure.permanent or attempts >= MAX_ATTEMPTS:
        session.execute(update(OutboxItem).where(OutboxItem.id == item.id).values(attempts=attempts))
        _finish(session, item, "gave_up", None, reason, now)
        session.execute(update(Message).where(Message.id == item.message_id).values(error_code=failure.code))
        log.warning("outbox %s: gave up after %s attempts (%s)", item.id, attempts, failure.code or "error")
        report.given_up += 1
        return
    delay = timedelta(seconds=failure.retry_after) if failure.retry_after else FIRST_RETRY * 2 ** (attempts - 1)
    session.execute(
        update(OutboxItem)
        .where(OutboxItem.id == item.id)
        .values(status="pending", attempts=attempts, last_error=reason, next_attempt_at=now + delay)
    )
    report.retried += 1


def _quiet_hours_end(session: Session, item: _Claimed, now: datetime) -> datetime | None:
    """Return when a servicer-started message may go out in the borrower's time zone, or None if now."""
    zone_name = session.scalar(
        select(Borrower.timezone)
        .join(Conversation, Conversation.borrower_id == Borrower.id)
        .join(Message, Message.conversation_id == Conversation.id)
        .where(Message.id == item.message_id)
    )
    zone = ZoneInfo(zone_name or "UTC")
    local = now.astimezone(zone)
    if QUIET_BEFORE <= local.time() < QUIET_AFTER:
        return None
    day = local.date() if local.time() < QUIET_BEFORE else local.date() + timedelta(days=1)
    return datetime.combine(day, QUIET_BEFORE, tzinfo=zone)


@dataclass(frozen=True)
class OutboxState:
    """What the outbox holds: messages waiting per channel, and those it gave up on or may not send."""

    waiting: dict[str, int]
    gave_up: int
    blocked: int


def outbox_state(session: Session) -> OutboxState:
    """Count the outbox's waiting messages per channel and its undeliverable ones (one grouped query)."""
    rows = session.execute(
        select(OutboxItem.status, OutboxItem.channel, func.count())
        .where(OutboxItem.status.in_(("pending", "sending", "gave_up", "blocked")))
        .group_by(OutboxItem.status, OutboxItem.channel)
    ).all()
    waiting: dict[str, int] = {}
    ended = {"gave_up": 0, "blocked": 0}
    for status, channel, count in rows:
        if status in ended:
            ended[status] += count
        else:
            waiting[channel] = waiting.get(channel, 0) + count
    return OutboxState(waiting, ended["gave_up"], ended["blocked"])
