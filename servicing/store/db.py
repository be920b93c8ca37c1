"""Connecting to the database: engines, SQL helpers both dialects share, and the unit of work."""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from types import TracebackType
from typing import Any, TypeVar

from sqlalchemy import Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from servicing.rules.interest import Compounding, InterestMethod, interest_between
from servicing.rules.money import from_storage, to_storage

log = logging.getLogger(__name__)
T = TypeVar("T")
POOL_RECYCLE_SECONDS = 1800
BUSY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})  # primary codes (extended ones end in them)
RECONNECT_ATTEMPTS = 3  # a transaction runs again this many times in all when the server drops its connection
SQLITE_BUSY_SECONDS = 10  # how long a SQLite writer waits for its turn and for the lock (PRAGMA busy_timeout too)
WRITERS_GAP_SECONDS = 0.005  # a long job's pause between two of its transactions: every waiting writer looks in it
# The arguments of a PostgreSQL advisory lock taken for this installation: the lock's own key (bound as :key) and the
# schema the connection works in, so that two installations in two schemas of one database never wait on each other.
IN_THIS_SCHEMA = ":key, hashtext(current_schema())"


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


def insert_unless_present(session: Session, table: Table, values: dict[str, Any], unique: Sequence[str]) -> None:
    """Insert a row unless one with the same `unique` columns exists or is being inserted by another transaction.

    `INSERT ... ON CONFLICT DO NOTHING` on both dialects: where two transactions insert the same key at once,
    PostgreSQL makes the second wait for the first and then skips the row instead of failing on the
    constraint. The caller selects the row afterwards.
    """
    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    session.execute(dialect.insert(table).values(values).on_conflict_do_nothing(index_elements=list(unique)))


def column_length(column: Any) -> int:
    """Return the most characters a string column holds (PostgreSQL refuses more; SQLite would keep them)."""
    length = getattr(column.type, "length", None)
    if not isinstance(length, int):
        raise TypeError(f"{column} is not a string column of limited length")
    return length


