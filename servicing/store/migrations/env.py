"""Alembic environment: migrates the database `loanline init` points it at."""

from __future__ import annotations

from alembic import context

from servicing.store.db import make_engine
from servicing.store.models import Base
from servicing.store.search_schema import is_search_object

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Run migrations on the configured connection (or a new engine for the URL)."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as new_connection:
        _migrate(new_connection)
    engine.dispose()


def _migrate(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        include_object=is_search_object,  # the search indexes the models cannot declare
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
