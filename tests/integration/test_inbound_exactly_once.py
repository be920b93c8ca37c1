"""Every inbound SMS stored exactly once and answered: real gunicorn workers racing, connections dropped."""

from __future__ import annotations

import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from servicing.store.models import Conversation, Message
from tests.conftest import POSTGRES_URL, named_connections
from tests.live_gunicorn import Answer, LiveApp, serve_with_gunicorn

PAIRS = 60
TWILIO_NUMBER = "+15550001111"


def sms_form(sender: str, body: str) -> dict[str, str]:
    """Return the form Twilio posts for an inbound SMS, with a MessageSid of its own."""
    return {"MessageSid": "SM" + uuid.uuid4().hex, "AccountSid": "AC" + "0" * 32, "From": sender,
            "To": TWILIO_NUMBER, "Body": body, "NumMedia": "0"}  # fmt: skip


def post_at_once(app: LiveApp, forms: list[dict[str, str]]) -> list[Answer]:
    """Post the forms to the SMS webhook from one thread each, released at the same moment."""
    answers: list[Answer] = []
    start = threading.Barrier(len(forms))

    def post(form: dict[str, str]) -> None:
        start.wait()
        answers.append(app.post_signed("/sms/twilio", form))

    threads = [threading.Thread(target=post, args=(form,)) for form in forms]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def replies_in(answer: Answer) -> list[str]:
    """Return the texts of a TwiML answer's <Message> elements."""
    return [element.text or "" for element in ET.fromstring(answer.body).findall("Message")]


def stored_sids(sessions: sessionmaker[Session]) -> Counter[str]:
    """Return how many times each inbound MessageSid is stored."""
    with sessions() as session:
        query = select(Message.provider_id).where(Message.channel == "sms", Message.direction == "in")
        return Counter(sid for sid in session.scalars(query) if sid)


def test_simultaneous_first_messages_from_new_numbers_are_all_stored_once_and_answered(
    database_url: str, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    pairs = [[sms_form(f"+1555200{n:04d}", "hello"), sms_form(f"+1555200{n:04d}", "balance")] for n in range(PAIRS)]
    with serve_with_gunicorn(database_url, tmp_path, workers=3) as app:
        answers = [answer for pair in pairs for answer in post_at_once(app, pair)]
        errors = app.logged_errors()
    assert Counter(answer.status for answer in answers) == {200: 2 * PAIRS}, errors[:5]
    assert all(replies_in(answer) for answer in answers)
    assert stored_sids(sessions) == Counter(form["MessageSid"] for pair in pairs for form in pair)
    with sessions() as session:
        per_number = session.execute(select(Conversation.address, func.count()).group_by(Conversation.address))
        assert dict(per_number.all()) == {pair[0]["From"]: 1 for pair in pairs}


def test_a_worker_waiting_for_the_database_answers_other_requests_meanwhile(
    database_url: str, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    # gunicorn.conf.py serves on threads: one worker, its first request held by a lock the test keeps, still
    # answers a second request at once, and the held message is stored and answered once the lock goes
    form = sms_form("+15552009999", "balance")
    held: list[Answer] = []
    with serve_with_gunicorn(database_url, tmp_path, workers=1) as app, sessions() as blocker:
        if blocker.bind.dialect.name == "postgresql":
            blocker.execute(text("LOCK TABLE inbound_receipts IN SHARE MODE"))  # an INSERT waits for it
        else:
            blocker.execute(select(func.count()).select_from(Message))  # the writer's turn (BEGIN IMMEDIATE)
        waiting = threading.Thread(target=lambda: held.append(app.post_signed("/sms/twilio", form)))
        waiting.start()
        time.sleep(0.5)  # the webhook reaches the lock
        assert waiting.is_alive(), "the webhook waits for the lock"
        started = time.monotonic()
        meanwhile = app.get("/static/console.css", timeout=10)
        answered_in = time.monotonic() - started
        still_waiting = waiting.is_alive()
        blocker.rollback()
        waiting.join(timeout=30)
        errors = app.logged_errors()
    assert meanwhile.status == 200 and still_waiting
    assert answered_in < 1.0, f"the page waited {answered_in:.2f} s for the held request"
    assert [answer.status for answer in held] == [200] and replies_in(held[0]), errors[:5]
    assert stored_sids(sessions) == Counter([form["MessageSid"]])


# -- the database goes away ---------------------------------------------------------------------------


def end_the_apps_connections(application_name: str) -> int:
    """Terminate the server processes of this test's app (as a restart or failover would); return how many."""
    admin = create_engine(POSTGRES_URL or "")
    try:
        with admin.begin() as connection:
            ended = connection.execute(
                text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = :name"),
                {"name": application_name},
            )
            return int(ended.scalar_one())
    finally:
        admin.dispose()


@pytest.mark.postgres
def test_no_message_is_lost_when_the_database_ends_every_connection_mid_run(
    database_url: str, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("a SQLite file has no server to end connections")
    application_name = f"loanline-{uuid.uuid4().hex[:12]}"
    forms = [sms_form(f"+1555300{n % 6:04d}", f"hello {n}") for n in range(120)]
    answers: list[Answer] = []
    ended = 0
    with serve_with_gunicorn(named_connections(database_url, application_name), tmp_path) as app:
        for round_start in range(0, len(forms), 4):
            batch = forms[round_start : round_start + 4]
            if round_start % 40 == 20:  # between two rounds: each worker's pooled connection is dead when used
                ended += end_the_apps_connections(application_name)
                answers.extend(post_at_once(app, batch))
            elif round_start % 40 == 0 and round_start:  # during a round: requests lose it mid-transaction
                killer = threading.Timer(0.01, lambda: end_the_apps_connections(application_name))
                killer.start()
                answers.extend(post_at_once(app, batch))
                killer.join()
            else:
                answers.extend(post_at_once(app, batch))
        errors = app.logged_errors()
    assert ended >= 3  # the workers' pooled connections were ended, round after round
    assert Counter(answer.status for answer in answers) == {200: len(forms)}, errors[:5]
    assert all(replies_in(answer) for answer in answers)
    assert stored_sids(sessions) == Counter(form["MessageSid"] for form in forms)
