"""Logging in to the console: hashed passwords, one failure message, lockout, rate limit, timeout, audit, the CLI."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from console import create_app
from loanline.cli import main
from servicing.specialists import (
    LOCKED_FOR,
    MAX_FAILED_LOGINS,
    LoginFailed,
    Role,
    SpecialistExists,
    add_demo_specialists,
    add_specialist,
    authenticate,
)
from servicing.store.models import AuditEntry, Specialist

PASSWORD = "correct horse battery"
WRONG = "wrong password 1"
CSRF_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')
ERROR = re.compile(r'<p class="error" role="alert">(.*?)</p>')


def make_console(database_url: str, **config: Any) -> Flask:
    """Return a console app on the test database (the environment comes from the `cli_env` fixture)."""
    return create_app({"DATABASE_URL": database_url, "TESTING": True, **config})


def dispose(app: Flask) -> None:
    """Close the app's database connections."""
    app.extensions["loanline.sessions"].kw["bind"].dispose()


def create_specialist(app: Flask, username: str, role: Role = Role.SPECIALIST, locale: str = "en") -> None:
    """Add a specialist with the tests' password."""
    with app.extensions["loanline.sessions"]() as session:
        add_specialist(session, username, PASSWORD, role, display_name=username.title(), locale=locale, actor="test")
        session.commit()


def csrf_token(client: FlaskClient, path: str = "/console/login") -> str:
    """Return the CSRF token of the client's session, read from a form page."""
    page = client.get(path).get_data(as_text=True)
    match = CSRF_FIELD.search(page)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


def log_in(client: FlaskClient, username: str, password: str = PASSWORD, *, token: str | None = None) -> TestResponse:
    """Submit the login form as a browser would."""
    data = {"username": username, "password": password, "csrf_token": token or csrf_token(client)}
    return client.post("/console/login", data=data)


def error_of(response: TestResponse) -> str:
    """Return the error the login page shows."""
    match = ERROR.search(response.get_data(as_text=True))
    assert match, "no error on the page"
    return match.group(1)


def audit_rows(app: Flask, action: str | None = None) -> list[AuditEntry]:
    """Return the audit entries, optionally of one action."""
    query = select(AuditEntry).order_by(AuditEntry.id)
    if action:
        query = query.where(AuditEntry.action == action)
    with app.extensions["loanline.sessions"]() as session:
        return list(session.scalars(query))


