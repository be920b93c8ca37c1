"""Writing many rows fast: inserts in chunks, and executemany straight to the driver (COPY on PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from operator import itemgetter
from typing import Any, cast
from weakref import WeakKeyDictionary

from sqlalchemy import (
    Date,
    DateTime,
    Integer,
    Table,
    any_,
    bindparam,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert, UpdateBase
from sqlalchemy.types import TypeDecorator, TypeEngine

from servicing.store.types import ColumnConverter, ScaledDecimal, UTCDateTime

CHUNK = 5000


def chunked(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    """Yield slices of at most `size` items (keeps SQL parameter counts bounded)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def among(session: Session, column: Any, values: Iterable[Any]) -> Any:
    """Return the SQL test that `column` is one of `values` (a chunk of them: see `chunked`).

    On PostgreSQL, `column = ANY(:array)`: one parameter however many values. An `IN` list is rendered by
    SQLAlchemy and parsed again by psycopg value by value, every time, its text being new each time (at 5,000
    values, tens of milliseconds of Python per statement: most of outreach's time at scale). SQLite: `IN`.
    """
    if session.get_bind().dialect.name == "postgresql":
        values = list(values)
        if values and all(type(value) is int for value in values):
            return column == any_(bindparam(None, values, type_=_IntegerArray(column.type)))
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


class _IntegerArray(TypeDecorator[list[int]]):
    """A PostgreSQL array of integers sent as its text, `{1,2,3}`, which the server reads as the array itself.

    psycopg writes a list element by element in Python, after looking through it for the narrowest integer type
    (9 ms for 5,000 ids); `str.join` writes the same text at C speed. The text goes with no type of its own and
    is cast where it is bound (`%(ids)s::INTEGER[]`), so the planner sees an array constant as before: an array
    cast at run time instead (from varchar) is not folded, and was evaluated again for every row scanned.
    """

    impl = ARRAY(Integer)
    cache_ok = True

    def __init__(self, item_type: TypeEngine[int]) -> None:
        super().__init__()
        self.item_type = item_type
        self.impl = ARRAY(item_type)

    def bind_processor(self, dialect: Dialect) -> Callable[[list[int] | None], str | None]:
        """Return what writes the array's text (in place of the array type's own processor, which wants a list)."""

        def write(value: list[int] | None) -> str | None:
            return None if value is None else "{" + ",".join(map(str, value)) + "}"

        return write


