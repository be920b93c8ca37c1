"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine

from servicing.store.models import Base
from servicing.store.search_schema import is_search_object


def test_the_migrated_database_has_every_table_column_and_index_the_models_declare(engine: Engine) -> None:
    with engine.connect() as connection:
        differences = compare_metadata(
            MigrationContext.configure(connection, opts={"include_object": is_search_object}), Base.metadata
        )
    assert differences == []
