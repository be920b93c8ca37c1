"""Monthly partitions of the ledger and the messages on PostgreSQL (docs/operations.md, "Past one database server").

`partition_ledger` and `partition_messages` (the opt-in `loanline partitions enable --table ledger|messages`) each
turn one table into a table partitioned by month (UTC), in one transaction that holds the table locked: the rows
are copied into one partition per month, a default partition catches anything outside the months made, and the
table keeps its name, columns, id sequence, indexes, foreign keys (and, for the ledger, the trigger that refuses
UPDATE and DELETE). Its primary key gains the partition key, as PostgreSQL requires: (id, posted_at) for the
ledger, (id, created_at) for messages; ids still come from the one sequence, so they stay unique.

Nothing refers to a ledger line by foreign key. Messages are referred to by the outbox, notifications and
satisfaction surveys, each of which carries the message's created_at beside its id (migration 0025): their
foreign keys become composite, (message_id, message_created_at) to (id, created_at). The messages' unique
(channel, direction, provider_id) cannot stay on a partitioned table (a provider's retry in another month would
get in), and need not: `inbound_receipts` takes the exactly-once storage of inbound messages on both databases,
and a plain index on (channel, direction, provider_id) still finds a message by its provider's id.

`create_partitions_ahead` (the scheduler's daily `partitions` job, or `loanline partitions create`) makes this
month's partition and the next ones where they are missing, for each partitioned table, so the default
partitions stay empty. On SQLite, or while no table is partitioned, both say so and change nothing.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from servicing.errors import InvalidInput

LEDGER = "ledger_entries"
MESSAGES = "messages"
MONTHLY = (LEDGER, MESSAGES)  # the tables that may be partitioned by month
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
    _refuse_on_sqlite(engine, "ledger")
    with engine.begin() as connection:
        if is_partitioned(connection, LEDGER):
            raise InvalidInput("the ledger is already partitioned by month")
        connection.execute(text(f"LOCK TABLE {LEDGER} IN ACCESS EXCLUSIVE MODE"))
        first = connection.scalar(text(f"SELECT min(posted_at) FROM {LEDGER}"))
        for statement in _CONVERSION_BEFORE_COPY:
            connection.execute(text(statement))
        start = month_start(first.date() if first else today)
        made = _create_months(connection, LEDGER, start, month_start(today, months_ahead))
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


def _refuse_on_sqlite(engine: Engine, what: str) -> None:
    if engine.dialect.name != "postgresql":
        raise InvalidInput(f"monthly partitions are for PostgreSQL; on SQLite the {what} stays one table")


def partition_messages(engine: Engine, today: date, months_ahead: int = MONTHS_AHEAD) -> list[str]:
    """Partition the messages by month of `created_at`, in one transaction; return the partitions made.

    The foreign keys that refer to a message (the outbox, notifications, satisfaction surveys) are dropped and
    made again on (message_id, message_created_at), checked against the copied rows before the commit.
    """
    _refuse_on_sqlite(engine, "messages table")
    with engine.begin() as connection:
        if is_partitioned(connection, MESSAGES):
            raise InvalidInput("the messages are already partitioned by month")
        referring = ", ".join(sorted({table for table, _, _ in MESSAGE_REFERENCES}))
        # everything it changes, locked before any change (stop the workers first): should a worker hold one of
        # these tables and wait for another, PostgreSQL ends one of the two; if this one, it leaves nothing done
        connection.execute(text(f"LOCK TABLE {MESSAGES}, {referring} IN ACCESS EXCLUSIVE MODE"))
        first = connection.scalar(text(f"SELECT min(created_at) FROM {MESSAGES}"))
        _drop_references_to_messages(connection)
        for statement in _MESSAGES_BEFORE_COPY:
            connection.execute(text(statement))
        start = month_start(first.date() if first else today)
        made = _create_months(connection, MESSAGES, start, month_start(today, months_ahead))
        connection.execute(text(f"CREATE TABLE {MESSAGES}_default PARTITION OF {MESSAGES} DEFAULT"))
        columns = _stored_columns(connection, f"{MESSAGES}_unpartitioned")
        connection.execute(text(f"INSERT INTO {MESSAGES} ({columns}) SELECT {columns} FROM {MESSAGES}_unpartitioned"))
        for statement in _MESSAGES_AFTER_COPY:
            connection.execute(text(statement))
    return made


# (table, the message id column, the message's created_at column): everything that refers to a message
MESSAGE_REFERENCES = (
    ("outbox", "message_id", "message_created_at"),
    ("notifications", "message_id", "message_created_at"),
    ("satisfaction_surveys", "message_id", "message_created_at"),
    ("satisfaction_surveys", "answer_message_id", "answer_message_created_at"),
)


def _drop_references_to_messages(connection: Connection) -> None:
    """Drop every foreign key to messages (found in the catalog, so that none is missed); they are made again."""
    query = text("SELECT conrelid::regclass::text, conname FROM pg_constraint "
                 "WHERE contype = 'f' AND confrelid = CAST(:table AS regclass)")  # fmt: skip
    known = {reference[0] for reference in MESSAGE_REFERENCES}
    for table, name in connection.execute(query, {"table": MESSAGES}).all():
        if table not in known:
            raise InvalidInput(f"{table} refers to messages by id: teach partition_messages its composite key")
        connection.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))


def _stored_columns(connection: Connection, table: str) -> str:
    """Return the table's columns that are stored, not generated (the search words are), comma-separated."""
    query = text("SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position) "
                 "FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = :table "
                 "AND is_generated = 'NEVER'")  # fmt: skip
    return str(connection.scalar(query, {"table": table}))


