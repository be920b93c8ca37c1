"""Connecting to the database: engines, SQL helpers both dialects share, and the unit of work."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from types import TracebackType
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from servicing.interest import Compounding, InterestMethod, interest_between
from servicing.money import from_storage, to_storage


def accrued_interest_units(
    principal_units: int,
    rate_units: int,
    method: str,
    compounding: str,
    paid_through: str,
    as_of: str,
    minor_units: int,
) -> int:
    """Return interest accrued after `paid_through` through `as_of`, rounded, in stored units.

    SQLite calls this as the SQL function ll_accrued; PostgreSQL has a SQL function of the same
    name and arguments (created by the first migration).
    """
    amount = interest_between(
        from_storage(principal_units),
        Decimal(rate_units).scaleb(-10),
        date.fromisoformat(paid_through),
        date.fromisoformat(as_of),
        InterestMethod(method),
        Compounding(compounding),
    )
    rounded = amount.quantize(Decimal(1).scaleb(-minor_units), rounding="ROUND_HALF_UP")
    return to_storage(rounded)


def _configure_sqlite(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy, not the driver, says when a transaction begins
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
    dbapi_connection.create_function("ll_accrued", 7, accrued_interest_units, deterministic=True)


def _begin_immediately(connection: Any) -> None:
    """Start every SQLite transaction holding the write lock.

    A deferred transaction that reads, then writes, fails at once with "database is locked" when another
    process wrote in between (SQLite cannot upgrade its snapshot, and the busy timeout does not apply);
    BEGIN IMMEDIATE waits for the lock instead (busy_timeout). Readers still read concurrently under WAL.
    """
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, **options: Any) -> Engine:
    """Create an engine: SQLite with WAL and foreign keys, or any other SQLAlchemy URL."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **options)
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_immediately)
        return engine
    return create_engine(url, pool_pre_ping=True, **options)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return a session factory bound to the engine."""
    return sessionmaker(engine, expire_on_commit=False)


class UnitOfWork:
    """One transaction per use case: rolls back unless `commit()` was called."""

    def __init__(self, session_factory: Callable[[], Session]) -> None:
        self._session_factory = session_factory
        self._session: Session | None = None

    def __enter__(self) -> UnitOfWork:
        self._session = self._session_factory()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self.session
        session.rollback()
        session.close()
        self._session = None

    @property
    def session(self) -> Session:
        """Return the open session."""
        if self._session is None:
            raise RuntimeError("unit of work used outside its `with` block")
        return self._session

    def commit(self) -> None:
        """Make the use case's changes permanent."""
        self.session.commit()