@pytest.fixture
def app(database_url: str, cli_env: dict[str, str]) -> Iterator[Flask]:
    app = make_console(database_url)
    create_specialist(app, "sam")
    yield app
    dispose(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def sessions(app: Flask) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = app.extensions["loanline.sessions"]
    return factory


def test_a_specialist_logs_in_and_sees_the_home_page(client: FlaskClient) -> None:
    response = log_in(client, "sam")
    assert response.status_code == 302
    assert response.headers["Location"] == "/console/"
    home = client.get("/console/")
    assert home.status_code == 200
    assert "Signed in as Sam (Specialist)" in home.get_data(as_text=True)


def test_the_password_is_stored_only_as_a_hash(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        stored = session.scalars(select(Specialist.password_hash)).one()
    assert PASSWORD not in stored
    assert stored.startswith(("scrypt:", "pbkdf2:"))


def test_unknown_user_and_wrong_password_fail_identically(client: FlaskClient) -> None:
    unknown = log_in(client, "nobody", PASSWORD)
    wrong = log_in(client, "sam", WRONG)
    assert unknown.status_code == wrong.status_code == 401
    assert error_of(unknown) == error_of(wrong) == "Invalid username or password."


def test_five_failures_lock_the_account_even_against_the_right_password(client: FlaskClient) -> None:
    for _ in range(MAX_FAILED_LOGINS):
        assert log_in(client, "sam", WRONG).status_code == 401
    locked = log_in(client, "sam", PASSWORD)
    assert locked.status_code == 401
    assert error_of(locked) == "Invalid username or password."
    assert client.get("/console/").status_code == 302


def test_the_lock_lifts_after_fifteen_minutes(sessions: sessionmaker[Session]) -> None:
    now = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
    with sessions() as session:
        for _ in range(MAX_FAILED_LOGINS):
            with pytest.raises(LoginFailed):
                authenticate(session, "sam", WRONG, now, source="test")
        session.commit()
    with sessions() as session, pytest.raises(LoginFailed):
        authenticate(session, "sam", PASSWORD, now + LOCKED_FOR - timedelta(seconds=1), source="test")
    with sessions() as session:
        assert authenticate(session, "sam", PASSWORD, now + LOCKED_FOR, source="test").username == "sam"


def test_a_success_resets_the_failure_count(sessions: sessionmaker[Session]) -> None:
    now = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
    with sessions() as session:
        for _ in range(MAX_FAILED_LOGINS - 1):
            with pytest.raises(LoginFailed):
                authenticate(session, "sam", WRONG, now, source="test")
        authenticate(session, "sam", PASSWORD, now, source="test")
        with pytest.raises(LoginFailed):
            authenticate(session, "sam", WRONG, now, source="test")
        assert authenticate(session, "sam", PASSWORD, now, source="test").failed_logins == 0


def test_logins_and_failures_are_audited_without_passwords(app: Flask, client: FlaskClient) -> None:
    log_in(client, "sam", WRONG)
    log_in(client, PASSWORD, WRONG)  # a password typed into the username field
    log_in(client, "sam", PASSWORD)
    rows = [(row.actor, row.action, row.detail.get("why")) for row in audit_rows(app) if row.action.startswith("login")]
    assert rows == [("sam", "login.failed", "password"), ("-", "login.failed", "unknown"), ("sam", "login", None)]
    everything = repr([(row.actor, row.action, row.subject_id, row.detail) for row in audit_rows(app)])
    assert PASSWORD not in everything
    assert WRONG not in everything


def test_viewing_the_home_page_is_audited(app: Flask, client: FlaskClient) -> None:
    log_in(client, "sam")
    client.get("/console/")
    views = audit_rows(app, "view")
    assert [(row.actor, row.subject_type, row.detail["path"]) for row in views] == [("sam", "portfolio", "/console/")]


def test_logout_is_a_post_that_ends_the_session_and_is_audited(app: Flask, client: FlaskClient) -> None:
    log_in(client, "sam")
    token = csrf_token(client, "/console/")
    assert client.get("/console/logout").status_code == 405
    response = client.post("/console/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert client.get("/console/").status_code == 302
    assert [row.actor for row in audit_rows(app, "logout")] == ["sam"]


def test_a_copy_of_the_session_cookie_is_refused_after_logout(app: Flask, client: FlaskClient) -> None:
    log_in(client, "sam")
    copied = client.get_cookie("session")
    assert copied is not None
    elsewhere = app.test_client()  # the same cookie in another browser: a second session of sam
    elsewhere.set_cookie("session", copied.value)
    assert elsewhere.get("/console/").status_code == 200
    client.post("/console/logout", data={"csrf_token": csrf_token(client, "/console/")})
    client.set_cookie("session", copied.value)  # the browser puts the old cookie back
    assert client.get("/console/").status_code == 302
    assert elsewhere.get("/console/").status_code == 302  # logging out ends every session of that specialist
    log_in(client, "sam")
    assert client.get("/console/").status_code == 200  # a new login starts a new generation


@pytest.mark.parametrize(
    "elsewhere",
    [{"REMOTE_ADDR": "203.0.113.9"}, {"HTTP_USER_AGENT": "Mozilla/5.0 (another browser)"}],
    ids=["another address", "another browser"],
)
def test_a_session_cookie_used_from_another_address_or_browser_is_logged_out(
    app: Flask, client: FlaskClient, elsewhere: dict[str, str]
) -> None:
    office = {"REMOTE_ADDR": "10.0.0.7", "HTTP_USER_AGENT": "Mozilla/5.0 (the specialist's browser)"}
    client.environ_base.update(office)
    log_in(client, "sam")
    assert client.get("/console/").status_code == 200
    stolen = client.get_cookie("session")
    assert stolen is not None
    thief = app.test_client()
    thief.environ_base.update(office | elsewhere)
    thief.set_cookie("session", stolen.value)

    refused = thief.get("/console/")

    assert refused.status_code == 302
    assert refused.headers["Location"].startswith("/console/login")
    assert thief.get("/console/").status_code == 302  # the session it carried is gone, not just refused once
    assert client.get("/console/").status_code == 200  # the specialist's own browser keeps its session
    [entry] = audit_rows(app, "session.refused")
    assert (entry.actor, entry.detail["why"]) == ("sam", "client changed")


def test_an_idle_session_expires_after_thirty_minutes(app: Flask, client: FlaskClient) -> None:
    assert app.permanent_session_lifetime == timedelta(minutes=30)
    log_in(client, "sam")
    with client.session_transaction() as session:
        assert session.permanent
        session["last_seen"] -= 29 * 60
    assert client.get("/console/").status_code == 200  # activity restarts the clock
    with client.session_transaction() as session:
        session["last_seen"] -= 31 * 60
    expired = client.get("/console/")
    assert expired.status_code == 302
    assert expired.headers["Location"].startswith("/console/login")
    assert "Your session expired" in client.get("/console/login").get_data(as_text=True)
    assert client.get("/console/").status_code == 302


def test_a_deactivated_specialist_is_logged_out(
    app: Flask, client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    log_in(client, "sam")
    with sessions() as session:
        session.scalars(select(Specialist)).one().active = False
        session.commit()
    assert client.get("/console/").status_code == 302


def test_login_attempts_are_rate_limited_per_address(database_url: str, cli_env: dict[str, str]) -> None:
    app = make_console(database_url, LOGIN_ATTEMPTS_PER_WINDOW=3)
    try:
        create_specialist(app, "sam")
        client = app.test_client()
        token = csrf_token(client)
        for _ in range(3):
            assert log_in(client, "sam", WRONG, token=token).status_code == 401
        limited = log_in(client, "sam", PASSWORD, token=token)
        assert limited.status_code == 429
        assert error_of(limited) == "Too many attempts. Try again later."
        other = app.test_client()
        address = {"REMOTE_ADDR": "10.0.0.9"}
        page = other.get("/console/login", environ_base=address).get_data(as_text=True)
        match = CSRF_FIELD.search(page)
        assert match
        data = {"username": "sam", "password": PASSWORD, "csrf_token": match.group(1) or match.group(2)}
        assert other.post("/console/login", data=data, environ_base=address).status_code == 302
    finally:
        dispose(app)


def test_next_only_leads_inside_the_console(client: FlaskClient) -> None:
    token = csrf_token(client)
    data = {"username": "sam", "password": PASSWORD, "csrf_token": token}
    response = client.post("/console/login?next=https://evil.example/", data=data)
    assert response.headers["Location"] == "/console/"


def test_the_same_username_cannot_be_added_twice(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, pytest.raises(SpecialistExists):
        add_specialist(session, "SAM", PASSWORD, Role.ADMIN)


# -- loanline specialist add -----------------------------------------------------------------------------


def test_specialist_add_asks_for_the_password_twice(app: Flask, cli_env: dict[str, str]) -> None:
    result = CliRunner().invoke(
        main, ["specialist", "add", "Ana", "--role", "supervisor", "--locale", "es"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    assert "Specialist ana added (supervisor)." in result.output
    assert PASSWORD not in result.output
    client = app.test_client()
    assert log_in(client, "ana").status_code == 302
    assert [row.actor for row in audit_rows(app, "specialist.add")] == ["test", "cli"]


def test_specialist_add_refuses_mismatched_passwords(cli_env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["specialist", "add", "bo"], input=f"{PASSWORD}\nsomething else\n")
    assert result.exit_code != 0
    assert "do not match" in result.output


def test_specialist_add_reads_the_password_from_stdin_for_scripts(app: Flask, cli_env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["specialist", "add", "cy", "--role", "admin", "--password-stdin"],
                                input=f"{PASSWORD}\n")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert log_in(app.test_client(), "cy").status_code == 302


def test_specialist_add_exits_1_when_the_user_exists(cli_env: dict[str, str], app: Flask) -> None:
    result = CliRunner().invoke(main, ["specialist", "add", "sam", "--password-stdin"], input=f"{PASSWORD}\n")
    assert result.exit_code == 1
    assert "already exists" in result.output


def test_specialist_add_refuses_a_short_password(cli_env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["specialist", "add", "dee", "--password-stdin"], input="short\n")
    assert result.exit_code == 1
    assert "at least 8 characters" in result.output


def test_the_demo_has_one_login_per_role_with_stable_passwords(database_url: str, cli_env: dict[str, str]) -> None:
    app = make_console(database_url)
    try:
        sessions = app.extensions["loanline.sessions"]
        with sessions() as session:
            first = add_demo_specialists(session, "instance secret")
            session.commit()
        with sessions() as session:
            assert add_demo_specialists(session, "instance secret") == first
        assert [role for _, role, _ in first] == list(Role)
        for username, _, password in first:
            assert log_in(app.test_client(), username, password).status_code == 302
    finally:
        dispose(app)
