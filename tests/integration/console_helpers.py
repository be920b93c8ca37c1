"""A console on the test database with its staff, as the console's page tests use it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from servicing.specialists import Role
from tests.integration.test_console_auth import create_specialist, dispose, log_in, make_console

STAFF = (("sam", Role.SPECIALIST), ("ana", Role.SPECIALIST), ("sue", Role.SUPERVISOR))


@contextmanager
def staffed_console(
    database_url: str, today: str, monkeypatch: pytest.MonkeyPatch, staff: Sequence[tuple[str, Role]] = STAFF
) -> Iterator[Flask]:
    """Yield a console app whose business day is `today`, with two specialists and a supervisor."""
    monkeypatch.setenv("LOANLINE_TODAY", today)
    app = make_console(database_url)
    for username, role in staff:
        create_specialist(app, username, role)
    try:
        yield app
    finally:
        dispose(app)


def sessions_of(app: Flask) -> sessionmaker[Session]:
    """Return the app's session factory."""
    factory: sessionmaker[Session] = app.extensions["loanline.sessions"]
    return factory


def signed_in(app: Flask, username: str) -> FlaskClient:
    """Return a client logged in as `username`."""
    client = app.test_client()
    log_in(client, username)
    return client
