"""Installing pg_trgm is safe when two migrations reach it at once (PostgreSQL)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from servicing.store.search_schema import trigram_schema
from tests.conftest import POSTGRES_URL, _postgres_admin, _postgres_database_url

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(POSTGRES_URL is None, reason="pg_trgm is PostgreSQL's"),
]


@pytest.fixture
def bare_database() -> Iterator[Engine]:
    """Yield an engine on a new database without pg_trgm."""
    name = f"t_trgm_{uuid.uuid4().hex[:12]}"
    admin = _postgres_admin()
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE template0")
    engine = create_engine(_postgres_database_url(name))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
        admin.dispose()


def test_a_second_migration_waits_for_the_first_to_install_pg_trgm_instead_of_failing(bare_database: Engine) -> None:
    outcome: list[object] = []
    with bare_database.connect() as first:
        first.begin()
        installed = trigram_schema(first)  # installed, not committed yet: the second must wait, then find it

        def second_migration() -> None:
            try:
                with bare_database.begin() as second:
                    outcome.append(trigram_schema(second))
            except Exception as error:  # the failure this test is about: a duplicate key in pg_extension
                outcome.append(error)

        waiting = threading.Thread(target=second_migration)
        waiting.start()
        waiting.join(timeout=1.0)
        assert waiting.is_alive(), "the second migration must wait for the first one's transaction"
        first.commit()
    waiting.join(timeout=30)
    assert outcome == [installed]
