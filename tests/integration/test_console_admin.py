"""Administrators manage console accounts; a reset or new account must choose its own password at login."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from servicing.conversations import claim_conversation
from servicing.specialists import Role, password_matches
from servicing.store.models import AuditEntry, Conversation, Specialist
from tests.integration.console_helpers import sessions_of, signed_in, staffed_console
from tests.integration.staffing_helpers import specialist, waiting
from tests.integration.test_console_auth import PASSWORD, csrf_token, log_in

TODAY = "2026-03-20"
USERS = "/console/admin/users/"
NEW_PASSWORD = "my own secret 42"


@pytest.fixture
def app(database_url: str, cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    staff = (("sam", Role.SPECIALIST), ("sue", Role.SUPERVISOR), ("ada", Role.ADMIN))
    with staffed_console(database_url, TODAY, monkeypatch, staff) as app:
        yield app


def new_user(**overrides: object) -> dict[str, object]:
    form: dict[str, object] = {"username": "lucia", "display_name": "Lucía Gómez", "role": "specialist",
                               "locale": "es", "languages": ["en", "es"], "skills": ["general", "loss_mitigation"],
                               "capacity": "4", "temporary_password": "temporary-123"}  # fmt: skip
    form.update(overrides)
    return form


def accounts(app: Flask) -> int:
    with sessions_of(app)() as session:
        return session.scalar(select(func.count()).select_from(Specialist)) or 0


def audited(app: Flask, action: str) -> list[tuple[str, str]]:
    with sessions_of(app)() as session:
        query = select(AuditEntry.actor, AuditEntry.subject_id).where(AuditEntry.action == action)
        return list(session.execute(query.order_by(AuditEntry.id)).tuples().all())


def test_only_an_administrator_opens_the_users_page(app: Flask) -> None:
    assert signed_in(app, "sue").get(USERS).status_code == 403
    page = signed_in(app, "ada").get(USERS).get_data(as_text=True)
    assert 'href="/console/admin/users/sam"' in page and "New user" in page
    assert audited(app, "view")[-1] == ("ada", "-")


def test_a_new_user_must_choose_a_password_before_anything_else(app: Flask) -> None:
    ada = signed_in(app, "ada")
    created = ada.post(USERS, data={**new_user(), "csrf_token": csrf_token(ada, USERS)})
    assert created.headers["Location"].endswith("/console/admin/users/lucia")
    with sessions_of(app)() as session:
        lucia = specialist(session, "lucia")
        assert (lucia.languages, lucia.skills, lucia.capacity, lucia.locale) == (
            ["en", "es"], ["loss_mitigation", "general"], 4, "es")  # fmt: skip
        assert lucia.must_change_password and "temporary-123" not in lucia.password_hash
    assert ("ada", "lucia") in audited(app, "specialist.add")
    client = app.test_client()
    assert log_in(client, "lucia", "temporary-123").headers["Location"].endswith("/console/")
    assert client.get("/console/queue/").headers["Location"].endswith("/console/password")
    token = csrf_token(client, "/console/password")
    same = client.post("/console/password", data={"password": "temporary-123", "repeated": "temporary-123",
                                                  "csrf_token": token})  # fmt: skip
    assert same.status_code == 400 and "different from the one you were given" in same.get_data(as_text=True)
    differ = client.post("/console/password", data={"password": NEW_PASSWORD, "repeated": "other password 1",
                                                    "csrf_token": token})  # fmt: skip
    assert differ.status_code == 400
    chosen = client.post("/console/password", data={"password": NEW_PASSWORD, "repeated": NEW_PASSWORD,
                                                    "csrf_token": token})  # fmt: skip
    assert chosen.headers["Location"].endswith("/console/")
    assert client.get("/console/queue/").status_code == 200
    with sessions_of(app)() as session:
        lucia = specialist(session, "lucia")
        assert not lucia.must_change_password and password_matches(lucia.password_hash, NEW_PASSWORD)
    assert audited(app, "specialist.password_changed") == [("lucia", "lucia")]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"username": "sam"}, "that username is taken"),
        ({"username": "bad name!"}, "Letters, digits"),
        ({"capacity": "99"}, "Not created"),
        ({"languages": ["klingon"]}, "Not created"),
        ({"skills": []}, "Not created"),
        ({"temporary_password": "short"}, "Not created"),
        ({"role": "owner"}, "Not created"),
    ],
)
def test_a_bad_new_user_is_refused_with_a_message_and_nothing_is_created(
    app: Flask, change: dict[str, object], message: str
) -> None:
    ada = signed_in(app, "ada")
    before = accounts(app)
    response = ada.post(USERS, data={**new_user(**change), "csrf_token": csrf_token(ada, USERS)})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert accounts(app) == before


def test_a_reset_ends_the_sessions_and_forces_a_new_password(app: Flask) -> None:
    sam = signed_in(app, "sam")
    ada = signed_in(app, "ada")
    page = "/console/admin/users/sam"
    ada.post(page + "/password", data={"temporary_password": "reset-pass-1", "csrf_token": csrf_token(ada, page)})
    assert sam.get("/console/queue/").status_code == 302  # the old session ended
    with sessions_of(app)() as session:
        assert specialist(session, "sam").must_change_password
    assert log_in(app.test_client(), "sam", PASSWORD).status_code == 401
    client = app.test_client()
    log_in(client, "sam", "reset-pass-1")
    assert client.get("/console/loans/").headers["Location"].endswith("/console/password")
    assert audited(app, "specialist.password_reset") == [("ada", "sam")]


def test_changing_a_profile_is_audited_and_a_bad_capacity_changes_nothing(app: Flask) -> None:
    ada = signed_in(app, "ada")
    page = "/console/admin/users/sam"
    form = {"display_name": "Sam Smith", "role": "supervisor", "locale": "fr", "languages": ["en", "fr"],
            "skills": ["disputes"], "capacity": "6"}  # fmt: skip
    bad = ada.post(page, data={**form, "capacity": "-1", "csrf_token": csrf_token(ada, page)})
    assert bad.status_code == 400
    with sessions_of(app)() as session:
        assert (specialist(session, "sam").capacity, specialist(session, "sam").role) == (3, "specialist")
    ada.post(page, data={**form, "csrf_token": csrf_token(ada, page)})
    with sessions_of(app)() as session:
        sam = specialist(session, "sam")
        assert (sam.display_name, sam.role, sam.skills, sam.capacity) == ("Sam Smith", "supervisor", ["disputes"], 6)
    assert audited(app, "specialist.changed") == [("ada", "sam")]
    alone = ada.post("/console/admin/users/ada", data={**form, "csrf_token": csrf_token(ada, page)})
    assert "at least one active administrator" in alone.get_data(as_text=True)


def test_deactivating_hands_back_what_the_person_held_and_refuses_oneself(app: Flask) -> None:
    held = waiting(sessions_of(app), "+15550000061")
    with sessions_of(app).begin() as session:
        claim_conversation(session, held, "sam", datetime.now(UTC))
    ada = signed_in(app, "ada")
    page = "/console/admin/users/sam"
    done = ada.post(page + "/deactivate", data={"csrf_token": csrf_token(ada, page)}, follow_redirects=True)
    assert "sam is deactivated; 1 conversation went back to the queue." in done.get_data(as_text=True)
    with sessions_of(app)() as session:
        assert session.get_one(Conversation, held).state == "queued"
        assert not specialist(session, "sam").active
    assert log_in(app.test_client(), "sam").status_code == 401
    own = ada.post("/console/admin/users/ada/deactivate", data={"csrf_token": csrf_token(ada, page)},
                   follow_redirects=True)  # fmt: skip
    assert "you cannot deactivate your own account" in own.get_data(as_text=True)
    ada.post(page + "/reactivate", data={"csrf_token": csrf_token(ada, page)})
    assert log_in(app.test_client(), "sam").status_code == 302
    assert audited(app, "specialist.deactivated") == [("ada", "sam")]
    assert audited(app, "specialist.reactivated") == [("ada", "sam")]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fields=st.dictionaries(st.sampled_from(sorted(new_user())), st.text(max_size=40), max_size=8))
def test_a_fuzzed_new_user_form_never_fails_and_creates_nothing_half_written(
    app: Flask, fields: dict[str, str]
) -> None:
    if "tests.fuzz" not in app.extensions:  # once per app: hypothesis calls the test many times with one fixture
        admin = signed_in(app, "ada")
        app.extensions["tests.fuzz"] = (admin, csrf_token(admin, USERS))
    client, token = app.extensions["tests.fuzz"]
    before = accounts(app)
    answer = client.post(USERS, data={**fields, "csrf_token": token})
    assert answer.status_code in (302, 400)
    assert accounts(app) == before + (1 if answer.status_code == 302 else 0)


def test_no_id_repeats_on_the_users_pages(app: Flask) -> None:
    ada = signed_in(app, "ada")
    for path in (USERS, USERS + "sam"):
        ids = re.findall(r'\sid="([^"]+)"', ada.get(path).get_data(as_text=True))
        assert len(ids) == len(set(ids)), path
