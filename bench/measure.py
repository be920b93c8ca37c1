"""What every benchmark shares: fresh databases, timers, floors measured in the same run, and the report."""

from __future__ import annotations

import json
import multiprocessing
import os
import platform
import resource
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, make_url
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from servicing.importing import import_loans, import_payments
from servicing.store.db import make_engine, make_session_factory
from servicing.store.migrate import upgrade_database

SECRET = "bench-secret-key"


@dataclass
class Database:
    """A migrated database a benchmark owns: its URL, engine and session factory."""

    url: str
    engine: Engine
    sessions: sessionmaker[Session]


@dataclass
class Figures:
    """A benchmark's measured figures, printed as it goes and summed up as one JSON line at the end."""

    name: str
    values: dict[str, Any] = field(default_factory=dict)

    def add(self, key: str, value: Any, text: str) -> None:
        """Record one figure and print it."""
        self.values[key] = value
        print(f"  {text}", flush=True)

    def finish(self) -> None:
        """Print the figures as one machine-readable line (bench/run_all.py collects it)."""
        print("RESULT " + json.dumps({"bench": self.name, **self.values}), flush=True)


def header(name: str, loans: int) -> None:
    """Print what runs where."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"{name}: {loans:,} loans, {stamp}, Python {platform.python_version()}, {os.cpu_count()} cores, "
          f"load average {load}")  # fmt: skip


@contextmanager
def stopwatch() -> Iterator[Callable[[], float]]:
    """Time a block; the yielded function returns the seconds it took (so far, or in all once done)."""
    start = time.perf_counter()
    end: list[float] = []
    yield lambda: (end[0] if end else time.perf_counter()) - start
    end.append(time.perf_counter())


def fresh_sqlite(folder: Path, name: str = "loanline.db") -> Database:
    """Create an empty, migrated SQLite database file in `folder`."""
    path = folder / name
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    upgrade_database(engine)
    return Database(url, engine, make_session_factory(engine))


@contextmanager
def postgres_schema(admin_url: str) -> Iterator[Database]:
    """Yield a migrated database in a new PostgreSQL schema, dropped afterwards."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url)
    with admin.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in admin_url else "?"
    url = f"{admin_url}{separator}options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    try:
        upgrade_database(engine)
        yield Database(url, engine, make_session_factory(engine))
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


@contextmanager
def postgres_database(
    admin_url: str, name: str, *, template: str | None = None, drop: bool = True
) -> Iterator[Database]:
    """Yield database `name` on the server of `admin_url`, made afresh (empty, or a file copy of `template`) and
    migrated to the head of this tree; dropped afterwards unless `drop` is false (a portfolio kept for reuse).

    A copy of a prepared portfolio (`CREATE DATABASE ... TEMPLATE ... STRATEGY FILE_COPY`) takes seconds where
    boarding it again takes minutes; its planner statistics come with it.
    """
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    source = f" TEMPLATE {template} STRATEGY FILE_COPY" if template else ""
    with admin.connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        connection.exec_driver_sql(f"CREATE DATABASE {name}{source}")
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    try:
        upgrade_database(engine)
        yield Database(url, engine, make_session_factory(engine))
    finally:
        engine.dispose()
        if drop:
            with admin.connect() as connection:
                connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


FLOOR_TABLE = """
    CREATE TABLE floor_loans (
        id INTEGER PRIMARY KEY, loan_number VARCHAR(32) NOT NULL UNIQUE, borrower_id INTEGER NOT NULL,
        product VARCHAR(16) NOT NULL, currency VARCHAR(3) NOT NULL, original_principal BIGINT NOT NULL,
        annual_rate BIGINT NOT NULL, term_months INTEGER NOT NULL, origination_date DATE NOT NULL,
        first_payment_date DATE NOT NULL, monthly_payment BIGINT NOT NULL, principal_balance BIGINT NOT NULL,
        escrow_balance BIGINT NOT NULL, interest_paid_through DATE NOT NULL, next_due_date DATE NOT NULL,
        status VARCHAR(12) NOT NULL
    )
"""


