"""What the web app refuses before a view runs: oversized bodies, fields longer than their columns; 503 when busy."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from twilio.request_validator import RequestValidator
from werkzeug.test import TestResponse

from console import create_app
from servicing.store.db import make_engine, make_session_factory
from servicing.store.migrate import upgrade_database
from servicing.store.models import Message
from tests.conftest import SECRET
from tests.live_gunicorn import serve_with_gunicorn

TOKEN = "test-auth-token"
MEGABYTE = 1024 * 1024


@pytest.fixture
def app(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    for name, value in {"LOANLINE_SECRET_KEY": SECRET, "LOANLINE_INSTANCE_PATH": str(tmp_path / "instance"),
                        "LOANLINE_TODAY": "2026-03-20", "TWILIO_AUTH_TOKEN": TOKEN}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("LOANLINE_PUBLIC_URL", raising=False)
    app = create_app({"DATABASE_URL": database_url, "TESTING": True, "DATABASE_LOCK_WAIT_SECONDS": 0.3})
    yield app
    app.extensions["loanline.sessions"].kw["bind"].dispose()


def signed_sms(app: Flask, **fields: str) -> TestResponse:
    """Post an inbound SMS signed as Twilio signs it, with `fields` replacing the usual ones."""
    form = {"MessageSid": "SM" + "a" * 32, "AccountSid": "AC" + "0" * 32, "From": "+15557770001",
            "To": "+15550001111", "Body": "hello", "NumMedia": "0", **fields}  # fmt: skip
    signature = RequestValidator(TOKEN).compute_signature("http://localhost/sms/twilio", form)
    return app.test_client().post("/sms/twilio", data=form, headers={"X-Twilio-Signature": signature})


def inbound_count(app: Flask) -> int:
    sessions: sessionmaker[Session] = app.extensions["loanline.sessions"]
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Message)) or 0)


# -- size -----------------------------------------------------------------------------------------------


def test_a_webhook_or_form_over_a_megabyte_is_refused_with_413_and_stores_nothing(app: Flask) -> None:
    assert signed_sms(app, Body="x" * (MEGABYTE + 1)).status_code == 413
    login = app.test_client().post("/console/login", data={"username": "ana", "password": "p" * (MEGABYTE + 1)})
    assert login.status_code == 413
    assert inbound_count(app) == 0
    assert signed_sms(app, Body="x" * 1500).status_code == 200  # a long SMS is nowhere near the limit


@pytest.mark.slow  # a real gunicorn: about 3 s
def test_an_oversized_body_is_refused_from_its_headers_before_it_is_sent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'limits.db'}"
    engine = make_engine(url)
    upgrade_database(engine)
    engine.dispose()
    with serve_with_gunicorn(url, tmp_path) as live, socket.create_connection(("127.0.0.1", live.port)) as client:
        client.settimeout(5)
        headers = (b"POST /sms/twilio HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Twilio-Signature: x\r\n"
                   b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 50000000\r\n\r\n")  # fmt: skip
        client.sendall(headers + b"Body=")
        started = time.monotonic()
        answer = client.recv(4096).decode("latin-1")  # the other 50 MB are never sent
        assert answer.startswith("HTTP/1.1 413"), answer[:200]
        assert time.monotonic() - started < 3


# -- fields longer than their columns -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"From": "+1" + "5" * 63}, "From is longer than 64 characters"),
        ({"MessageSid": "SM" + "b" * 63}, "MessageSid is longer than 64 characters"),
    ],
    ids=["from", "message-sid"],
)
def test_a_field_longer_than_its_column_is_refused_with_400_and_stores_nothing(
    app: Flask, fields: dict[str, str], reason: str
) -> None:
    answer = signed_sms(app, **fields)
    assert (answer.status_code, answer.get_data(as_text=True)) == (400, reason + "\n")
    assert inbound_count(app) == 0


TEXT = st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00")  # form fields cannot carry NUL
AROUND_A_COLUMN = st.one_of(st.text(TEXT, max_size=20), st.text(TEXT, min_size=60, max_size=120))


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sender=AROUND_A_COLUMN, sid=AROUND_A_COLUMN, body=st.text(TEXT, max_size=3000))
def test_fuzzed_lengths_in_every_field_never_answer_500(app: Flask, sender: str, sid: str, body: str) -> None:
    assert signed_sms(app, From=sender, MessageSid=sid, Body=body).status_code in {200, 400}


# -- the database busy ----------------------------------------------------------------------------------


def test_a_request_that_cannot_get_the_sqlite_lock_in_time_answers_503_with_retry_after(
    app: Flask, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL writers do not wait for one lock")
    other_process = make_engine(database_url)
    try:
        with make_session_factory(other_process).begin() as session:  # a long job holds the write lock
            session.execute(select(func.count()).select_from(Message))
            started = time.monotonic()
            answer = signed_sms(app)
            waited = time.monotonic() - started
            health = app.test_client().get("/healthz")
    finally:
        other_process.dispose()
    assert (answer.status_code, answer.headers.get("Retry-After")) == (503, "5")
    assert waited < 2  # the app's wait for its turn and the lock (0.3 s each here), not the CLI's 10 s
    assert health.status_code == 503
    assert inbound_count(app) == 0
    assert signed_sms(app).status_code == 200  # the lock released: the same message is taken
