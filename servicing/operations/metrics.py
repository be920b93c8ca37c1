"""Prometheus metrics (docs/operations.md, "What to watch").

Counters and histograms are recorded where things happen: web requests by the console's hooks, sends by the
outbox worker, end of day by whoever runs it (`loanline eod`, the scheduler). Under gunicorn, and whenever
PROMETHEUS_MULTIPROC_DIR is set, every process of the host writes its values to files in that folder and
`/metrics` adds them up (prometheus_client's multiprocess mode: the variable must be set before the first
metric is made, so it is read from the environment, not from settings). Without it, one process
(`loanline run`) keeps them in memory.

What the database knows is read when Prometheus scrapes, not counted: the outbox's depth and its oldest
waiting message, the specialists' queue and the waits past their SLA, the business date. Those are the same
whichever process answers the scrape.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from servicing.conversations import ConversationState, sla_target
from servicing.store.accounts import business_date
from servicing.store.models import Conversation, OutboxItem

if TYPE_CHECKING:
    from servicing.eod import DayResult
    from servicing.outbox import DeliveryReport

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
EOD_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600)

REQUESTS = Counter(
    "loanline_http_requests_total", "Web requests answered, by route (the URL rule), method and status",
    ["route", "method", "status"],
)  # fmt: skip
LATENCY = Histogram(
    "loanline_http_request_seconds", "Time to answer a web request, by route (the URL rule)",
    ["route"], buckets=LATENCY_BUCKETS,
)  # fmt: skip
WEBHOOK_ANSWERS = Counter(
    "loanline_webhook_answers_total", "Answers to the channels' webhooks (SMS, Telegram), by channel and status",
    ["channel", "status"],
)  # fmt: skip
SENDS = Counter(
    "loanline_outbox_sends_total", "Outbox send attempts by channel and outcome (sent, retried, given_up)",
    ["channel", "outcome"],
)  # fmt: skip
EOD_SECONDS = Histogram(
    "loanline_eod_seconds", "Time one business date's end of day took (its transaction)", buckets=EOD_BUCKETS,
)  # fmt: skip
EOD_ROWS = Counter(
    "loanline_eod_rows_total", "Rows end of day touched, by phase (late fees, loans accrued, statements...)",
    ["phase"],
)  # fmt: skip
EOD_DAYS = Counter("loanline_eod_days_total", "Business dates end of day ran")
JOBS = Counter(
    "loanline_scheduler_jobs_total", "Daily jobs the scheduler ran, by job and outcome (done, failed)",
    ["job", "outcome"],
)  # fmt: skip

EOD_PHASES = (
    "ach_settled", "scheduled_posted", "scheduled_failed", "promises_kept", "promises_broken", "late_fees",
    "loans_accrued", "escrow_disbursed", "escrow_analyzed", "early_intervention", "arrears_information",
    "letters", "cases_overdue", "statements", "outreach_queued", "outreach_suppressed",
)  # fmt: skip


def record_request(route: str, method: str, status: int, seconds: float, channel: str | None) -> None:
    """Count one answered web request and its time; a webhook's answer also by channel."""
    REQUESTS.labels(route, method, str(status)).inc()
    LATENCY.labels(route).observe(seconds)
    if channel is not None:
        WEBHOOK_ANSWERS.labels(channel, str(status)).inc()


def record_delivery(report: DeliveryReport) -> None:
    """Count one outbox pass's attempts by channel and outcome."""
    for channel, outcome in report.outcomes:
        SENDS.labels(channel, outcome).inc()


def record_day(result: DayResult) -> None:
    """Count one business date's end of day: its time and the rows of each phase."""
    EOD_DAYS.inc()
    EOD_SECONDS.observe(result.seconds)
    for phase in EOD_PHASES:
        rows = getattr(result, phase, 0) or 0
        if rows:
            EOD_ROWS.labels(phase).inc(rows)


def record_job(job: str, outcome: str) -> None:
    """Count one scheduled job's run."""
    JOBS.labels(job, outcome).inc()


@dataclass(frozen=True)
class DatabaseGauges:
    """What the database holds now: the outbox, the specialists' queue, the business date."""

    outbox_waiting: dict[str, int]
    outbox_oldest_seconds: dict[str, float]
    outbox_gave_up: int
    queue_waiting: int
    queue_breached: int
    queue_oldest_seconds: float
    business_date: date | None


