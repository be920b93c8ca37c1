"""The search indexes that live beside the tables (docs/console-search.md): SQLite FTS5 tables kept by triggers,
PostgreSQL GIN indexes (full text for messages, pg_trgm for borrowers' search keys).

Every object is named `search_...`: the migrations test and Alembic's comparison leave them out (`is_search_object`),
since the models cannot declare a virtual table or an index on an expression.

On SQLite the triggers belong to `borrowers` and `messages`: a later migration that rebuilds either table (Alembic's
batch mode copies it and drops the old one, and its triggers with it) must call `create_sqlite_search_triggers` again.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from servicing.store.models import MIGRATION_ONLY_INDEXES

# (FTS5 table, the table it indexes, the indexed column, the tokenizer)
SQLITE_FTS = (
    # names and emails, folded: any run of 3 characters matches, in any script (a trigram index)
    ("search_borrowers", "borrowers", "search_key", "trigram"),
    # words in messages: case and accents folded by the tokenizer
    ("search_messages", "messages", "body", "unicode61 remove_diacritics 2"),
)


def is_search_object(_object: Any, name: str | None, type_: str, _reflected: bool, _compare_to: Any) -> bool:
    """Tell Alembic's comparison to include an object unless it is a search index, or another index only the
    migrations declare (`include_object`; `MIGRATION_ONLY_INDEXES`)."""
    return not ((name or "").startswith("search_") or name in MIGRATION_ONLY_INDEXES)


def create_sqlite_search(connection: Connection) -> None:
    """Create the FTS5 tables over borrowers and messages, fill them from the rows there, and keep them by triggers."""
    for fts, table, column, tokenizer in SQLITE_FTS:
        connection.exec_driver_sql(
            f"CREATE VIRTUAL TABLE {fts} USING fts5({column}, content='{table}', content_rowid='id', "
            f"tokenize='{tokenizer}')"
        )
        connection.exec_driver_sql(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")
    create_sqlite_search_triggers(connection)


def create_sqlite_search_triggers(connection: Connection) -> None:
    """Create the triggers that keep each FTS5 table equal to its table (insert, delete, update of the column)."""
    for fts, table, column, _tokenizer in SQLITE_FTS:
        connection.exec_driver_sql(
            f"CREATE TRIGGER IF NOT EXISTS {fts}_inserted AFTER INSERT ON {table} BEGIN "
            f"INSERT INTO {fts}(rowid, {column}) VALUES (new.id, new.{column}); END"
        )
        connection.exec_driver_sql(
            f"CREATE TRIGGER IF NOT EXISTS {fts}_deleted AFTER DELETE ON {table} BEGIN "
            f"INSERT INTO {fts}({fts}, rowid, {column}) VALUES ('delete', old.id, old.{column}); END"
        )
        connection.exec_driver_sql(
            f"CREATE TRIGGER IF NOT EXISTS {fts}_updated AFTER UPDATE OF {column} ON {table} BEGIN "
            f"INSERT INTO {fts}({fts}, rowid, {column}) VALUES ('delete', old.id, old.{column}); "
            f"INSERT INTO {fts}(rowid, {column}) VALUES (new.id, new.{column}); END"
        )


def drop_sqlite_search(connection: Connection) -> None:
    """Drop the FTS5 tables and their triggers."""
    for fts, _table, _column, _tokenizer in SQLITE_FTS:
        for suffix in ("inserted", "deleted", "updated"):
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {fts}_{suffix}")
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS {fts}")


def trigram_schema(connection: Connection) -> str:
    """Install pg_trgm unless the database has it, and return the schema its operator classes are in."""
    found = _trigram_schema(connection)
    if found is None:
        # Two migrations at once would both create it (IF NOT EXISTS does not wait for the other's commit, and the
        # second fails on the catalog's unique key): the first takes this lock, the second looks again after it.
        connection.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext('loanline:create extension pg_trgm'))")
        found = _trigram_schema(connection)
    if found is None:
        connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        found = _trigram_schema(connection)
    assert found is not None
    return found


def _trigram_schema(connection: Connection) -> str | None:
    return connection.exec_driver_sql(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
    ).scalar()


def create_postgresql_search(connection: Connection) -> None:
    """Create the GIN indexes: full text over messages (a stored `tsvector` of the `simple` configuration),
    trigrams over search keys."""
    schema = trigram_schema(connection)
    connection.exec_driver_sql(
        f'CREATE INDEX search_borrowers_key ON borrowers USING gin (search_key "{schema}".gin_trgm_ops)'
    )
    # The words of each message kept beside it: rechecking a match reads them instead of parsing the body again
    # (at a million messages, parsing thousands of bodies per search took hundreds of milliseconds).
    connection.exec_driver_sql(
        "ALTER TABLE messages ADD COLUMN search_words tsvector "
        "GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, body)) STORED"
    )
    connection.exec_driver_sql("CREATE INDEX search_messages_words ON messages USING gin (search_words)")


def drop_postgresql_search(connection: Connection) -> None:
    """Drop the GIN indexes (pg_trgm stays: other schemas of the database may use it)."""
    connection.exec_driver_sql("DROP INDEX IF EXISTS search_borrowers_key")
    connection.exec_driver_sql("DROP INDEX IF EXISTS search_messages_words")
    connection.exec_driver_sql("ALTER TABLE messages DROP COLUMN IF EXISTS search_words")
