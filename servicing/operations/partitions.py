"""Monthly partitions of the ledger on PostgreSQL (docs/operations.md, "Past one database server").

`partition_ledger` (the opt-in `loanline partitions enable`) turns `ledger_entries` into a table partitioned by
the month its lines were posted (`posted_at`, UTC), in one transaction that holds the table locked: the rows
are copied into one partition per month, a default partition catches anything outside the months made, and
the table keeps its name, columns, id sequence, indexes, foreign keys and the trigger that refuses UPDATE and
DELETE. Its primary key becomes (id, posted_at), as PostgreSQL requires the partition key in it; nothing
refers to a ledger line by foreign key, and ids still come from the one sequence, so they stay unique.

`create_partitions_ahead` (the scheduler's daily `partitions` job, or `loanline partitions create`) makes this
month's partition and the next ones where they are missing, so the default partition stays empty. On SQLite,
or while the ledger is not partitioned, both say so and change nothing.

The messages table is not partitioned: its unique (channel, direction, provider_id) is what stores an inbound
message exactly once, and a unique constraint of a partitioned table must include the partition key, which
would let a provider's retry in another month through. The design for it is in docs/operations.md.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from servicing.errors import InvalidInput

LEDGER = "ledger_entries"
MONTHS_AHEAD = 2


def month_start(day: date, months_after: int = 0) -> date:
    """Return the first day of the month `months_after` months after `day`'s."""
    index = day.year * 12 + day.month - 1 + months_after
    return date(index // 12, index % 12 + 1, 1)


def partition_name(table: str, first: date) -> str:
    return f"{table}_y{first.year}m{first.month:02d}"


def is_partitioned(connection: Connection, table: str) -> bool:
    """Tell whether `table` (in the current schema) is a partitioned table."""
    query = text("SELECT count(*) FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
                 "WHERE c.relname = :table AND c.relnamespace = current_schema()::regnamespace")  # fmt: skip
    return bool(connection.scalar(query, {"table": table}))


def partition_ledger(engine: Engine, today: date, months_ahead: int = MONTHS_AHEAD) -> list[str]:
    """Partition the ledger by month of posting, in one transaction; return the partitions made."""
    if engine.dialect.name != "postgresql":
        raise InvalidInput("monthly partitions are for PostgreSQL; a SQLite ledger stays one table")
    with engine.begin() as connection:
        if is_partitioned(connection, LEDGER):
            raise InvalidInput("the ledger is already partitioned by month")
        connection.execute(text(f"LOCK TABLE {LEDGER} IN ACCESS EXCLUSIVE MODE"))
        first = connection.scalar(text(f"SELECT min(posted_at) FROM {LEDGER}"))
        for statement in _CONVERSION_BEFORE_COPY:
            connection.execute(text(statement))
        start = month_start(first.date() if first else today)
        made = _create_months(connection, start, month_start(today, months_ahead))
        connection.execute(text(f"CREATE TABLE {LEDGER}_default PARTITION OF {LEDGER} DEFAULT"))
        connection.execute(text(f"INSERT INTO {LEDGER} SELECT * FROM {LEDGER}_unpartitioned"))
        for statement in _CONVERSION_AFTER_COPY:
            connection.execute(text(statement))
    return made


_CONVERSION_BEFORE_COPY = (
    f"ALTER TABLE {LEDGER} RENAME TO {LEDGER}_unpartitioned",
    "ALTER INDEX ix_ledger_loan RENAME TO ix_ledger_loan_unpartitioned",
    "ALTER INDEX ix_ledger_payment RENAME TO ix_ledger_payment_unpartitioned",
    f"ALTER TABLE {LEDGER}_unpartitioned RENAME CONSTRAINT {LEDGER}_pkey TO {LEDGER}_unpartitioned_pkey",
    f"CREATE TABLE {LEDGER} (LIKE {LEDGER}_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS) "
    "PARTITION BY RANGE (posted_at)",
    f"ALTER TABLE {LEDGER} ADD CONSTRAINT {LEDGER}_pkey PRIMARY KEY (id, posted_at)",
    f"ALTER TABLE {LEDGER} ADD FOREIGN KEY (loan_id) REFERENCES loans (id)",
    f"ALTER TABLE {LEDGER} ADD FOREIGN KEY (payment_id) REFERENCES payments (id)",
    f"CREATE INDEX ix_ledger_loan ON {LEDGER} (loan_id, id)",
    f"CREATE INDEX ix_ledger_payment ON {LEDGER} (payment_id)",
)
_CONVERSION_AFTER_COPY = (
    f"ALTER SEQUENCE {LEDGER}_id_seq OWNED BY NONE",
    f"DROP TABLE {LEDGER}_unpartitioned",
    f"ALTER SEQUENCE {LEDGER}_id_seq OWNED BY {LEDGER}.id",
    f"CREATE TRIGGER {LEDGER}_immutable BEFORE UPDATE OR DELETE ON {LEDGER} "
    "FOR EACH ROW EXECUTE FUNCTION ll_ledger_immutable()",
)


def _create_months(connection: Connection, first: date, last: date) -> list[str]:
    """Create the monthly partitions from `first`'s month through `last`'s where missing; return those made."""
    made = []
    month = first
    while month <= last:
        name = partition_name(LEDGER, month)
        exists = connection.scalar(text("SELECT to_regclass(:name) IS NOT NULL"), {"name": name})
        if not exists:
            bounds = f"FROM ('{month.isoformat()} 00:00+00') TO ('{month_start(month, 1).isoformat()} 00:00+00')"
            connection.execute(text(f"CREATE TABLE {name} PARTITION OF {LEDGER} FOR VALUES {bounds}"))
            made.append(name)
        month = month_start(month, 1)
    return made


def create_partitions_ahead(engine: Engine, today: date, months: int = MONTHS_AHEAD) -> list[str]:
    """Create this month's ledger partition and the next `months` where missing; none unless partitioned."""
    if engine.dialect.name != "postgresql":
        return []
    with engine.begin() as connection:
        if not is_partitioned(connection, LEDGER):
            return []
        return _create_months(connection, month_start(today), month_start(today, months))