def database_gauges(session: Session, now: datetime) -> DatabaseGauges:
    """Read the outbox's depth and oldest due message per channel, the queue and its SLA breaches (few queries)."""
    waiting: dict[str, int] = {}
    oldest: dict[str, float] = {}
    rows = session.execute(
        select(OutboxItem.channel, func.count(), func.min(OutboxItem.created_at))
        .where(OutboxItem.status.in_(("pending", "sending")))
        .group_by(OutboxItem.channel)
    ).all()
    for channel, count, first in rows:
        waiting[channel] = count
        oldest[channel] = max((now - _aware(first)).total_seconds(), 0.0) if first else 0.0
    gave_up = session.scalar(select(func.count()).select_from(OutboxItem).where(OutboxItem.status == "gave_up"))
    queued = session.execute(
        select(Conversation.escalation_reason, Conversation.queued_at).where(
            Conversation.state == ConversationState.QUEUED.value
        )
    ).all()
    breached = sum(1 for reason, at in queued if at is not None and now - _aware(at) > sla_target(reason))
    longest = max(((now - _aware(at)).total_seconds() for _, at in queued if at is not None), default=0.0)
    return DatabaseGauges(waiting, oldest, gave_up or 0, len(queued), breached, max(longest, 0.0),
                          business_date(session))  # fmt: skip


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class DatabaseCollector(Collector):
    """Gauges read from the database at each scrape (a failed read is reported as loanline_database_up 0)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def collect(self) -> Iterator[Metric]:
        try:
            with self.sessions() as session:
                gauges = database_gauges(session, datetime.now(UTC))
        except SQLAlchemyError:  # the database down or failing: what this gauge reports
            yield GaugeMetricFamily("loanline_database_up", "Whether the database answered the scrape", value=0)
            return
        yield GaugeMetricFamily("loanline_database_up", "Whether the database answered the scrape", value=1)
        yield _by_channel("loanline_outbox_waiting", "Messages waiting in the outbox, by channel",
                          gauges.outbox_waiting)  # fmt: skip
        yield _by_channel("loanline_outbox_oldest_seconds", "Age of the oldest message waiting in the outbox",
                          gauges.outbox_oldest_seconds)  # fmt: skip
        yield GaugeMetricFamily(
            "loanline_outbox_gave_up", "Messages the outbox gave up on", value=gauges.outbox_gave_up
        )
        yield GaugeMetricFamily("loanline_queue_waiting", "Conversations waiting for a specialist",
                                value=gauges.queue_waiting)  # fmt: skip
        yield GaugeMetricFamily("loanline_queue_sla_breached", "Conversations waiting longer than their SLA target",
                                value=gauges.queue_breached)  # fmt: skip
        yield GaugeMetricFamily("loanline_queue_oldest_seconds", "Longest wait in the specialists' queue",
                                value=gauges.queue_oldest_seconds)  # fmt: skip
        if gauges.business_date is not None:
            moment = datetime.combine(gauges.business_date, datetime.min.time(), UTC).timestamp()
            yield GaugeMetricFamily("loanline_business_date_timestamp",
                                    "The business date end of day has run through (midnight UTC, Unix time)",
                                    value=moment)  # fmt: skip


def _by_channel(name: str, documentation: str, values: dict[str, float] | dict[str, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=["channel"])
    for channel in sorted(values):
        family.add_metric([channel], values[channel])
    return family


def exposition(sessions: sessionmaker[Session], extra: Iterable[Collector] = ()) -> tuple[bytes, str]:
    """Return the metrics page: every process's counters (multiprocess folder or this one) and the database's."""
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROCESS_DIR):
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Forwarding(REGISTRY))
    registry.register(DatabaseCollector(sessions))
    for collector in extra:
        registry.register(collector)
    return generate_latest(registry), CONTENT_TYPE_LATEST


class _Forwarding(Collector):
    """This process's own metrics (single-process mode), put into the scrape's registry."""

    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self) -> Iterator[Metric]:
        yield from self.source.collect()


def metric_value(text: str, name: str, labels: dict[str, str] | None = None) -> float | None:
    """Return one sample's value from a metrics page (tests and the topology check read it)."""
    from prometheus_client.parser import text_string_to_metric_families  # noqa: PLC0415

    wanted = labels or {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in wanted.items()):
                return float(sample.value)
    return None