def _sqlite_configuration(lock_wait: float) -> Callable[[sqlite3.Connection, Any], None]:
    def configure(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy, not the driver, says when a transaction begins
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={round(lock_wait * 1000)}")
        cursor.close()
        dbapi_connection.create_function("ll_accrued", 7, accrued_interest_units, deterministic=True)

    return configure


class WriterTurns:
    """Hands SQLite's write lock to the connections of every process on one database file in turn.

    Every SQLite transaction begins IMMEDIATE (holding the write lock, see `begin`). A connection that finds
    the lock taken waits in SQLite's busy handler, which sleeps 1, 2, 5, 10 ... 100 ms between looks: under
    steady load the holder's process takes the lock again before the sleeper looks, and a waiting request
    starves for hundreds of milliseconds. So writers first take turns on an advisory lock file next to the
    database (`<database>-writer`), looked at every fraction of a millisecond, and release it once their
    COMMIT or ROLLBACK is done: the next writer starts within a fraction of a millisecond.

    The turn is bounded: after the busy timeout a writer goes on to BEGIN IMMEDIATE without it (a connection
    nested inside another's transaction in one thread then fails as before, never hangs). Where the lock file
    cannot be opened (an in-memory database, a read-only folder), transactions simply begin IMMEDIATE.
    """

    KEY = "loanline.writer_turn"
    FIRST_LOOK, LONGEST_SLEEP = 0.00005, 0.0005  # seconds between looks at the lock file: 50 us doubling to 0.5 ms

    def __init__(self, database: str | None, timeout: float) -> None:
        self.path = f"{database}-writer" if database and database != ":memory:" else None
        self.timeout = timeout

    def begin(self, connection: Any) -> None:
        """Take this connection's turn, then start a transaction holding SQLite's write lock."""
        self._take_turn(connection.info)
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            self._end_turn(connection.info)
            raise

    def commit(self, connection: Any) -> None:
        """Commit now (SQLAlchemy's own commit then finds nothing to do) and let the next writer in."""
        try:
            connection.connection.dbapi_connection.commit()
        except sqlite3.Error:
            pass  # still in the transaction: SQLAlchemy's own commit, next, fails the same way and reports it
        finally:
            self._end_turn(connection.info)

    def rollback(self, connection: Any) -> None:
        """Roll back now and let the next writer in."""
        try:
            connection.connection.dbapi_connection.rollback()
        except sqlite3.Error:
            pass  # SQLAlchemy's own rollback, next, reports it
        finally:
            self._end_turn(connection.info)

    def checkin(self, _dbapi_connection: Any, record: Any) -> None:
        """Let the next writer in when a connection goes back to the pool still holding its turn."""
        self._end_turn(record.info)

    def close(self, _dbapi_connection: Any, record: Any) -> None:
        """Close a connection's lock file with the connection."""
        self._end_turn(record.info)
        handle = record.info.pop(self.KEY, None)
        if handle is not None:
            os.close(handle[0])

    def _take_turn(self, info: dict[str, Any]) -> None:
        handle = self._handle(info)
        if handle is None:
            return
        deadline, pause = time.monotonic() + self.timeout, self.FIRST_LOOK
        while True:
            try:
                fcntl.flock(handle[0], fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return  # go on without a turn: SQLite's busy timeout decides
                time.sleep(pause)
                pause = min(pause * 2, self.LONGEST_SLEEP)
                continue
            handle[1] = True
            return

    def _end_turn(self, info: dict[str, Any]) -> None:
        handle = info.get(self.KEY)
        if handle is not None and handle[1]:
            handle[1] = False
            fcntl.flock(handle[0], fcntl.LOCK_UN)

    def _handle(self, info: dict[str, Any]) -> list[Any] | None:
        """Return the connection's [lock file descriptor, holds its turn], opening the file the first time."""
        if self.path is None:
            return None
        handle = info.get(self.KEY)
        if handle is None:
            try:
                handle = [os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600), False]
            except OSError:
                return None  # no folder yet, or not writable: SQLite's own locking only
            info[self.KEY] = handle
        return handle


def make_engine(url: str, *, lock_wait: float = SQLITE_BUSY_SECONDS, **options: Any) -> Engine:
    """Create an engine: SQLite with WAL, foreign keys and writers taking turns, or any other SQLAlchemy URL.

    On SQLite a transaction waits at most `lock_wait` seconds for its writer's turn, then at most as long
    again for the lock itself, and then fails with "database is locked" (`database_busy`): the web app
    passes a shorter wait than the command line's, so a request answers within Twilio's 15 seconds.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **options)
        turns = WriterTurns(engine.url.database, lock_wait)
        event.listen(engine, "connect", _sqlite_configuration(lock_wait))
        event.listen(engine, "begin", turns.begin)
        event.listen(engine, "commit", turns.commit)
        event.listen(engine, "rollback", turns.rollback)
        event.listen(engine, "checkin", turns.checkin)
        event.listen(engine, "close", turns.close)
        return engine
    # Connections are recycled after half an hour instead of pinged before every checkout (a round trip per
    # request); a connection the server dropped meanwhile fails the statement that finds it, and the
    # webhooks run their transaction again (`retried_when_disconnected`).
    options.setdefault("pool_recycle", POOL_RECYCLE_SECONDS)
    return create_engine(url, **options)


def database_busy(error: BaseException) -> bool:
    """Tell whether an error is SQLite's "database is locked": another writer held the lock past the wait."""
    cause = getattr(error, "orig", None)
    return isinstance(cause, sqlite3.OperationalError) and (cause.sqlite_errorcode & 0xFF) in BUSY_CODES


def yield_to_other_writers(sessions: sessionmaker[Session]) -> None:
    """Pause a long job between two of its transactions so that waiting SQLite writers take their turn first."""
    if sessions.kw["bind"].dialect.name == "sqlite":
        time.sleep(WRITERS_GAP_SECONDS)


def connection_dropped(error: BaseException) -> bool:
    """Tell whether an error comes from the database server ending the connection (restart, failover, timeout)."""
    cause: BaseException | None = error
    while cause is not None:  # the drop may show later, as the error of the rollback it made necessary
        if isinstance(cause, DBAPIError) and cause.connection_invalidated:
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def retried_when_disconnected(transaction: Callable[[], T], attempts: int = RECONNECT_ATTEMPTS) -> T:
    """Run a whole transaction, and run it again on a fresh connection when the server dropped the one it had.

    A dropped connection fails the statement that finds it, and SQLAlchemy then retires every connection of
    the pool opened before that moment: the next attempt connects anew. The transaction must be safe to run
    again: nothing of a failed attempt was committed, except when the connection dropped during COMMIT
    itself, which is why the callers are idempotent (an inbound message by its provider id).
    """
    for attempt in range(1, attempts + 1):
        try:
            return transaction()
        except Exception as error:
            if not connection_dropped(error) or attempt == attempts:
                raise
            log.warning("the database dropped the connection (attempt %d of %d); running the transaction again",
                        attempt, attempts)  # fmt: skip
    raise AssertionError("unreachable: the last attempt returns or raises")


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
