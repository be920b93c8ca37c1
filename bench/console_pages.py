"""Benchmark: console page latency with 10,000 conversations and 1,000,000 messages, on SQLite and PostgreSQL.

Set-up (timed, but not part of the figures): a migrated database (a SQLite file in a temporary
folder; with `--postgres` also a scratch database created on that server and dropped at the end),
2,000 boarded loans, four specialists, 10,000 conversations (about 6% queued with mixed priorities
and waits, some assigned to the benchmark's specialist and to others, a few closed, the rest with
the bot) and 1,000,000 messages spread over them, skewed: one thread of 10,000 messages, a dozen of
1,000 to 5,000, and a long tail of short ones. Rows go in with raw bulk SQL (executemany on
SQLite, COPY on PostgreSQL); the load is timed and printed in rows/s.

Timed: the console in-process through Flask's test client (no HTTP server), in a process of its own
started after the load, logged in as a specialist: the queue (`queue.index`), "my conversations"
(`queue.mine`) and a conversation page (`conversations.show`) for the longest thread (its latest
messages, and a page from the middle of its history) and for a short one, each requested R times
(default 300) after a warm-up, interleaved round by round with the floors so that the machine's
noise falls on all of them alike. Printed per page: wall clock, CPU time of the requesting thread,
time inside SQL statements, statements per request. Every view of borrower data writes an audit
row: that commit is part of what is timed, and the audit write alone is timed too.

Floors, measured in the same run and rendering a fixed page of the same size as each page:
- bare: a plain Flask app with one route rendering a fixed template, through its own test client;
- console: a route added to the console app (login, role check, session, CSRF token, language,
  nav, base.html), rendering the same fixed rows, with no query of its own.
Goal: under 100 ms p99 for every page. Figures and findings: docs/console-performance.md.

    .venv/bin/python bench/console_pages.py [--quick] [--postgres URL] [--requests R] [--explain]
    .venv/bin/python bench/console_pages.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

The measuring process freezes the objects built at start (`gc.collect(); gc.freeze()` once the app is created), as
both serving processes do (`loanline run`'s `settle_long_lived_objects`, gunicorn's `post_worker_init`);
`--no-gc-freeze` measures without, where full collections of those objects land on some requests.
`--bot-writes N` runs a bot-like writer beside the requests; `--deferred-reads` prototypes a fix in the
measuring process only (nothing in the tree changes).
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import random
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask, render_template
from flask.testing import FlaskClient
from measure import SECRET, Database, Figures, fresh_sqlite, percentile, postgres_database, stopwatch, verdict
from portfolio import TODAY, write_loan_file
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from servicing.cases import CaseKind, open_case
from servicing.conversations import PRIORITY
from servicing.importing import import_loans
from servicing.specialists import Role, add_specialist
from servicing.store.db import make_engine, make_session_factory
from servicing.store.search_schema import create_sqlite_search, drop_sqlite_search

GOAL_P99_MS = 100.0
SEED = 20261128
NOW = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)
HISTORY = timedelta(days=365)
START_DAY = (NOW - HISTORY).date()
START_OFFSET_US = (NOW - HISTORY - datetime.combine(START_DAY, datetime.min.time(), UTC)) // timedelta(microseconds=1)
_DAYS: dict[int, str] = {}
PASSWORD = "bench-password-1"
SPECIALIST = "bench"
OTHER_SPECIALISTS = ("ana", "bruno", "chen")
CHUNK = 50_000
CASE_KINDS = (CaseKind.PAYOFF_REQUEST, CaseKind.NOTICE_OF_ERROR, CaseKind.REQUEST_FOR_INFORMATION,
              CaseKind.ARREARS_INFORMATION)  # fmt: skip
# PostgreSQL: the full-text index over messages, dropped for the bulk load and made again after it, as migration
# 0020 makes it (servicing/store/search_schema.create_postgresql_search).
PG_MESSAGE_WORDS_INDEX = "CREATE INDEX search_messages_words ON messages USING gin (search_words)"
LOCALES = ("en", "en", "en", "es", "es", "fr", "pt_BR", "de", "it", "hi", "id")
INBOUND = (
    "whats my balance",
    "when is my next payment due?",
    "I paid yesterday, can you check it arrived",
    "how much to pay off my loan",
    "agent",
    "I lost my job last month and I cannot make the full payment, what are my options",
    "cual es mi saldo",
    "quiero hablar con una persona por favor",
    "je voudrais connaître le montant de mon prochain paiement",
    "The charge on my statement is wrong. I was charged a late fee even though I paid on the 3rd and the bank "
    "shows the money left my account that day. Please fix this and send me a corrected statement.",
    "1985-04-12",
    "4321",
    "yes",
    "no thanks",
    "STOP",
    "qual é o meu saldo devedor?",
)
OUTBOUND = (
    "Hi! To look at your loan I first need to check it's you. What is your date of birth?",
    "Thanks, you're verified. Your principal balance is $182,340.17. Your next payment of $1,264.38 is due "
    "on December 1, 2026.",
    "Your payoff amount, good through December 8, 2026, is $182,911.42. After that date add $32.17 per day.",
    "We received your payment of $1,264.38 on November 27, 2026. Thank you!",
    "I've passed your conversation to a specialist. Someone will reply within 2 business hours.",
    "Sorry, I didn't understand that. You can ask for your balance, your next payment, a payoff amount, "
    "or type AGENT to talk to a person.",
    "Hola Ana, soy Carla de servicio al cliente. Veo su consulta sobre el cargo por mora; lo estoy revisando.",
    "Reminder: your payment of $412.90 is due on December 5, 2026. Reply STOP to opt out.",
    "You are now unsubscribed and will receive no more messages. Reply START to resubscribe.",
)
FLOOR_ROW = "<tr><td>{{ row[0] }}</td><td>{{ row[1] }}</td><td>{{ row[2] }}</td><td>{{ row[3] }}</td></tr>\n"
BARE_FLOOR = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>floor</title>'
    '<link rel="stylesheet" href="/static/console.css"></head><body><main><h1>floor</h1><table>\n'
    "{% for row in rows %}" + FLOOR_ROW + "{% endfor %}</table></main></body></html>"
)
CONSOLE_FLOOR = (
    '{% extends "base.html" %}{% block content %}<h1>{{ _("Queue") }}</h1><table>\n'
    "{% for row in rows %}" + FLOOR_ROW + "{% endfor %}</table>{% endblock %}"
)
MESSAGE_COLUMNS = (
    "id", "conversation_id", "channel", "direction", "author", "body", "provider_id", "status", "error_code",
    "attachments", "internal", "created_at", "sent_at", "delivered_at",
)  # fmt: skip
CONVERSATION_COLUMNS = (
    "id", "channel", "address", "borrower_id", "loan_id", "state", "escalation_reason", "priority", "queued_at",
    "assigned_to", "assigned_at", "locale", "verified_until", "failed_attempts", "locked_until", "misses",
    "waiting_acknowledged", "flow", "created_at", "last_message_at",
)  # fmt: skip
OUTBOX_COLUMNS = (
    "id", "message_id", "channel", "address", "body", "proactive", "status", "attempts", "next_attempt_at",
    "claimed_by", "last_error", "provider_id", "created_at", "sent_at", "message_created_at",
)  # fmt: skip

Row = tuple[Any, ...]


@dataclass(frozen=True)
class Shape:
    """How much data to generate."""

    conversations: int
    messages: int
    loans: int

    @property
    def queued(self) -> int:
        """Conversations waiting in the queue (6%)."""
        return max(10, self.conversations * 6 // 100)

    @property
    def mine(self) -> int:
        """Conversations assigned to the benchmark's specialist."""
        return max(3, self.conversations // 400)

    @property
    def others(self) -> int:
        """Conversations assigned to the other specialists."""
        return max(3, self.conversations // 100)

    @property
    def closed(self) -> int:
        """Closed conversations."""
        return self.conversations // 20

    @property
    def heavy(self) -> list[int]:
        """The long threads: the longest first (1% of all messages), then a dozen of 1,000 to 5,000 at full size."""
        scale = self.messages / 1_000_000
        return [round(n * scale) for n in (10_000, 5_000, 5_000, 4_000, 3_000, 3_000, 2_000, 2_000, 2_000,
                                           1_500, 1_000, 1_000, 1_000)]  # fmt: skip


FULL = Shape(conversations=10_000, messages=1_000_000, loans=2_000)
QUICK = Shape(conversations=1_000, messages=100_000, loans=300)


# -- the data -------------------------------------------------------------------------------------------


@dataclass
class Thread:
    """One conversation as generated: its row and what the messages need to know about it."""

    id: int
    channel: str
    address: str
    state: str
    assigned_to: str | None
    messages: int
    start: float  # seconds after the history begins
    loan: tuple[int, int, str] | None  # (loan id, borrower id, phone) when the conversation knows its borrower
    last: float = 0.0
    turn: int = 0


@dataclass
class Dataset:
    """The generated conversations, and the ones the benchmark opens."""

    threads: list[Thread]
    long_thread: int
    short_thread: int
    loan_owners: list[tuple[int, int, str]]  # (loan id, borrower id, phone)
    counts: dict[str, int] = field(default_factory=dict)


def thread_lengths(shape: Shape, rng: random.Random) -> list[int]:
    """Return the message count of each conversation: the heavy ones first, a log-normal tail for the rest."""
    heavy = shape.heavy
    rest = shape.conversations - len(heavy)
    remaining = shape.messages - sum(heavy)
    draws = [min(2_000.0, rng.lognormvariate(3.6, 1.0)) for _ in range(rest)]
    scale = remaining / sum(draws)
    lengths = [max(1, int(d * scale)) for d in draws]
    shortfall = remaining - sum(lengths)
    for index in range(abs(shortfall)):  # spread the rounding over the tail, one message each
        position = index % rest
        lengths[position] += 1 if shortfall > 0 else -1 if lengths[position] > 1 else 0
    return heavy + lengths


def plan_threads(shape: Shape, loan_owners: list[tuple[int, int, str]], rng: random.Random) -> Dataset:
    """Decide every conversation's channel, address, state and length (ids follow creation order)."""
    lengths = thread_lengths(shape, rng)
    # States: the longest thread and a short one are the benchmark specialist's; the rest drawn at random.
    states = ["queued"] * shape.queued + ["assigned"] * (shape.mine + shape.others) + ["closed"] * shape.closed
    states += ["bot"] * (shape.conversations - len(states))
    rng.shuffle(states)
    short_index = next(i for i in range(len(lengths) - 1, -1, -1) if 12 <= lengths[i] <= 30)
    for index in (0, short_index):  # make both "assigned" by swapping with some assigned slot
        if states[index] != "assigned":
            other = next(i for i, s in enumerate(states) if s == "assigned" and i not in (0, short_index))
            states[index], states[other] = states[other], states[index]
    owners = iter([SPECIALIST] * shape.mine + [OTHER_SPECIALISTS[i % 3] for i in range(shape.others)])
    order = list(range(shape.conversations))
    assigned_order = [0, short_index] + [i for i in order if states[i] == "assigned" and i not in (0, short_index)]
    assignee = {index: next(owners) for index in assigned_order}
    starts = sorted(rng.uniform(0, HISTORY.total_seconds() * 0.97) for _ in order)
    rng.shuffle(starts)
    for index in (0, short_index):
        starts[index] = min(starts[index], HISTORY.total_seconds() * 0.5)
    threads, used = [], set()
    for index in order:
        known = index % 5 != 4 or index in (0, short_index)  # the two threads timed are about a loan
        linked = loan_owners[index % len(loan_owners)] if known else None
        channel = "telegram" if index % 10 in (3, 7, 9) else "sms"
        if channel == "sms" and linked and linked[2] not in used:
            address = linked[2]
        elif channel == "sms":
            address = f"+1999{index:07d}"
        else:
            address = str(700_000_000 + index)
        used.add(address)
        threads.append(Thread(index + 1, channel, address, states[index], assignee.get(index), lengths[index],
                              starts[index], linked))  # fmt: skip
    dataset = Dataset(threads, long_thread=1, short_thread=short_index + 1, loan_owners=loan_owners)
    dataset.counts = {state: states.count(state) for state in ("queued", "assigned", "closed", "bot")}
    return dataset


def stamp(seconds: float) -> str:
    """Return a moment in the history as the UTC text both databases take (the PG session runs in UTC).

    Integer arithmetic and a cached date: about a third of `datetime.isoformat`'s cost, for a million rows.
    """
    micros = int(seconds * 1_000_000) + START_OFFSET_US
    day, rest = divmod(micros, 86_400_000_000)
    prefix = _DAYS.get(day)
    if prefix is None:
        prefix = _DAYS[day] = f"{START_DAY + timedelta(days=day)} "
    second, micro = divmod(rest, 1_000_000)
    minute, second = divmod(second, 60)
    hour, minute = divmod(minute, 60)
    return f"{prefix}{hour:02d}:{minute:02d}:{second:02d}.{micro:06d}"


def message_schedule(dataset: Dataset, rng: random.Random) -> list[tuple[float, int]]:
    """Return every message's (moment, conversation index), in the order they happened (= id order)."""
    end = HISTORY.total_seconds()
    schedule: list[tuple[float, int]] = []
    for index, thread in enumerate(dataset.threads):
        span = end - thread.start
        uniform = rng.random
        schedule.extend((thread.start + uniform() * span, index) for _ in range(thread.messages))
    schedule.sort()
    return schedule


def message_rows(dataset: Dataset, schedule: list[tuple[float, int]], rng: random.Random,
                 outbox: list[Row]) -> Iterator[list[Row]]:  # fmt: skip
    """Yield the messages in chunks, in id order; collect the outbox rows of the undelivered ones."""
    threads = dataset.threads
    chunk: list[Row] = []
    draw = rng.random
    for number, (moment, index) in enumerate(schedule, start=1):
        thread = threads[index]
        created = stamp(moment)
        roll = draw()
        if roll < 0.01 and thread.assigned_to:
            row: Row = (number, thread.id, "internal", "out", thread.assigned_to,
                        "Borrower called about the late fee; waiting for the bank's trace.", None, "note", None,
                        "[]", 1, created, None, None)  # fmt: skip
        elif thread.turn % 2 == 0:
            provider = f"SM{number:032x}" if thread.channel == "sms" else str(number)
            attachments = '[{"url": "https://example.com/media/1.jpg", "type": "image/jpeg"}]' if roll > 0.995 else "[]"
            row = (number, thread.id, thread.channel, "in", "borrower", INBOUND[number % len(INBOUND)], provider,
                   "received", None, attachments, 0, created, None, None)  # fmt: skip
        else:
            author = thread.assigned_to if thread.assigned_to and roll > 0.7 else "bot"
            status = "delivered" if roll < 0.9 else "sent" if roll < 0.98 else "failed"
            provider = f"SM{number:032x}" if thread.channel == "sms" else str(number)
            delivered = stamp(moment + 2.5) if status == "delivered" else None
            body = OUTBOUND[number % len(OUTBOUND)]
            row = (number, thread.id, thread.channel, "out", author, body, provider, status,
                   "30003" if status == "failed" else None, "[]", 0, created, created, delivered)  # fmt: skip
            if status != "delivered" or roll < 0.02:
                outbox.append((len(outbox) + 1, number, thread.channel, thread.address, body, 0,
                               "failed" if status == "failed" else "sent", 1, created, None,
                               "undeliverable" if status == "failed" else None, provider, created,
                               created, created))  # fmt: skip
        thread.turn += 1
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def conversation_rows(dataset: Dataset, rng: random.Random) -> list[Row]:
    """Return the conversation rows, once the messages have set each one's last message."""
    reasons = list(PRIORITY.items())
    weights = [5, 4, 8, 12, 40, 31]  # locked_out, sensitive, dispute, hardship, asked, not_understood
    rows = []
    for index, thread in enumerate(dataset.threads):
        linked = thread.loan
        reason, priority, queued_at, assigned_at = None, 0, None, None
        if thread.state in ("queued", "assigned"):
            kind, level = rng.choices(reasons, weights)[0]
            reason, priority = kind.value, level
            waited = rng.uniform(60, 3 * 86_400) if thread.state == "queued" else rng.uniform(3_600, 5 * 86_400)
            queued_at = stamp(HISTORY.total_seconds() - waited)
            thread.last = max(thread.last, HISTORY.total_seconds() - waited)
            if thread.state == "assigned":
                assigned_at = stamp(HISTORY.total_seconds() - waited + rng.uniform(30, 1_800))
        rows.append((
            thread.id, thread.channel, thread.address, linked[1] if linked else None, linked[0] if linked else None,
            thread.state, reason, priority, queued_at, thread.assigned_to, assigned_at,
            LOCALES[index % len(LOCALES)], None, 0, None, 0, 1 if thread.state == "queued" else 0, "{}",
            stamp(thread.start), stamp(thread.last),
        ))  # fmt: skip
    return rows


# -- loading ----------------------------------------------------------------------------------------------


def prepare_portfolio(db: Database, shape: Shape, folder: Path) -> list[tuple[int, int, str]]:
    """Board the loans, add the specialists and open cases on a quarter of the loans (the first loan's among them,
    for the case-reference search); return each loan's (id, borrower id, primary phone)."""
    import_loans(db.sessions, write_loan_file(folder / "loans.csv", shape.loans), secret=SECRET, today=TODAY,
                 actor="bench")  # fmt: skip
    with db.sessions() as session, session.begin():
        add_specialist(session, SPECIALIST, PASSWORD, Role.SPECIALIST, display_name="Bench Specialist",
                       actor="bench")  # fmt: skip
        for name in OTHER_SPECIALISTS:
            add_specialist(session, name, PASSWORD, Role.SPECIALIST, display_name=name.title(), actor="bench")
        loans = session.execute(text("SELECT id, borrower_id FROM loans ORDER BY id")).all()
        for number, (loan_id, borrower_id) in enumerate(loans[:: max(1, len(loans) // (shape.loans // 4))]):
            open_case(session, CASE_KINDS[number % len(CASE_KINDS)], opened_on=TODAY, country="US", source="mail",
                      actor="bench", loan_id=loan_id, borrower_id=borrower_id)  # fmt: skip
        query = text(
            "SELECT l.id, l.borrower_id, min(p.e164) FROM loans l JOIN borrower_phones p"
            " ON p.borrower_id = l.borrower_id GROUP BY l.id, l.borrower_id ORDER BY l.id"
        )
        return [(int(a), int(b), str(c)) for a, b, c in session.execute(query)]


class Loader:
    """Writes generated rows into one database with the fastest raw bulk path it has."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.seconds = 0.0  # spent in the database (the rest of the load is generating the rows)
        self.vacuum_seconds = 0.0
        self.index_seconds = 0.0  # dropping the search index before the load and building it again after
        self.raw = engine.raw_connection()
        self.postgres = engine.dialect.name == "postgresql"
        if self.postgres:
            self.raw.driver_connection.execute("SET timezone = 'UTC'")  # type: ignore[union-attr]
        else:
            self.raw.execute("PRAGMA cache_size = -200000")  # 200 MB for the load only (this connection)

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None:
        """Insert the rows: COPY on PostgreSQL, one executemany on SQLite."""
        names = ", ".join(columns)
        start = time.perf_counter()
        cursor = self.raw.cursor()
        if self.postgres:
            with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                write = copy.write_row
                for row in rows:
                    write(row)
        else:  # one transaction per call: the project's connections are in autocommit (SQLAlchemy says BEGIN)
            marks = ", ".join("?" * len(columns))
            cursor.execute("BEGIN")
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
            cursor.execute("COMMIT")
        cursor.close()
        self.seconds += time.perf_counter() - start

    def without_search_index(self) -> None:
        """Drop the messages' search index for the load (`with_search_index` builds it again in one pass).

        With the index kept row by row the load took 14 minutes: SQLite's trigger writes each message into the FTS5
        table, and PostgreSQL updates the GIN index for each row. SQLite: the FTS5 tables and their triggers go,
        as docs/console-search.md says a bulk import of history should do; PostgreSQL: the GIN index goes, the
        generated `search_words` column stays (COPY computes it per row, as any insert does).
        """
        start = time.perf_counter()
        if self.postgres:
            self.raw.driver_connection.execute("DROP INDEX search_messages_words")  # type: ignore[union-attr]
        else:
            drop_sqlite_search(_RawConnection(self.raw))
        self.index_seconds += time.perf_counter() - start

    def with_search_index(self) -> None:
        """Build the search index again over every row loaded, the way migration 0020 makes it (after `finish`)."""
        start = time.perf_counter()
        if self.postgres:
            driver = self.raw.driver_connection
            driver.execute("SET maintenance_work_mem = '512MB'")  # type: ignore[union-attr]
            driver.execute(PG_MESSAGE_WORDS_INDEX)  # type: ignore[union-attr]
            driver.commit()  # type: ignore[union-attr]
        else:
            connection = _RawConnection(self.raw)
            connection.exec_driver_sql("BEGIN")
            create_sqlite_search(connection)  # the FTS5 tables filled by 'rebuild', then the triggers
            connection.exec_driver_sql("COMMIT")
        self.index_seconds += time.perf_counter() - start

    def finish(self) -> None:
        """Commit, and move the id sequences past the explicit ids."""
        start = time.perf_counter()
        cursor = self.raw.cursor()
        if self.postgres:
            for table in ("conversations", "messages", "outbox"):
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}")
        cursor.close()
        self.raw.commit()
        self.seconds += time.perf_counter() - start

    def settle(self) -> None:
        """On PostgreSQL, VACUUM ANALYZE as autovacuum would after a bulk load (SQLite: nothing, as in use)."""
        if self.postgres:
            start = time.perf_counter()
            driver = self.raw.driver_connection
            driver.autocommit = True  # type: ignore[union-attr]
            driver.execute("VACUUM ANALYZE")  # type: ignore[union-attr]
            driver.autocommit = False  # type: ignore[union-attr]
            self.vacuum_seconds = time.perf_counter() - start
        self.raw.close()


class _RawConnection:
    """A DB-API connection read as the one method of SQLAlchemy's `Connection` that search_schema's DDL calls."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def exec_driver_sql(self, statement: str) -> None:
        cursor = self.raw.cursor()
        cursor.execute(statement)
        cursor.close()


def load_conversations(db: Database, shape: Shape, folder: Path, label: str) -> Dataset:
    """Fill the database; print how long the load took and its rate."""
    rng = random.Random(SEED)
    with stopwatch() as portfolio_time:
        owners = prepare_portfolio(db, shape, folder)
    print(f"  {label}: {shape.loans:,} loans boarded, 4 specialists added and cases opened in {portfolio_time():.1f} s",
          flush=True)  # fmt: skip
    loader = Loader(db.engine)
    outbox: list[Row] = []
    columns = [TextColumn(f"  {label} messages"), BarColumn(), TextColumn("{task.completed:,}/{task.total:,}"),
               TimeRemainingColumn()]  # fmt: skip
    with stopwatch() as load_time, Progress(*columns, transient=True) as progress:
        task = progress.add_task("messages", total=shape.messages)
        dataset = plan_threads(shape, owners, rng)
        schedule = message_schedule(dataset, rng)
        for moment, index in schedule:
            dataset.threads[index].last = moment
        loader.without_search_index()
        loader.insert("conversations", CONVERSATION_COLUMNS, conversation_rows(dataset, random.Random(SEED + 1)))
        for chunk in message_rows(dataset, schedule, rng, outbox):
            loader.insert("messages", MESSAGE_COLUMNS, chunk)
            progress.advance(task, len(chunk))
        loader.insert("outbox", OUTBOX_COLUMNS, outbox)
        loader.finish()
        loader.with_search_index()
    seconds = load_time()
    loader.settle()
    rows = shape.conversations + shape.messages + len(outbox)
    print(f"  {label}: loaded {shape.conversations:,} conversations, {shape.messages:,} messages and "
          f"{len(outbox):,} outbox rows in {seconds:.1f} s: {rows / seconds:,.0f} rows/s, of which "
          f"{loader.seconds:.1f} s in the database ({rows / loader.seconds:,.0f} rows/s) and "
          f"{loader.index_seconds:.1f} s building the search index in one pass, the rest generating them"
          + (f"; VACUUM ANALYZE {loader.vacuum_seconds:.1f} s" if loader.postgres else ""), flush=True)  # fmt: skip
    print(f"  {label}: conversations by state {dataset.counts}", flush=True)
    return dataset


# -- databases ----------------------------------------------------------------------------------------


@contextmanager
def sqlite_database(folder: Path) -> Iterator[Database]:
    """Yield a fresh migrated SQLite file in `folder`."""
    database = fresh_sqlite(folder, "console.db")
    try:
        yield database
    finally:
        database.engine.dispose()


# -- measuring ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """The conversations the benchmark opens (what the measuring process needs to know of the data)."""

    long_thread: int
    long_messages: int
    short_thread: int


@dataclass
class Page:
    """A page to time: where it is, and the floors of its size."""

    name: str
    path: str
    size: int = 0
    rows: list[tuple[int, str, str, str]] = field(default_factory=list)


@dataclass
class Timings:
    """Seconds per request, and SQL statements per request, by what was requested."""

    samples: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, list[float]] = field(default_factory=dict)
    sql: dict[str, list[float]] = field(default_factory=dict)
    statements: dict[str, int] = field(default_factory=dict)

    def add(self, key: str, seconds: float, cpu_seconds: float) -> None:
        """Record one request: wall-clock and CPU seconds (this thread's, without waits for a core or the database)."""
        self.samples.setdefault(key, []).append(seconds)
        self.cpu.setdefault(key, []).append(cpu_seconds)


class StatementCounter:
    """Counts the SQL statements an engine runs (and keeps them, with their duration, while recording)."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        self.seconds = 0.0  # wall-clock time inside cursor.execute, over all statements
        self.recording = False
        self.log: list[tuple[str, Any, float]] = []
        self._started = 0.0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, *args: Any) -> None:
        self.count += 1
        self._started = time.perf_counter()

    def _after(self, _connection: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        seconds = time.perf_counter() - self._started
        self.seconds += seconds
        if self.recording:
            self.log.append((statement, parameters, seconds))


def console_app(url: str, instance: Path) -> Flask:
    """Create the console on the benchmark's database, with the console floor route added."""
    os.environ["LOANLINE_INSTANCE_PATH"] = str(instance)
    os.environ["LOANLINE_SECRET_KEY"] = SECRET
    from console import create_app
    from console.security import requires_role

    app = create_app({"DATABASE_URL": url, "TESTING": True, "SECRET_KEY": SECRET})
    floors: dict[str, list[tuple[int, str, str, str]]] = {}
    app.extensions["bench.floors"] = floors

    template = app.jinja_env.from_string(CONSOLE_FLOOR)  # compiled once, as a template file would be

    @requires_role(Role.SPECIALIST)
    def console_floor(name: str) -> str:
        return render_template(template, rows=floors[name])

    app.add_url_rule("/console/bench-floor/<name>", "bench_floor", console_floor)
    return app


def bare_app() -> Flask:
    """Return a plain Flask app rendering a fixed page of given rows: the bare floor."""
    app = Flask("bench_floor")
    floors: dict[str, list[tuple[int, str, str, str]]] = {}
    app.extensions["bench.floors"] = floors

    template = app.jinja_env.from_string(BARE_FLOOR)

    @app.get("/floor/<name>")
    def floor(name: str) -> str:
        return render_template(template, rows=floors[name])

    return app


def log_in(client: FlaskClient) -> None:
    """Log in as the benchmark's specialist through the login form."""
    page = client.get("/console/login").get_data(as_text=True)
    marker = 'name="csrf_token" type="hidden" value="'
    start = page.index(marker) + len(marker) if marker in page else page.index('name="csrf_token" value="') + 25
    token = page[start : page.index('"', start)]
    response = client.post("/console/login", data={"username": SPECIALIST, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302, f"login failed: {response.status_code}"


def pages_to_time(app: Flask, target: Target) -> list[Page]:
    """Return the pages to time: the queue, "my conversations", and the long thread (its latest messages and a
    page from the middle of its history) and the short one; pages not built yet in this tree are left out."""
    with app.extensions["loanline.sessions"]() as session:
        middle = session.scalar(
            text("SELECT id FROM messages WHERE conversation_id = :thread ORDER BY id LIMIT 1 OFFSET :skip"),
            {"thread": target.long_thread, "skip": target.long_messages // 2},
        )
    wanted: list[tuple[str, str, dict[str, Any]]] = [
        ("queue", "queue.index", {}),
        ("queue_filtered", "queue.index", {"language": "es", "sla": "breached", "skill": "general"}),
        ("mine", "queue.mine", {}),
        ("conversation_long", "conversations.show", {"conversation_id": target.long_thread}),
        ("conversation_paged", "conversations.show", {"conversation_id": target.long_thread, "before": middle}),
        ("conversation_short", "conversations.show", {"conversation_id": target.short_thread}),
        *record_pages(app, target),
        *search_pages(app),
    ]
    pages = []
    with app.test_request_context():
        from flask import url_for

        for name, endpoint, values in wanted:
            if endpoint not in app.view_functions:
                print(f"  page {endpoint} is not in this tree yet: not timed", flush=True)
                continue
            pages.append(Page(name, url_for(endpoint, **values)))
    return pages


def record_pages(app: Flask, target: Target) -> list[tuple[str, str, dict[str, Any]]]:
    """Return the borrower and loan pages to time: those of the long thread's borrower and loan, the loan page on its
    first tab (the ledger), on its conversations and on its cases."""
    with app.extensions["loanline.sessions"]() as session:
        borrower_id, loan_number = session.execute(
            text("SELECT c.borrower_id, l.loan_number FROM conversations c JOIN loans l ON l.id = c.loan_id "
                 "WHERE c.id = :thread"), {"thread": target.long_thread}
        ).one()  # fmt: skip
    return [
        ("borrower", "borrowers.show", {"borrower_id": borrower_id}),
        ("loan", "loans.show", {"loan_number": loan_number}),
        ("loan_conversations", "loans.show", {"loan_number": loan_number, "tab": "conversations"}),
        ("loan_cases", "loans.show", {"loan_number": loan_number, "tab": "cases"}),
    ]


def search_pages(app: Flask) -> list[tuple[str, str, dict[str, Any]]]:
    """Return the searches to time (docs/console-search.md): a borrower's name typed in lower case, their phone as
    people write it, its last 4 digits, a loan number and a case reference in lower case, a word in a tenth of the
    messages, two rarer ones."""
    with app.extensions["loanline.sessions"]() as session:
        row = session.execute(
            text("SELECT b.first_name, b.last_name, p.e164, l.loan_number FROM borrowers b "
                 "JOIN borrower_phones p ON p.borrower_id = b.id JOIN loans l ON l.borrower_id = b.id "
                 "ORDER BY b.id DESC LIMIT 1")
        ).one()  # fmt: skip
        reference = session.scalar(text("SELECT reference FROM cases ORDER BY id LIMIT 1"))
    first, last, e164, loan_number = row
    national = f"({e164[2:5]}) {e164[5:8]}-{e164[8:]}" if e164.startswith("+1") else e164
    return [
        ("search_name", "search.index", {"q": f"{first} {last}".lower()}),
        ("search_phone", "search.index", {"q": national}),
        ("search_last4", "search.index", {"q": e164[-4:]}),
        ("search_loan", "search.index", {"q": loan_number.lower()}),
        ("search_case", "search.index", {"q": str(reference).lower()}),
        ("search_common_word", "search.index", {"q": "balance"}),
        ("search_rare_words", "search.index", {"q": "corrected statement"}),
    ]


def size_floor(page: Page, bare: Flask, console: Flask, bare_client: FlaskClient, client: FlaskClient) -> None:
    """Choose the fixed rows so that the bare floor page is as large as the measured page."""
    for app in (bare, console):
        app.extensions["bench.floors"][page.name] = []
    empty = len(bare_client.get(f"/floor/{page.name}").get_data())
    sample = [(n, f"conversation {n:07d}", "borrower +1555…" + f"{n:04d}"[-4:], "2026-11-27 14:03") for n in range(100)]
    for app in (bare, console):
        app.extensions["bench.floors"][page.name] = sample
    per_row = (len(bare_client.get(f"/floor/{page.name}").get_data()) - empty) / 100
    count = max(0, round((page.size - empty) / per_row))
    rows = [(n, f"conversation {n:07d}", "borrower +1555…" + f"{n:04d}"[-4:], "2026-11-27 14:03") for n in range(count)]
    for app in (bare, console):
        app.extensions["bench.floors"][page.name] = rows
    assert client.get(f"/console/bench-floor/{page.name}").status_code == 200


def time_requests(client: FlaskClient, bare_client: FlaskClient, pages: list[Page], requests: int,
                  counter: StatementCounter) -> Timings:  # fmt: skip
    """Request every page and its floors once per round, `requests` rounds; return the timings."""
    timings = Timings()
    targets: list[tuple[str, FlaskClient, str]] = []
    for page in pages:
        targets += [(page.name, client, page.path), (f"{page.name}.bare", bare_client, f"/floor/{page.name}"),
                    (f"{page.name}.console", client, f"/console/bench-floor/{page.name}")]  # fmt: skip
    for _ in range(requests):
        for key, target, path in targets:
            before, before_sql = counter.count, counter.seconds
            start, start_cpu = time.perf_counter(), time.thread_time()
            response = target.get(path)
            timings.add(key, time.perf_counter() - start, time.thread_time() - start_cpu)
            timings.sql.setdefault(key, []).append(counter.seconds - before_sql)
            if response.status_code != 200:
                raise SystemExit(f"{path} answered {response.status_code}")
            timings.statements[key] = counter.count - before
    return timings


def time_audit_writes(db_url: str, count: int) -> list[float]:
    """Return the seconds each audit write (one row, one commit, as a view's) takes on its own."""
    from servicing.audit import record_audit

    engine = make_engine(db_url)
    sessions = make_session_factory(engine)
    samples = []
    for number in range(count + 20):
        start = time.perf_counter()
        with sessions.begin() as session:
            record_audit(session, SPECIALIST, "view", "conversation", str(number), {"path": "/bench"})
        samples.append(time.perf_counter() - start)
    engine.dispose()
    return samples[20:]


def explain_slowest(engine: Engine, log: list[tuple[str, Any, float]], label: str) -> None:
    """Print the slowest statements of one request, and those reading the messages, with their plans."""
    postgres = engine.dialect.name == "postgresql"
    # Settings have no plan, but the statements after them are planned under them (search's `SET LOCAL
    # enable_...`): each statement is explained with the settings in force when it ran.
    settings: dict[str, str] = {}
    in_force: dict[int, list[str]] = {}
    for position, (statement, _parameters, _seconds) in enumerate(log):
        if statement.lstrip().upper().startswith("SET "):
            name = statement.split()[2] if statement.split()[1].upper() == "LOCAL" else statement.split()[1]
            settings[name] = statement
        else:
            in_force[position] = list(settings.values())
    log_of = {id(item): position for position, item in enumerate(log)}
    log = [item for item in log if not item[0].lstrip().upper().startswith("SET ")]
    slowest = sorted(log, key=lambda item: -item[2])[:3]
    chosen = slowest + [item for item in log if "FROM messages" in item[0] and item not in slowest]
    for item in chosen:
        statement, parameters, seconds = item
        print(f"    {seconds * 1000:7.2f} ms  {' '.join(statement.split())[:300]}")
        prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgres else "EXPLAIN QUERY PLAN "
        with engine.connect() as connection:
            for setting in in_force.get(log_of[id(item)], []) if postgres else []:
                connection.exec_driver_sql(setting)
            plan = connection.exec_driver_sql(prefix + statement, parameters).fetchall()
        for line in plan:
            print(f"               {line[-1] if not postgres else line[0]}")
    if not log:
        print(f"    {label}: no statements recorded")


def bot_turns(url: str, per_second: float, stop: Any, done: Any) -> None:
    """Write as the bot does, `per_second` turns a second until `stop` is set; put the count of turns in `done`.

    A turn is one transaction through the project's engine: store an inbound "whats my balance" on a bot
    conversation, load its loan's account and summarize it, store the reply (the writes a balance answer
    makes). On SQLite every transaction of the project begins IMMEDIATE, holding the write lock.
    """
    from servicing.conversations import find_or_open_conversation, record_inbound, record_outbound
    from servicing.queries import require_account, summarize

    engine = make_engine(url)
    sessions = make_session_factory(engine)
    query = text(
        "SELECT c.channel, c.address, l.loan_number FROM conversations c JOIN loans l ON l.id = c.loan_id"
        " WHERE c.state = 'bot' ORDER BY c.id LIMIT 500"
    )
    with sessions() as session:
        known = session.execute(query).all()
    rng, turns, interval = random.Random(SEED + 2), 0, 1.0 / per_second
    next_turn = time.perf_counter()
    while not stop.is_set():
        channel, address, loan_number = rng.choice(known)
        now = datetime.now(UTC)
        with sessions.begin() as session:
            inbound = record_inbound(session, channel, address, "whats my balance", provider_id=uuid.uuid4().hex,
                                     now=now)  # fmt: skip
            summary = summarize(require_account(session, loan_number), TODAY)
            conversation = find_or_open_conversation(session, channel, address, now)
            record_outbound(session, conversation, f"Your balance is {summary.principal_balance}.", author="bot",
                            now=now, deliver_later=inbound.message is not None)  # fmt: skip
        turns += 1
        next_turn += interval
        time.sleep(max(0.0, next_turn - time.perf_counter()))
    engine.dispose()
    done.put(turns)


@contextmanager
def bot_writing(url: str, per_second: float) -> Iterator[Callable[[], str]]:
    """Run `bot_turns` in a process of its own for the length of the block (nothing when `per_second` is 0)."""
    if not per_second:
        yield lambda: ""
        return
    spawn = multiprocessing.get_context("spawn")
    stop, done = spawn.Event(), spawn.Queue()
    writer = spawn.Process(target=bot_turns, args=(url, per_second, stop, done), daemon=True)
    writer.start()
    start, counted = time.perf_counter(), [0]

    def described() -> str:
        return f"; the bot wrote {counted[0]:,} turns meanwhile ({counted[0] / elapsed:.1f}/s, asked {per_second:g}/s)"

    try:
        time.sleep(1.0)  # let it connect and start writing
        yield described
    finally:
        stop.set()
        elapsed = time.perf_counter() - start
        counted[0] = done.get(timeout=60)
        writer.join(timeout=60)


@contextmanager
def full_collections() -> Iterator[list[float]]:
    """Collect the seconds each full (generation 2) garbage collection takes inside the block."""
    pauses: list[float] = []
    started = [0.0]

    def watch(phase: str, info: dict[str, int]) -> None:
        if info["generation"] == 2:
            if phase == "start":
                started[0] = time.perf_counter()
            else:
                pauses.append(time.perf_counter() - started[0])

    gc.callbacks.append(watch)
    try:
        yield pauses
    finally:
        gc.callbacks.remove(watch)


def measure(url: str, target: Target, label: str, requests: int, instance: Path, explain: bool,
            freeze: bool, writer: float, deferred_reads: bool) -> dict[str, Any]:  # fmt: skip
    """Time the pages and their floors on one database; print the figures and return them.

    Runs in a process of its own (see `run_on`), whose heap holds the console and nothing else, as a
    console worker's would: the million generated rows the loading process built never burden it.
    """
    figures = Figures(label)
    app = console_app(url, instance)
    if freeze:  # what loanline/serve.py and gunicorn.conf.py's post_worker_init do once the app is built
        gc.collect()
        gc.freeze()
    if deferred_reads:  # prototype: the console's transactions begin deferred on SQLite (readers never wait)
        from servicing.store import db as servicing_db

        console_engine = app.extensions["loanline.sessions"].kw["bind"]
        begin_immediately = getattr(servicing_db, "_begin_immediately", None)
        if begin_immediately is not None and event.contains(console_engine, "begin", begin_immediately):
            event.remove(console_engine, "begin", begin_immediately)
    engine = app.extensions["loanline.sessions"].kw["bind"]
    counter = StatementCounter(engine)
    bare = bare_app()
    client, bare_client = app.test_client(), bare.test_client()
    try:
        log_in(client)
        pages = pages_to_time(app, target)
        for page in pages:
            for _ in range(10):  # warm-up: caches, compiled statements, templates
                response = client.get(page.path)
            if response.status_code != 200:
                raise SystemExit(f"{page.path} answered {response.status_code}")
            page.size = len(response.get_data())
            size_floor(page, bare, app, bare_client, client)
            for _ in range(10):
                bare_client.get(f"/floor/{page.name}")
                client.get(f"/console/bench-floor/{page.name}")
        with bot_writing(url, writer) as bot, stopwatch() as elapsed, full_collections() as pauses:
            timings = time_requests(client, bare_client, pages, requests, counter)
        print(f"  {label}: {requests} rounds of {len(pages)} pages and their floors in {elapsed():.0f} s, "
              f"load average {', '.join(f'{v:.1f}' for v in os.getloadavg())}; {len(gc.get_objects()):,} objects "
              f"tracked, {len(pauses)} full garbage collections (longest {max(pauses, default=0) * 1e3:.0f} ms)"
              f"{bot()}", flush=True)  # fmt: skip
        report(label, pages, timings, figures)
        if explain:
            for page in pages:
                counter.log, counter.recording = [], True
                client.get(page.path)
                counter.recording = False
                print(f"  {label} {page.name}: slowest statements of one request")
                explain_slowest(engine, counter.log, page.name)
    finally:
        engine.dispose()
    audit = time_audit_writes(url, requests)
    a50, a99 = percentile(audit, 0.5) * 1000, percentile(audit, 0.99) * 1000
    figures.add(f"{label}_audit_write_p99_ms", round(a99, 2),
                f"{label} audit write alone (one row, one commit): p50 {a50:.2f} ms, p99 {a99:.2f} ms")  # fmt: skip
    return figures.values


def report(label: str, pages: list[Page], timings: Timings, figures: Figures) -> None:
    """Print each page and its floors: wall clock, CPU time, time inside SQL statements; and the ratios."""
    print(f"  {label:<10} {'page':<19} {'bytes':>8} {'SQL':>3} {'':>5} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8}"
          f" {'bare p50/p99':>15} {'console p50/p99':>16} {'x bare':>7} {'x console':>9}")  # fmt: skip
    for page in pages:
        statements = timings.statements[page.name] - timings.statements[f"{page.name}.console"]
        figures.values.update({f"{label}_{page.name}_statements": statements, f"{label}_{page.name}_bytes": page.size})
        for clock, table in (("wall", timings.samples), ("cpu", timings.cpu), ("sql", timings.sql)):
            samples = table[page.name]
            bare, console = table[f"{page.name}.bare"], table[f"{page.name}.console"]
            p50, p99 = percentile(samples, 0.5) * 1e3, percentile(samples, 0.99) * 1e3
            mean = sum(samples) / len(samples) * 1e3
            b50, b99 = percentile(bare, 0.5) * 1e3, percentile(bare, 0.99) * 1e3
            c50, c99 = percentile(console, 0.5) * 1e3, percentile(console, 0.99) * 1e3
            line = f"  {label:<10} {page.name:<19} {page.size:>8,} {statements:>3} {clock:>5} {p50:>8.2f} {p99:>8.2f}"
            line += f" {mean:>8.2f} {b50:>7.2f}/{b99:<7.2f} {c50:>7.2f}/{c99:<8.2f}"
            prefix = f"{label}_{page.name}" + ("" if clock == "wall" else f"_{clock}")
            figures.values.update({f"{prefix}_p50_ms": round(p50, 2), f"{prefix}_p99_ms": round(p99, 2),
                                   f"{prefix}_mean_ms": round(mean, 2)})  # fmt: skip
            if clock != "sql":  # the floors run no SQL of their own beyond the console's user lookup
                line += f" {p50 / b50:>6.1f}x {p50 / c50:>8.1f}x"
                figures.values.update({f"{prefix}_bare_p50_ms": round(b50, 3),
                                       f"{prefix}_console_p50_ms": round(c50, 3),
                                       f"{prefix}_ratio": round(p50 / b50, 1),
                                       f"{prefix}_console_ratio": round(p50 / c50, 2)})  # fmt: skip
            if clock == "wall":
                line += f"  {verdict(p99 < GOAL_P99_MS)} (p99 < {GOAL_P99_MS:.0f} ms)"
            print(line)


# -- the run --------------------------------------------------------------------------------------------


def run_on(label: str, opened: Callable[[Path], AbstractContextManager[Database]], shape: Shape,
           args: argparse.Namespace, figures: Figures) -> None:  # fmt: skip
    """Build one database, time its pages, and drop it."""
    with tempfile.TemporaryDirectory(prefix="loanline-bench-") as name, opened(Path(name)) as db:
        dataset = load_conversations(db, shape, Path(name), label)
        print(f"  {label}: long thread #{dataset.long_thread} ({dataset.threads[0].messages:,} messages), "
              f"short thread #{dataset.short_thread} "
              f"({dataset.threads[dataset.short_thread - 1].messages} messages)", flush=True)  # fmt: skip
        target = Target(dataset.long_thread, dataset.threads[dataset.long_thread - 1].messages, dataset.short_thread)
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
            job = pool.submit(measure, db.url, target, label, args.requests, Path(name) / "instance", args.explain,
                              args.gc_freeze, args.bot_writes, args.deferred_reads)  # fmt: skip
            figures.values.update(job.result())


def main() -> None:
    """Parse the options and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1,000 conversations and 100,000 messages")
    parser.add_argument("--conversations", type=int, help="conversations (default 10,000)")
    parser.add_argument("--messages", type=int, help="messages (default 1,000,000)")
    parser.add_argument("--requests", type=int, help="timed requests per page (default 300, 100 with --quick)")
    parser.add_argument("--postgres", metavar="URL", help="also run on a scratch database on this PostgreSQL server")
    parser.add_argument("--no-sqlite", action="store_true", help="skip SQLite (with --postgres)")
    parser.add_argument(
        "--gc-freeze",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="gc.freeze() once the console app is created, as the serving processes do (default: on)",
    )
    parser.add_argument(
        "--bot-writes",
        type=float,
        default=0.0,
        metavar="N",
        help="meanwhile, a process writes N bot turns a second (inbound, account, reply)",
    )
    parser.add_argument(
        "--deferred-reads",
        action="store_true",
        help="prototype: the console's SQLite transactions begin deferred, not IMMEDIATE",
    )
    parser.add_argument("--explain", action="store_true", help="print the slowest statements of each page, with plans")
    args = parser.parse_args()
    base = QUICK if args.quick else FULL
    shape = Shape(args.conversations or base.conversations, args.messages or base.messages,
                  base.loans if not args.conversations else max(100, args.conversations // 5))  # fmt: skip
    args.requests = args.requests or (100 if args.quick else 300)
    stamp_now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"console_pages: {shape.conversations:,} conversations, {shape.messages:,} messages, {stamp_now}, "
          f"{os.cpu_count()} cores, load average {', '.join(f'{v:.1f}' for v in os.getloadavg())}; "
          "Flask test client in-process", flush=True)  # fmt: skip
    figures = Figures("console_pages")
    if not args.no_sqlite:
        run_on("sqlite", sqlite_database, shape, args, figures)
    if args.postgres:
        server = str(args.postgres)
        scratch = f"loanline_bench_console_{uuid.uuid4().hex[:8]}"
        run_on("postgresql", lambda _folder: postgres_database(server, scratch), shape, args, figures)
    figures.finish()


if __name__ == "__main__":
    main()
