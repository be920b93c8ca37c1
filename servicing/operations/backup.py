"""Backups: SQLite through its online backup API, PostgreSQL through pg_dump (docs/operations.md, "Backups").

A SQLite backup is a consistent copy taken while the system runs (`sqlite3.Connection.backup` copies the pages
under a read transaction, WAL included); a PostgreSQL one is `pg_dump --format=custom` of the whole database.
A restore puts a backup back into an empty database, or over an existing one when asked to (`replace`): the
processes that use the database must be stopped first.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from servicing.errors import InvalidInput


@dataclass(frozen=True)
class Backup:
    """What a backup or restore wrote: where, how large, of which database kind."""

    path: Path
    size: int
    dialect: str


def backup_database(database_url: str, destination: Path) -> Backup:
    """Copy the database at `database_url` into `destination` (a new file) while it is in use."""
    url = make_url(database_url)
    if destination.exists():
        raise InvalidInput(f"{destination} exists: a backup never overwrites a file")
    destination.parent.mkdir(parents=True, exist_ok=True)
    if url.get_backend_name() == "sqlite":
        _copy_sqlite(_sqlite_path(url), destination)
    elif url.get_backend_name() == "postgresql":
        _run(["pg_dump", "--format=custom", "--no-owner", f"--file={destination}", _libpq(url)], url)
    else:
        raise InvalidInput(f"no backup for {url.get_backend_name()} databases")
    destination.chmod(0o600)
    return Backup(destination, destination.stat().st_size, url.get_backend_name())


def restore_database(database_url: str, source: Path, *, replace: bool = False) -> Backup:
    """Put the backup at `source` into the database at `database_url`; over existing data only with `replace`."""
    url = make_url(database_url)
    if not source.is_file():
        raise InvalidInput(f"{source} is not a backup file")
    if url.get_backend_name() == "sqlite":
        target = _sqlite_path(url)
        if target.exists() and target.stat().st_size and not replace:
            raise InvalidInput(f"{target} holds a database: stop Loanline and restore with --replace to overwrite it")
        if not _sound_sqlite(source):
            raise InvalidInput(f"{source} is not a sound SQLite database")
        for leftover in (Path(f"{target}-wal"), Path(f"{target}-shm")):
            leftover.unlink(missing_ok=True)
        _copy_sqlite(source, target)
    elif url.get_backend_name() == "postgresql":
        options = ["--clean", "--if-exists"] if replace else []
        _run(["pg_restore", "--no-owner", "--exit-on-error", *options, f"--dbname={_libpq(url)}", str(source)], url)
    else:
        raise InvalidInput(f"no restore for {url.get_backend_name()} databases")
    return Backup(source, source.stat().st_size, url.get_backend_name())


def _sound_sqlite(path: Path) -> bool:
    """Tell whether a file is a SQLite database that passes its integrity check."""
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as check:
            return bool(check.execute("PRAGMA integrity_check").fetchone() == ("ok",))
    except sqlite3.DatabaseError:
        return False


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise InvalidInput("an in-memory SQLite database has nothing to back up")
    return Path(url.database)


def _copy_sqlite(source: Path, destination: Path) -> None:
    """Copy a SQLite database page by page with the online backup API (other connections keep working)."""
    with closing(sqlite3.connect(source)) as origin, closing(sqlite3.connect(destination)) as copy:
        origin.backup(copy, pages=1024)
        copy.execute("PRAGMA journal_mode=WAL")  # as Loanline opens it


def _libpq(url: URL) -> str:
    """Return the URL as libpq's tools read it: no SQLAlchemy driver name, no password (PGPASSWORD carries it)."""
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)


def _run(command: list[str], url: URL) -> None:
    """Run pg_dump or pg_restore, the password in the environment rather than on a command line others may read."""
    if shutil.which(command[0]) is None:
        raise InvalidInput(f"{command[0]} is not installed (apt-get install postgresql-client)")
    env = {**os.environ, **({"PGPASSWORD": str(url.password)} if url.password else {})}
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise InvalidInput(f"{command[0]} failed: {done.stderr.strip()[-500:]}")
