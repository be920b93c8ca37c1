"""Shared fixtures: a fresh migrated database per test, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, make_url
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from servicing.store.db import make_engine, make_session_factory
from servicing.store.migrate import upgrade_database

POSTGRES_URL = os.environ.get("LOANLINE_TEST_DATABASE_URL")
BACKENDS = [pytest.param("sqlite", id="sqlite")]
if POSTGRES_URL:
    BACKENDS.append(pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres))

SECRET = "test-secret-key"

settings.register_profile("default", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def _postgres_database_url(database: str) -> str:
    assert POSTGRES_URL is not None
    return make_url(POSTGRES_URL).set(database=database).render_as_string(hide_password=False)


def _postgres_admin() -> Engine:
    """An engine on the test server for CREATE and DROP DATABASE, which run outside a transaction."""
    return create_engine(POSTGRES_URL or "", isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a SQLite file migrated once for the session (once per pytest-xdist worker); tests get copies of it.

    Migrating takes about 100 ms; copying the file, about 1 ms.
    """
    path = tmp_path_factory.mktemp("migrated") / "loanline.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade_database(engine)
    engine.dispose()
    assert not path.with_name(f"{path.name}-wal").exists(), "the migrated file must hold the whole schema"
    return path


@pytest.fixture(scope="session")
def migrated_postgres() -> Iterator[str | None]:
    """Return the name of a PostgreSQL database migrated once for the session (once per pytest-xdist worker), which
    each test's database is created from as a template; None when no PostgreSQL server is under test.

    Migrating a database takes 0.3 s on a quiet machine and seconds under a busy suite; creating one from a template,
    about 50 ms. Nothing connects to the template after it is migrated, as CREATE DATABASE ... TEMPLATE requires.
    """
    if not POSTGRES_URL:
        yield None
        return
    name = f"template_{uuid.uuid4().hex[:16]}"
    admin = _postgres_admin()
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        engine = make_engine(_postgres_database_url(name))
        upgrade_database(engine)
        engine.dispose()
        yield name
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, migrated_sqlite: Path, migrated_postgres: str | None
) -> Iterator[str]:
    """Return the URL of an empty, migrated database of each backend under test: a copy of a migrated SQLite file, or
    a PostgreSQL database of its own created from the migrated template."""
    if request.param == "sqlite":
        path = tmp_path / "loanline.db"
        shutil.copyfile(migrated_sqlite, path)
        yield f"sqlite:///{path}"
        return
    assert migrated_postgres is not None
    name = f"test_{uuid.uuid4().hex[:16]}"
    admin = _postgres_admin()
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE {migrated_postgres}")
    try:
        yield _postgres_database_url(name)
    finally:
        with admin.connect() as connection:  # FORCE: a test's leftover connection (a killed process's) is ended
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """Return an engine on the test database."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    """Return a session factory on the test database."""
    return make_session_factory(engine)


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Point the `loanline` command at the test database, with a fixed secret and instance folder."""
    env = {
        "LOANLINE_DATABASE_URL": database_url,
        "LOANLINE_SECRET_KEY": SECRET,
        "LOANLINE_INSTANCE_PATH": str(tmp_path / "instance"),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def named_connections(url: str, application_name: str) -> str:
    """Return the URL with an application name its connections carry, so that a test can end only those."""
    return make_url(url).update_query_dict({"application_name": application_name}).render_as_string(hide_password=False)