def insert_rows(session: Session, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Insert many rows in one statement per chunk."""
    if not rows:
        return
    columns = tuple(rows[0])
    execute_many(session, ("insert", table.name, columns), insert(table), rows, columns)


_SERIAL_SEQUENCE = text("SELECT pg_get_serial_sequence(:table, 'id')")
_RESERVE_IDS = text("SELECT nextval(CAST(:sequence AS regclass)) FROM generate_series(1, :count)")


def insert_rows_returning_ids(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert rows and return the ids the database gave them, in the rows' order (each row gets its "id").

    The ids are the ones the database gives one insert at a time, reserved up front so the rows can
    go in one executemany: PostgreSQL's sequence values, or on SQLite max(id) + 1 onwards, read once
    this transaction holds the write lock (taken by inserting the first row the usual way).
    """
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        # the sequence named once: nextval of a constant regclass, not a catalog look-up per id (6 times faster)
        sequence = session.scalar(_SERIAL_SEQUENCE, {"table": table.name})
        ids, done = sorted(session.scalars(_RESERVE_IDS, {"sequence": sequence, "count": len(rows)})), 0
    elif dialect == "sqlite":
        first = session.connection().execute(insert(table).returning(table.c.id), [rows[0]]).scalar_one()
        last = session.scalar(select(func.max(table.c.id)))
        assert last is not None
        ids, done = [first, *range(last + 1, last + len(rows))], 1
    else:
        statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        connection = session.connection()
        ids = [row[0] for part in chunked(rows) for row in connection.execute(statement, list(part))]
        done = len(rows)
    for new_id, row in zip(ids, rows, strict=True):
        row["id"] = new_id
    insert_rows(session, table, rows[done:])
    return ids


# -- executemany straight to the driver --------------------------------------------------------------


@dataclass(frozen=True)
class _DriverStatement:
    """A statement compiled once for a dialect: its SQL, parameter order and value converters."""

    sql: str
    names: tuple[str, ...]
    converters: tuple[tuple[int, ColumnConverter], ...]
    positional: bool
    copy_sql: str | None = None  # PostgreSQL (psycopg) inserts: the same rows through COPY

    def values(self, rows: Sequence[Mapping[str, Any]]) -> Iterator[tuple[Any, ...]]:
        """Yield each row's values in parameter order, converted for the database."""
        columns: list[list[Any]] = [list(map(itemgetter(name), rows)) for name in self.names]
        for index, convert in self.converters:
            columns[index] = convert(columns[index])
        return zip(*columns, strict=True)

    def parameters(self, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        """Return the driver's executemany parameters for the rows."""
        if self.positional:
            return list(self.values(rows))
        return [dict(zip(self.names, values, strict=True)) for values in self.values(rows)]

    def copy(self, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Send the rows with COPY, in the connection's transaction."""
        cursor: Any = connection.connection.cursor()
        try:
            with cursor.copy(self.copy_sql) as copy:
                for values in self.values(rows):
                    copy.write_row(values)
        finally:
            cursor.close()


_COMPILED: WeakKeyDictionary[Dialect, dict[tuple[Any, ...], _DriverStatement | None]] = WeakKeyDictionary()


def execute_many(
    session: Session,
    key: tuple[Any, ...],
    statement: UpdateBase,
    rows: Sequence[Mapping[str, Any]],
    column_keys: Sequence[str] | None = None,
) -> None:
    """Run an INSERT or UPDATE for every row, in chunks, as plain executemany calls on the driver.

    The statement is compiled once per dialect (cached under `key`), and each value is converted
    by its column type's own bind processor, so the database receives exactly what a Core
    executemany would send, without Core's per-row overhead; on PostgreSQL with psycopg an INSERT
    goes as COPY, which takes the same values in a fraction of the round trips. Statements whose
    columns need Python-side defaults or values fixed in the statement go through Core.
    """
    connection = session.connection()
    dialect = connection.dialect
    cache = _COMPILED.setdefault(dialect, {})
    if key not in cache:
        cache[key] = _compile_for_driver(dialect, statement, column_keys)
    compiled = cache[key]
    for part in chunked(rows):
        if compiled is None:
            connection.execute(statement, list(part))
        elif compiled.copy_sql is not None:
            compiled.copy(connection, part)
        else:
            connection.exec_driver_sql(compiled.sql, compiled.parameters(part))


def _compile_for_driver(
    dialect: Dialect, statement: UpdateBase, column_keys: Sequence[str] | None
) -> _DriverStatement | None:
    keys = list(column_keys) if column_keys else None
    compiled = statement.compile(dialect=dialect, column_keys=keys, for_executemany=True)
    if compiled.insert_prefetch or compiled.update_prefetch or compiled.escaped_bind_names:
        return None
    names = tuple(compiled.positiontup or ()) if dialect.positional else tuple(compiled.binds)
    if not all(compiled.binds[name].required for name in names):  # a value fixed in the statement
        return None
    converters = []
    for index, name in enumerate(names):
        converter = _column_converter(compiled.binds[name].type, dialect)
        if converter is not None:
            converters.append((index, converter))
    copy_sql = _copy_sql(dialect, statement, names)
    return _DriverStatement(compiled.string, names, tuple(converters), dialect.positional, copy_sql)


def _copy_sql(dialect: Dialect, statement: UpdateBase, names: Sequence[str]) -> str | None:
    """Return the COPY that loads the same columns as an INSERT, where the driver can run it.

    An INSERT ... ON CONFLICT is not one: COPY would fail on the row the clause skips.
    """
    if not isinstance(statement, Insert) or (dialect.name, dialect.driver) != ("postgresql", "psycopg"):
        return None
    if getattr(statement, "_post_values_clause", None) is not None:
        return None
    quote = dialect.identifier_preparer
    table = cast(Table, statement.table)
    columns = ", ".join(quote.quote(table.c[name].name) for name in names)
    return f"COPY {quote.format_table(table)} ({columns}) FROM STDIN"


_DATE_PROBES = {
    date: (date(2026, 3, 1), date(7, 12, 31)),
    datetime: (datetime(2026, 11, 28, 3, 4, 5, 60, tzinfo=UTC), datetime(7, 1, 2, 23, 59, 59)),
}


def _iso_date(value: Any) -> str:
    return str(value.isoformat())


def _iso_datetime(value: Any) -> str:
    return str(value.replace(tzinfo=None).isoformat(" ", "microseconds"))


def _column_converter(bind_type: TypeEngine[Any], dialect: Dialect) -> ColumnConverter | None:
    """Return what converts a column of values for the driver, as the column type's bind processor would.

    Amounts go through `ScaledDecimal`'s column converter. SQLite stores dates as text that
    SQLAlchemy formats field by field; `isoformat` writes the same text, which is checked on
    sample values before it is trusted, and a column of plain dates is formatted without a Python
    call per value.
    """
    impl = bind_type.dialect_impl(dialect)
    if dialect.name == "sqlite" and isinstance(bind_type, UTCDateTime):
        return _sqlite_utc_timestamps(impl.bind_processor(dialect))
    if isinstance(impl, ScaledDecimal):
        converters = impl.unit_converters(dialect)
        if converters is not None:
            return converters[1]
    processor = impl.bind_processor(dialect)
    if processor is None:
        return None
    general = processor
    if dialect.name == "sqlite" and isinstance(bind_type, Date | DateTime):
        kind, fast = (datetime, _iso_datetime) if isinstance(bind_type, DateTime) else (date, _iso_date)
        if all(processor(probe) == fast(probe) for probe in _DATE_PROBES[kind]):
            return _sqlite_dates(kind, fast, general)

    def convert(values: list[Any]) -> list[Any]:
        return list(map(general, values))

    return convert


def _sqlite_utc_timestamps(processor: Callable[[Any], Any] | None) -> ColumnConverter | None:
    """Format UTC timestamps for SQLite without the type's per-value detour; anything else goes through it."""
    if processor is None:
        return None
    general = processor
    probes = (datetime(2026, 11, 28, 3, 4, 5, 60, tzinfo=UTC), datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC))
    if not all(general(probe) == _iso_datetime(probe) for probe in probes):
        return None

    def convert_one(value: Any) -> Any:
        return _iso_datetime(value) if type(value) is datetime and value.tzinfo is UTC else general(value)

    def convert(values: list[Any]) -> list[Any]:
        return list(map(convert_one, values))

    return convert


def _sqlite_dates(kind: type[date], fast: Callable[[Any], str], general: Callable[[Any], Any]) -> ColumnConverter:
    def convert_one(value: Any) -> Any:
        return fast(value) if type(value) is kind else general(value)

    def convert(values: list[Any]) -> list[Any]:
        if kind is date and set(map(type, values)) == {date}:
            return list(map(date.isoformat, values))
        return list(map(convert_one, values))

    return convert


# PostgreSQL's settings for end of day's transactions (`planned_for_end_of_day`)
END_OF_DAY_PLANNING = (text("SET LOCAL jit = off"), text("DISCARD PLANS"))


def planned_for_end_of_day(session: Session) -> None:
    """Plan the rest of the transaction's statements as end of day needs, on PostgreSQL (nothing on SQLite).

    - No JIT compilation: end of day's statements read many loans once each; their estimated cost passes
      `jit_above_cost` and `jit_optimize_above_cost` at a few hundred thousand loans, and compiling them took
      longer than running them (1.3 s of LLVM for a 2 s query in a profile at 250,000 loans; docs/performance.md).
    - No plan kept from an earlier day (`DISCARD PLANS`): psycopg prepares a statement from its 5th run on a
      connection, and PostgreSQL then keeps one generic plan for it, made once for any values, at the sizes the
      tables had then. One made on the first day, when `contact_decisions` was empty, read the whole table for
      each chunk of 5,000 keys the next day, comparing every row with each key in turn (an array that is a
      parameter is not hashed): 27 s a chunk, 3 minutes of a steady day at a million loans, on whichever pooled
      connection had kept it (docs/performance.md). The statements stay prepared; their plans are made again.
    """
    if session.get_bind().dialect.name == "postgresql":
        for statement in END_OF_DAY_PLANNING:
            session.execute(statement)
