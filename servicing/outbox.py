"""The outbox: messages waiting to be sent, claimed by workers, retried with backoff, given up on loudly.

A worker claims due rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so two workers never take the same
row; SQLite has one writer at a time), sends them outside any transaction, then records the outcome.
A claim is a lease: a worker that dies mid-send leaves rows that become due again when the lease ends.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from servicing.conversations import is_opted_out
from servicing.outreach.policy import check_before_sending, mark_decision, record_stopped
from servicing.rules.contact import DEFAULT_RULES, ContactRules, Reason, Status
from servicing.store.db import retried_when_disconnected
from servicing.store.models import Message, OutboxItem

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=5)
FIRST_RETRY = timedelta(seconds=30)
MAX_ATTEMPTS = 6  # 30 s, 1, 2, 4, 8 min: given up after about a quarter of an hour


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
    outcomes: list[tuple[str, str]] = field(default_factory=list)  # (channel, sent | retried | given_up) per attempt


@dataclass(frozen=True)
class _Claimed:
    id: int
    message_id: int
    message_created_at: datetime  # with the id, the message's key in a partitioned messages table
    channel: str
    address: str
    body: str
    proactive: bool
    attempts: int


def claim_due(
    session: Session, worker: str, now: datetime, limit: int, channels: set[str], lease: timedelta = LEASE
) -> list[_Claimed]:
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
        item.status, item.claimed_by, item.next_attempt_at = "sending", worker, now + lease
        claimed.append(_Claimed(item.id, item.message_id, item.message_created_at, item.channel, item.address,
                                item.body, item.proactive, item.attempts))  # fmt: skip
    return claimed


def deliver_outbox(
    sessions: sessionmaker[Session],
    senders: Mapping[str, Sender],
    *,
    worker: str,
    clock: Callable[[], datetime],
    limit: int = 50,
    rules: ContactRules = DEFAULT_RULES,
    lease: timedelta = LEASE,
) -> DeliveryReport:
    """Send what is due on the channels that have a sender; record each outcome.

    A message the servicer started (proactive) passes the contact policy again just before it is sent
    (`rules`: the portfolio's contact rules): it may wait for the borrower's morning or be stopped.
    """
    report = DeliveryReport()
    now = clock()
    with sessions.begin() as session:
        claimed = claim_due(session, worker, now, limit, set(senders), lease)
    waiting: dict[str, datetime] = {}  # channels whose provider asked to wait (a 429), until when
    for item in claimed:
        if item.channel in waiting:
            _postpone(sessions, item, waiting[item.channel], report)
            continue
        wait_until = _deliver(sessions, senders[item.channel], item, clock, report, rules)
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
    rules: ContactRules,
) -> datetime | None:
    """Send one claimed message and record the outcome; return until when the provider asked to wait, if it did."""
    with sessions.begin() as session:
        if is_opted_out(session, item.channel, item.address):
            _finish(session, item, "blocked", None, "recipient opted out", clock())
            record_stopped(session, item.id, Reason.OPTED_OUT.value)
            report.held.append(f"{item.id}: opted out")
            return None
        if item.proactive and not _may_send_now(session, item, clock(), rules, report):
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
            if item.proactive:
                mark_decision(session, item.id, Status.SENT)

    retried_when_disconnected(record_sent)  # a send not recorded would be sent again when its lease ends
    report.sent += 1
    report.outcomes.append((item.channel, "sent"))
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
        .where(*_the_message(item))
        .values(status=message_status, provider_id=provider_id, sent_at=now if provider_id else None)
    )


def _the_message(item: _Claimed) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """The conditions that find an outbox row's message by its whole key: one partition once partitioned by month."""
    return Message.id == item.message_id, Message.created_at == item.message_created_at


def _failed(session: Session, item: _Claimed, failure: DeliveryFailed, now: datetime, report: DeliveryReport) -> None:
    attempts = item.attempts + 1
    reason = f"{failure.code or 'error'}: {failure}"[:300]
    if failure.permanent or attempts >= MAX_ATTEMPTS:
        session.execute(update(OutboxItem).where(OutboxItem.id == item.id).values(attempts=attempts))
        _finish(session, item, "gave_up", None, reason, now)
        session.execute(update(Message).where(*_the_message(item)).values(error_code=failure.code))
        if item.proactive:
            mark_decision(session, item.id, Status.FAILED, Reason.DELIVERY_FAILED.value)
        log.warning("outbox %s: gave up after %s attempts (%s)", item.id, attempts, failure.code or "error")
        report.given_up += 1
        report.outcomes.append((item.channel, "given_up"))
        return
    delay = timedelta(seconds=failure.retry_after) if failure.retry_after else FIRST_RETRY * 2 ** (attempts - 1)
    session.execute(
        update(OutboxItem)
        .where(OutboxItem.id == item.id)
        .values(status="pending", attempts=attempts, last_error=reason, next_attempt_at=now + delay)
    )
    report.retried += 1
    report.outcomes.append((item.channel, "retried"))


def _may_send_now(session: Session, item: _Claimed, now: datetime, rules: ContactRules, report: DeliveryReport) -> bool:
    """Pass a servicer-started message through the contact policy again: hold it for later, stop it, or let it go."""
    verdict = check_before_sending(session, item.id, item.message_id, item.channel, item.address, now, rules)
    if verdict.status is Status.DEFERRED and verdict.send_after is not None:
        session.execute(update(OutboxItem).where(OutboxItem.id == item.id)
                        .values(status="pending", next_attempt_at=verdict.send_after))  # fmt: skip
        report.held.append(f"{item.id}: quiet hours until {verdict.send_after.isoformat()}")
        return False
    if verdict.status is Status.SUPPRESSED:
        _finish(session, item, "blocked", None, f"contact policy: {verdict.reason}", now)
        report.held.append(f"{item.id}: {verdict.reason}")
        return False
    return True


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
