"""The console's queue: who waits for a person and in which order, one-click claims that exactly one person wins."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from console.queue.labels import Words
from servicing.conversations import EscalationReason, claim_conversation, escalate, record_inbound
from servicing.store.models import AuditEntry, Conversation
from tests.integration.console_helpers import sessions_of, signed_in, staffed_console
from tests.integration.test_console_auth import csrf_token

TODAY = "2026-03-20"
CLAIM_FORM = re.compile(r'action="/console/queue/(\d+)/claim"')


@pytest.fixture
def app(database_url: str, cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    with staffed_console(database_url, TODAY, monkeypatch) as app:
        yield app


def waiting(
    app: Flask,
    reason: EscalationReason,
    *,
    address: str,
    minutes_ago: float,
    channel: str = "sms",
    body: str = "I need a person",
    locale: str | None = None,
) -> int:
    """Put a conversation in the queue as if the borrower wrote `minutes_ago` and the bot escalated it."""
    now = datetime.now(UTC)
    at = now - timedelta(minutes=minutes_ago)
    with sessions_of(app).begin() as session:
        inbound = record_inbound(session, channel, address, body, provider_id=f"P{address}{minutes_ago}", now=at)
        if locale:
            inbound.conversation.locale = locale
        escalate(session, inbound.conversation, reason, at)
        return inbound.conversation.id


def claim(client: FlaskClient, conversation_id: int, token: str | None = None) -> object:
    """Click the claim button of a conversation."""
    return client.post(f"/console/queue/{conversation_id}/claim",
                       data={"csrf_token": token or csrf_token(client, "/console/queue/")})  # fmt: skip


def queue_order(page: str) -> list[int]:
    """Return the conversation ids in the order the queue page lists them."""
    return [int(number) for number in CLAIM_FORM.findall(page)]


def test_the_queue_lists_the_highest_priority_first_then_the_longest_wait(app: Flask) -> None:
    asked_recent = waiting(app, EscalationReason.ASKED, address="+15550000001", minutes_ago=30)
    sensitive = waiting(app, EscalationReason.SENSITIVE, address="+15550000002", minutes_ago=5)
    asked_long = waiting(app, EscalationReason.ASKED, address="+15550000003", minutes_ago=50)
    held = waiting(app, EscalationReason.HARDSHIP, address="+15550000004", minutes_ago=70)
    with sessions_of(app).begin() as session:
        claim_conversation(session, held, "ana", datetime.now(UTC))
        record_inbound(session, "sms", "+15550000005", "balance", provider_id="bot-only", now=datetime.now(UTC))
    page = signed_in(app, "sam").get("/console/queue/").get_data(as_text=True)
    assert queue_order(page) == [sensitive, asked_long, asked_recent]
    assert "Waiting for a person: 3." in page


def test_each_line_shows_channel_language_reason_wait_and_sla(app: Flask) -> None:
    waiting(app, EscalationReason.HARDSHIP, address="+15550000011", minutes_ago=45, locale="es_US")
    waiting(app, EscalationReason.ASKED, address="777000111", minutes_ago=50, channel="telegram", locale="fr")
    waiting(app, EscalationReason.DISPUTE, address="+15550000013", minutes_ago=2)
    page = signed_in(app, "sam").get("/console/queue/").get_data(as_text=True)
    rows = re.findall(r"<tr class=\"sla-(\w+)\">(.*?)</tr>", page, re.S)
    hardship, dispute, asked = rows  # hardship and dispute share a priority above "asked"
    assert hardship[0] == "breached" and all(word in hardship[1] for word in ("Hardship", "Español (es_US)", "45 min"))
    assert dispute[0] == "ok" and all(word in dispute[1] for word in ("Dispute", "SMS", "2 min"))
    assert asked[0] == "at_risk" and all(word in asked[1] for word in ("Telegram", "Français (fr)", "50 min"))
    assert "+15550000011" not in page  # addresses are masked
    assert "sms:…0011" in page


def test_a_claim_opens_the_conversation_and_the_second_claimant_is_told(app: Flask) -> None:
    conversation_id = waiting(app, EscalationReason.ASKED, address="+15550000021", minutes_ago=3)
    sam, ana = signed_in(app, "sam"), signed_in(app, "ana")
    sam_token, ana_token = csrf_token(sam, "/console/queue/"), csrf_token(ana, "/console/queue/")
    won = claim(sam, conversation_id, sam_token)
    lost = claim(ana, conversation_id, ana_token)
    assert won.headers["Location"] == f"/console/conversations/{conversation_id}"  # type: ignore[attr-defined]
    assert lost.headers["Location"] == "/console/queue/"  # type: ignore[attr-defined]
    told = ana.get("/console/queue/").get_data(as_text=True)
    assert "Too late: someone else claimed it first." in told
    with sessions_of(app)() as session:
        conversation = session.get_one(Conversation, conversation_id)
        assert (conversation.state, conversation.assigned_to) == ("assigned", "sam")
    assert queue_order(told) == []


@pytest.mark.postgres
def test_two_specialists_clicking_claim_at_once_exactly_one_wins(app: Flask, database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrent claims are checked on PostgreSQL, where console workers run side by side")
    conversation_id = waiting(app, EscalationReason.ASKED, address="+15550000031", minutes_ago=3)
    clients = {name: signed_in(app, name) for name in ("sam", "ana")}
    tokens = {name: csrf_token(client, "/console/queue/") for name, client in clients.items()}
    start, outcomes = threading.Barrier(2), {}

    def click(name: str) -> None:
        start.wait()
        response = claim(clients[name], conversation_id, tokens[name])
        outcomes[name] = response.headers["Location"]  # type: ignore[attr-defined]

    threads = [threading.Thread(target=click, args=(name,)) for name in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes.values()) == sorted([f"/console/conversations/{conversation_id}", "/console/queue/"])
    winner = next(name for name, where in outcomes.items() if where != "/console/queue/")
    with sessions_of(app)() as session:
        assert session.get_one(Conversation, conversation_id).assigned_to == winner
        claims = session.scalars(select(AuditEntry.actor).where(AuditEntry.action == "conversation.claimed")).all()
    assert claims == [winner]


def test_my_conversations_lists_only_what_i_hold(app: Flask) -> None:
    mine = waiting(app, EscalationReason.DISPUTE, address="+15550000041", minutes_ago=10)
    theirs = waiting(app, EscalationReason.ASKED, address="+15550000042", minutes_ago=10)
    waiting(app, EscalationReason.ASKED, address="+15550000043", minutes_ago=1)
    with sessions_of(app).begin() as session:
        claim_conversation(session, mine, "sam", datetime.now(UTC))
        claim_conversation(session, theirs, "ana", datetime.now(UTC))
    page = signed_in(app, "sam").get("/console/queue/mine").get_data(as_text=True)
    assert f"/console/conversations/{mine}" in page
    assert f"/console/conversations/{theirs}" not in page
    assert "Conversations you hold: 1." in page


def test_viewing_the_queue_and_claiming_are_audited(app: Flask) -> None:
    conversation_id = waiting(app, EscalationReason.ASKED, address="+15550000051", minutes_ago=3)
    sam = signed_in(app, "sam")
    claim(sam, conversation_id)
    with sessions_of(app)() as session:
        rows = session.execute(
            select(AuditEntry.actor, AuditEntry.action, AuditEntry.subject_type, AuditEntry.subject_id)
            .where(AuditEntry.actor == "sam", AuditEntry.action != "login")
            .order_by(AuditEntry.id)
        ).all()
    assert [tuple(row) for row in rows] == [
        ("sam", "view", "queue", "-"),
        ("sam", "conversation.claimed", "conversation", str(conversation_id)),
    ]


FORMS = ("/console/queue/{id}/claim", "/console/conversations/{id}/reply", "/console/conversations/{id}/note",
         "/console/conversations/{id}/resolve", "/console/conversations/{id}/unassign",
         "/console/conversations/{id}/transfer")  # fmt: skip
PAGES = ("/console/queue/", "/console/queue/mine", "/console/conversations/{id}",
         "/console/conversations/{id}/messages?after=0")  # fmt: skip


def test_every_form_without_the_csrf_token_is_refused_and_changes_nothing(app: Flask) -> None:
    conversation_id = waiting(app, EscalationReason.ASKED, address="+15550000061", minutes_ago=3)
    sam = signed_in(app, "sam")
    for form in FORMS:
        path = form.format(id=conversation_id)
        assert sam.post(path, data={"body": "hi", "to": "ana"}).status_code == 400, path
    with sessions_of(app)() as session:
        assert session.get_one(Conversation, conversation_id).state == "queued"


def test_strangers_are_sent_to_log_in_and_specialists_may_use_every_page(app: Flask) -> None:
    conversation_id = waiting(app, EscalationReason.ASKED, address="+15550000071", minutes_ago=3)
    stranger = app.test_client()
    token = csrf_token(stranger)
    for path in (*PAGES, *FORMS):
        url = path.format(id=conversation_id)
        response = stranger.get(url) if path in PAGES else stranger.post(url, data={"csrf_token": token})
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/console/login"), url
    sam = signed_in(app, "sam")
    for path in PAGES:
        assert sam.get(path.format(id=conversation_id)).status_code == 200, path


def test_the_queue_page_links_from_the_navigation(app: Flask) -> None:
    page = signed_in(app, "sam").get("/console/").get_data(as_text=True)
    assert 'href="/console/queue/"' in page
    assert 'href="/console/queue/mine"' in page


@pytest.mark.parametrize(
    ("waited", "shown"),
    [
        (timedelta(seconds=59), "0 min"),
        (timedelta(minutes=59), "59 min"),
        (timedelta(hours=1, minutes=5), "1 h 05 min"),
        (timedelta(hours=47, minutes=59), "47 h 59 min"),
        (timedelta(days=253, hours=16, minutes=9), "253 d 16 h"),
    ],
)
def test_a_wait_reads_in_minutes_then_hours_then_days(app: Flask, waited: timedelta, shown: str) -> None:
    with app.test_request_context():
        assert Words.duration(waited) == shown
