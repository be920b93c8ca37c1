"""The outbox worker: delivers queued messages on every channel this deployment has credentials for, and offers
waiting conversations to available specialists on every pass (docs/console-assignment.md)."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import OperationalError

from bot.channels import configured_senders
from loanline.runtime import Runtime
from servicing.operations.metrics import record_delivery
from servicing.outbox import Sender, deliver_outbox
from servicing.staffing.assignment import assign_waiting_conversations

log = logging.getLogger(__name__)
IDLE_SECONDS = 2.0


def run_worker(rt: Runtime, stop: threading.Event, idle_seconds: float = IDLE_SECONDS) -> None:
    """Deliver the outbox until `stop` is set; a pass that sent something is followed at once by another.

    A pass the database failed (a dropped connection, a lock held too long) is tried again after the
    idle pause: the worker never dies of it, and what was claimed comes due again when its lease ends.
    """
    senders = outbox_senders(rt)
    rules = rt.settings.contact_rules()  # servicer-started messages pass the contact policy again before sending
    worker = f"{socket.gethostname()[:32]}:{os.getpid()}:{threading.get_ident() % 10**9}"  # who holds a claim
    lease = timedelta(seconds=rt.settings.outbox_lease_seconds)
    if not set(senders) - {"simulator"}:
        log.warning("outbox worker: no channel has credentials; SMS and Telegram messages stay queued")
    assigned_at = float("-inf")
    while not stop.is_set():
        try:
            if time.monotonic() - assigned_at >= idle_seconds:  # at most once per idle pause, even while sending
                offer_waiting_conversations(rt)
                assigned_at = time.monotonic()
            report = deliver_outbox(rt.sessions, senders, worker=worker, clock=lambda: datetime.now(UTC),
                                    rules=rules, lease=lease)  # fmt: skip
        except OperationalError as error:  # the database restarted, failed over or was busy: the next pass retries
            log.warning("outbox worker: the database failed (%s); trying again in %s s", type(error.orig).__name__,
                        idle_seconds)  # fmt: skip
            stop.wait(idle_seconds)
            continue
        record_delivery(report)
        if report.sent or report.retried or report.given_up:
            log.info("outbox: sent %s, retried %s, gave up %s", report.sent, report.retried, report.given_up)
            continue
        stop.wait(idle_seconds)


def offer_waiting_conversations(rt: Runtime) -> None:
    """Give waiting conversations to available specialists (the bot escalates them without running the assignment)."""
    with rt.sessions.begin() as session:
        offers = assign_waiting_conversations(session, datetime.now(UTC))
    if offers:
        log.info("assignment: %s conversations offered", len(offers))


def outbox_senders(rt: Runtime) -> dict[str, Sender]:
    """Return the senders this deployment has credentials for (Telegram's on the configured Bot API server)."""
    return configured_senders(rt.settings)


def start_worker_thread(rt: Runtime) -> tuple[threading.Thread, threading.Event]:
    """Start the outbox worker in a daemon thread; set the returned event to stop it."""
    stop = threading.Event()
    thread = threading.Thread(target=run_worker, args=(rt, stop), name="outbox-worker", daemon=True)
    thread.start()
    return thread, stop