def sqlite_insert_floor(folder: Path, count: int) -> float:
    """Return the seconds a raw sqlite3 executemany takes to insert `count` loan-like rows in one transaction."""
    path = folder / "floor.db"
    path.unlink(missing_ok=True)
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(FLOOR_TABLE)
    rows = [
        (f"L{i:08d}", i, "mortgage", "USD", 2_000_000_000 + i, 650_000_000, 360, "2026-01-15", "2026-03-01",
         12_000_000 + i, 1_990_000_000 + i, 5_000_000, "2026-02-28", "2026-04-01", "active")
        for i in range(count)
    ]  # fmt: skip
    with stopwatch() as elapsed:
        connection.execute("BEGIN")
        connection.executemany(
            "INSERT INTO floor_loans (loan_number, borrower_id, product, currency, original_principal,"
            " annual_rate, term_months, origination_date, first_payment_date, monthly_payment,"
            " principal_balance, escrow_balance, interest_paid_through, next_due_date, status)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        connection.execute("COMMIT")
    connection.close()
    path.unlink(missing_ok=True)
    return elapsed()


@contextmanager
def counting(db: Database) -> Iterator[dict[str, int]]:
    """Count the SQL statements and the commits sent while the block runs."""
    counts = {"statements": 0, "commits": 0}

    def statement(_connection: object, _cursor: object, sql: str, *_: object) -> None:
        counts["statements"] += 1
        if os.environ.get("LOANLINE_BENCH_SHOW_SQL"):  # each statement's first words, to see what a request sends
            print("   ", " ".join(sql.split())[:110])

    def commit(*_: object) -> None:
        counts["commits"] += 1

    event.listen(db.engine, "before_cursor_execute", statement)
    event.listen(db.engine, "commit", commit)
    try:
        yield counts
    finally:
        event.remove(db.engine, "before_cursor_execute", statement)
        event.remove(db.engine, "commit", commit)


def verdict(ok: bool) -> str:
    """Return how a figure compares with its goal."""
    return "meets goal" if ok else "MISSES goal"


def percentile(samples: list[float], fraction: float) -> float:
    """Return the nearest-rank percentile of the samples."""
    ordered = sorted(samples)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


def load_average() -> str:
    """Return the 1-, 5- and 15-minute load averages, as `uptime` prints them."""
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


@dataclass(frozen=True)
class ChildImport:
    """An import run in a process of its own: how long it took, what it did and the most memory it held."""

    seconds: float
    imported: int
    refused: int
    peak_mb: float  # ru_maxrss of the process, or of a process it forked (loans are parsed in two) if larger


def import_in_child(kind: str, url: str, path: Path, today: Any) -> ChildImport:
    """Run `import_loans` (kind "loans") or `import_payments` of `path` into `url` in a fresh process.

    The process is started with `spawn`: its peak memory (`ru_maxrss`) is the import's own, not the
    benchmark's, which has generated files and held portfolios before.
    """
    # not a multiprocessing.Pool: its processes are daemons, which may not fork the second parsing process
    with ProcessPoolExecutor(1, multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_child_import, kind, url, str(path), today).result()


def peak_mb() -> float:
    """Return the most memory this process, or a child it waited for, has held (ru_maxrss), in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def _child_import(kind: str, url: str, path: str, today: Any) -> ChildImport:
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    started = time.perf_counter()
    if kind == "loans":
        result = import_loans(sessions, Path(path), secret=SECRET, today=today, actor="bench")
    else:
        result = import_payments(sessions, Path(path), today=today, actor="bench")
    seconds = time.perf_counter() - started
    engine.dispose()
    return ChildImport(seconds, len(result.imported), len(result.refused), peak_mb())
