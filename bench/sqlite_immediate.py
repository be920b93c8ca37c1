"""A gunicorn config for `bench/webhook.py --gunicorn-config bench/sqlite_immediate.py`: SQLite transactions begin
with BEGIN IMMEDIATE, as proposed for `servicing.db.make_engine` (see docs/performance.md, webhook section).

pysqlite begins a transaction lazily, so the engine's answering transaction reads first and writes later; when
another worker committed in between, SQLite refuses the upgrade at once ("database is locked", no busy wait).
Taking the write lock at BEGIN makes concurrent writers wait their turn instead.
"""

from __future__ import annotations

from typing import Any


def post_fork(server: Any, worker: Any) -> None:
    """Wrap `servicing.db.make_engine` in each worker before the app is imported."""
    from sqlalchemy import event
    from sqlalchemy.engine import Connection, Engine

    from servicing import db

    original = db.make_engine

    def make_engine(url: str, **options: Any) -> Engine:
        engine = original(url, **options)
        if url.startswith("sqlite"):

            @event.listens_for(engine, "connect")
            def _driver_begins_nothing(dbapi_connection: Any, _record: Any) -> None:
                dbapi_connection.isolation_level = None

            @event.listens_for(engine, "begin")
            def _take_the_write_lock(connection: Connection) -> None:
                connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine

    db.make_engine = make_engine
