"""Shared fixtures: a fresh migrated database per test, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
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


def _postgres_schema_url(schema: str) -> str:
    assert POSTGRES_URL is not None
    separator = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"


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


def install_trigrams_in_public(admin: Engine) -> None:
    """Install pg_trgm in the test database's `public` schema, once: each test's schema is dropped at its end, and an
    extension created inside it (the migration's `CREATE EXTENSION` would put it there) would go with it."""
    for _attempt in range(3):
        try:
            with admin.begin() as connection:
                connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
            return
        except DBAPIError:  # another worker created it at the same moment
            continue


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path, migrated_sqlite: Path) -> Iterator[str]:
    """Return the URL of an empty, migrated database of each backend under test."""
    if request.param == "sqlite":
        path = tmp_path / "loanline.db"
        shutil.copyfile(migrated_sqlite, path)
        yield f"sqlite:///{path}"
        return
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(POSTGRES_URL or "")
    install_trigrams_in_public(admin)
    with admin.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    url = _postgres_schema_url(schema)
    engine = make_engine(url)
    upgrade_database(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
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