_MESSAGES_BEFORE_COPY = (
    f"ALTER TABLE {MESSAGES} RENAME TO {MESSAGES}_unpartitioned",
    "ALTER INDEX ix_messages_conversation RENAME TO ix_messages_conversation_unpartitioned",
    "ALTER INDEX IF EXISTS search_messages_words RENAME TO search_messages_words_unpartitioned",
    f"ALTER TABLE {MESSAGES}_unpartitioned RENAME CONSTRAINT {MESSAGES}_pkey TO {MESSAGES}_unpartitioned_pkey",
    f"CREATE TABLE {MESSAGES} (LIKE {MESSAGES}_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
    "INCLUDING GENERATED) PARTITION BY RANGE (created_at)",
    f"ALTER TABLE {MESSAGES} ADD CONSTRAINT {MESSAGES}_pkey PRIMARY KEY (id, created_at)",
    f"CREATE INDEX ix_messages_conversation ON {MESSAGES} (conversation_id, id)",
    # a delivery report finds its outbound message by the provider's id; the inbound key is inbound_receipts'
    f"CREATE INDEX ix_messages_provider ON {MESSAGES} (channel, direction, provider_id)",
)
_MESSAGES_AFTER_COPY = (
    f"ALTER SEQUENCE {MESSAGES}_id_seq OWNED BY NONE",
    f"DROP TABLE {MESSAGES}_unpartitioned",
    f"ALTER SEQUENCE {MESSAGES}_id_seq OWNED BY {MESSAGES}.id",
    f"ALTER TABLE {MESSAGES} ADD CONSTRAINT {MESSAGES}_conversation_id_fkey FOREIGN KEY (conversation_id) "
    "REFERENCES conversations (id)",
    # the full-text index, where the search migration made its words column (it is generated on the new table too)
    "DO $$ BEGIN IF EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() "
    f"AND table_name = '{MESSAGES}' AND column_name = 'search_words') THEN "
    f"CREATE INDEX search_messages_words ON {MESSAGES} USING gin (search_words); END IF; END $$",
    *(
        f"ALTER TABLE {table} ADD FOREIGN KEY ({id_column}, {created_column}) REFERENCES {MESSAGES} (id, created_at)"
        for table, id_column, created_column in MESSAGE_REFERENCES
    ),
)


def _create_months(connection: Connection, table: str, first: date, last: date) -> list[str]:
    """Create the monthly partitions of `table` from `first`'s month through `last`'s where missing; return those
    made."""
    made = []
    month = first
    while month <= last:
        name = partition_name(table, month)
        exists = connection.scalar(text("SELECT to_regclass(:name) IS NOT NULL"), {"name": name})
        if not exists:
            bounds = f"FROM ('{month.isoformat()} 00:00+00') TO ('{month_start(month, 1).isoformat()} 00:00+00')"
            connection.execute(text(f"CREATE TABLE {name} PARTITION OF {table} FOR VALUES {bounds}"))
            made.append(name)
        month = month_start(month, 1)
    return made


def create_partitions_ahead(engine: Engine, today: date, months: int = MONTHS_AHEAD) -> list[str]:
    """Create this month's partition and the next `months` where missing, of each table partitioned by month
    (the ledger, the messages); none on SQLite or where no table is partitioned."""
    if engine.dialect.name != "postgresql":
        return []
    made: list[str] = []
    with engine.begin() as connection:
        for table in MONTHLY:
            if is_partitioned(connection, table):
                made += _create_months(connection, table, month_start(today), month_start(today, months))
    return made
