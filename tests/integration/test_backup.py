"""`loanline backup` and `loanline restore`: SQLite through the online backup API while the database is in use,
PostgreSQL through pg_dump and pg_restore (docs/operations.md, "Backups")."""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import make_url

from loanline.cli import main
from servicing.store.db import make_engine, make_session_factory
from servicing.store.migrate import upgrade_database
from servicing.store.models import LedgerEntry, Loan
from tests.conftest import POSTGRES_URL, SECRET
from tests.integration.helpers import board


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False, prog_name="loanline")
    return result.exit_code, result.output


def counts(url: str) -> tuple[int, int, list[str]]:
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            loans = sorted(session.scalars(select(Loan.loan_number)))
            return len(loans), session.scalar(select(func.count()).select_from(LedgerEntry)) or 0, loans
    finally:
        engine.dispose()


def board_some(url: str, prefix: str, count: int) -> None:
    engine = make_engine(url)
    with make_session_factory(engine).begin() as session:
        for number in range(count):
            board(session, loan_number=f"{prefix}-{number}")
    engine.dispose()


@pytest.fixture
def sqlite_env(tmp_path: Path, migrated_sqlite: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    path = tmp_path / "loanline.db"
    shutil.copyfile(migrated_sqlite, path)
    url = f"sqlite:///{path}"
    for key, value in {"LOANLINE_DATABASE_URL": url, "LOANLINE_SECRET_KEY": SECRET,
                       "LOANLINE_INSTANCE_PATH": str(tmp_path / "instance")}.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    return url


def test_a_sqlite_backup_taken_while_a_transaction_is_open_restores_what_was_committed(
    sqlite_env: str, tmp_path: Path
) -> None:
    board_some(sqlite_env, "BK", 3)
    database = make_url(sqlite_env).database
    assert database is not None
    with closing(sqlite3.connect(database)) as busy:  # another process in the middle of writing
        busy.execute("BEGIN IMMEDIATE")
        busy.execute("UPDATE loans SET days_past_due = days_past_due WHERE 0")
        code, output = run("backup", str(tmp_path / "backups" / "monday.db"))
        busy.rollback()
    assert code == 0, output
    assert "backup of the sqlite database written to" in output
    assert (tmp_path / "backups" / "monday.db").stat().st_mode & 0o777 == 0o600
    before = counts(sqlite_env)
    board_some(sqlite_env, "AFTER", 2)  # written after the backup: gone once it is restored
    assert counts(sqlite_env)[0] == 5
    code, output = run("restore", str(tmp_path / "backups" / "monday.db"))
    assert code == 1 and "--replace" in output  # a database with data is not overwritten unasked
    code, output = run("restore", "--replace", str(tmp_path / "backups" / "monday.db"))
    assert code == 0, output
    assert counts(sqlite_env) == before
    assert before[0] == 3 and before[1] > 0


def test_a_backup_never_overwrites_a_file(sqlite_env: str, tmp_path: Path) -> None:
    existing = tmp_path / "kept.db"
    existing.write_text("yesterday's backup")
    code, output = run("backup", str(existing))
    assert code == 1 and "never overwrites" in output
    assert existing.read_text() == "yesterday's backup"


def test_a_file_that_is_not_a_database_is_not_restored(sqlite_env: str, tmp_path: Path) -> None:
    board_some(sqlite_env, "KEEP", 1)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    code, output = run("restore", "--replace", str(junk))
    assert code == 1 and "not a sound SQLite database" in output
    assert counts(sqlite_env)[0] == 1


@pytest.fixture
def postgres_database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """A database of its own on the test server (pg_dump takes a whole database)."""
    if not POSTGRES_URL:
        pytest.skip("LOANLINE_TEST_DATABASE_URL is not set")
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump and pg_restore are not installed (apt-get install postgresql-client)")
    name = f"loanline_h17_backup_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(POSTGRES_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade_database(engine)
    engine.dispose()
    for key, value in {"LOANLINE_DATABASE_URL": url, "LOANLINE_SECRET_KEY": SECRET,
                       "LOANLINE_INSTANCE_PATH": str(tmp_path / "instance")}.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


@pytest.mark.postgres
def test_a_postgresql_backup_is_restored_over_later_changes(postgres_database: str, tmp_path: Path) -> None:
    board_some(postgres_database, "PG", 3)
    dump = tmp_path / "loanline.dump"
    code, output = run("backup", str(dump))
    assert code == 0, output
    before = counts(postgres_database)
    board_some(postgres_database, "LATER", 2)
    code, output = run("restore", "--replace", str(dump))
    assert code == 0, output
    assert counts(postgres_database) == before
    assert before[0] == 3
    engine = make_engine(postgres_database)
    try:
        # the ledger is still immutable after a restore (its trigger came back)
        with engine.begin() as connection, pytest.raises(Exception, match="ledger"):
            connection.exec_driver_sql("UPDATE ledger_entries SET principal = 0")
    finally:
        engine.dispose()
