"""Assignment in the console: presence, filters, saved views, bulk actions, the team page and the transfer picker."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from servicing.conversations import EscalationReason, claim_conversation, record_inbound
from servicing.specialists import Role
from servicing.store.models import AuditEntry, Conversation, Message, SavedQueueView
from tests.integration.console_helpers import sessions_of, signed_in, staffed_console
from tests.integration.staffing_helpers import specialist, waiting
from tests.integration.test_console_auth import csrf_token

TODAY = "2026-03-20"
QUEUE = "/console/queue/"
CLAIM_FORM = re.compile(r'action="/console/queue/(\d+)/claim"')
ID = re.compile(r'\sid="([^"]+)"')
SEEN = re.compile(r'name="seen-(\d+)" value="([^"]*)"')


@pytest.fixture
def app(database_url: str, cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    staff = (("sam", Role.SPECIALIST), ("ana", Role.SPECIALIST), ("sue", Role.SUPERVISOR))
    with staffed_console(database_url, TODAY, monkeypatch, staff) as app:
        yield app


def profile(app: Flask, username: str, **values: object) -> None:
    with sessions_of(app).begin() as session:
        person = specialist(session, username)
        for name, value in values.items():
            setattr(person, name, value)


def conversation(app: Flask, conversation_id: int) -> Conversation:
    with sessions_of(app)() as session:
        return session.get_one(Conversation, conversation_id)


def set_status(client: FlaskClient, presence: str) -> str:
    form = {"presence": presence, "csrf_token": csrf_token(client, QUEUE)}
    response = client.post("/console/queue/presence", data=form, follow_redirects=True)
    return response.get_data(as_text=True)


def listed(client: FlaskClient, query: str = "") -> list[int]:
    return [int(number) for number in CLAIM_FORM.findall(client.get(QUEUE + query).get_data(as_text=True))]


def actions(app: Flask, action: str) -> list[tuple[str, str]]:
    with sessions_of(app)() as session:
        query = select(AuditEntry.actor, AuditEntry.subject_id).where(AuditEntry.action == action)
        return list(session.execute(query.order_by(AuditEntry.id)).tuples().all())


def test_a_specialist_who_becomes_available_gets_the_waiting_conversation_and_loses_it_going_offline(
    app: Flask,
) -> None:
    profile(app, "sam", languages=["en", "es"], capacity=2)
    spanish = waiting(sessions_of(app), "+15550000001", EscalationReason.HARDSHIP, locale="es_US")
    profile(app, "sam", skills=["general", "loss_mitigation"])
    sam = signed_in(app, "sam")
    page = set_status(sam, "available")
    assert "Your status: Available." in page
    assert (conversation(app, spanish).state, conversation(app, spanish).assigned_to) == ("assigned", "sam")
    assert actions(app, "conversation.assigned") == [("assignment", str(spanish))]
    page = set_status(sam, "offline")
    assert "Back in the queue: 1 conversation you had not answered." in page
    assert conversation(app, spanish).state == "queued"


def test_handing_back_one_conversation_is_said_in_the_singular_in_french_too(app: Flask) -> None:
    profile(app, "sam", languages=["en"], skills=["general"])
    waiting(sessions_of(app), "+15550000091")
    sam = signed_in(app, "sam")
    set_status(sam, "available")
    profile(app, "sam", locale="fr")
    page = html.unescape(set_status(sam, "offline"))
    assert "De retour dans la file : 1 conversation à laquelle vous n'aviez pas répondu." in page


def test_the_nav_counts_the_conversations_the_specialist_holds_on_every_page(app: Flask) -> None:
    sessions = sessions_of(app)
    first, second = waiting(sessions, "+15550000101"), waiting(sessions, "+15550000102")
    sam = signed_in(app, "sam")
    assert ">My conversations</a>" in sam.get("/console/").get_data(as_text=True)
    with sessions.begin() as session:
        claim_conversation(session, first, "sam", datetime.now(UTC))
        claim_conversation(session, second, "sam", datetime.now(UTC))
    for path in ("/console/", "/console/loans/?q=LN", "/console/reports/"):
        assert ">My conversations (2)</a>" in sam.get(path).get_data(as_text=True), path
    assert ">My conversations</a>" in signed_in(app, "ana").get("/console/").get_data(as_text=True)  # only one's own


def test_an_unknown_presence_is_refused_and_changes_nothing(app: Flask) -> None:
    sam = signed_in(app, "sam")
    page = set_status(sam, "asleep")
    assert "Not done: choose available, away or offline." in page
    with sessions_of(app)() as session:
        assert specialist(session, "sam").presence == "offline"


STATUS_FORM = re.compile(
    r'<form method="post" action="/console/queue/presence" class="my-status" id="status" data-presence="(\w+)">'
    r'.*?<input type="hidden" name="next" value="([^"]*)">'
    r'.*?<select id="status-presence" name="presence">(.*?)</select>',
    re.S,
)


@pytest.mark.parametrize("path", ["/console/", "/console/loans/?q=LN", "/console/search/?q=x", "/console/queue/mine",
                                  "/console/reports/", "/console/notifications/"])  # fmt: skip
def test_every_page_carries_the_status_in_its_header_and_setting_it_comes_back_to_that_page(
    app: Flask, path: str
) -> None:
    sam = signed_in(app, "sam")
    shown = STATUS_FORM.search(sam.get(path).get_data(as_text=True))
    assert shown is not None, path
    presence, back, options = shown.groups()
    assert (presence, back) == ("offline", path)
    assert '<option value="offline" selected>Offline</option>' in options
    form = {"presence": "away", "next": back, "csrf_token": csrf_token(sam, path)}
    answer = sam.post("/console/queue/presence", data=form)
    assert answer.status_code == 302 and answer.headers["Location"] == path
    page = sam.get(path).get_data(as_text=True)
    assert "Your status: Away." in page
    assert STATUS_FORM.search(page).group(1) == "away"  # type: ignore[union-attr]
    with sessions_of(app)() as session:
        assert specialist(session, "sam").presence == "away"


def test_the_status_form_refuses_a_request_without_its_csrf_token(app: Flask) -> None:
    sam = signed_in(app, "sam")
    answer = sam.post("/console/queue/presence", data={"presence": "available"})
    assert answer.status_code in (302, 400)
    with sessions_of(app)() as session:
        assert specialist(session, "sam").presence == "offline"


def test_the_queue_filters_by_channel_language_reason_sla_and_skill(app: Flask) -> None:
    sessions = sessions_of(app)
    breached_sms = waiting(sessions, "+15550000011", EscalationReason.ASKED, minutes_ago=90)
    fresh_telegram_fr = waiting(sessions, "777000111", EscalationReason.ASKED, locale="fr", channel="telegram")
    dispute_at_risk = waiting(sessions, "+15550000013", EscalationReason.DISPUTE, minutes_ago=25, locale="es_US")
    sam = signed_in(app, "sam")
    assert listed(sam, "?channel=telegram") == [fresh_telegram_fr]
    assert listed(sam, "?language=es") == [dispute_at_risk]
    assert listed(sam, "?reason=dispute") == [dispute_at_risk]
    assert listed(sam, "?sla=breached") == [breached_sms]
    assert listed(sam, "?sla=at_risk") == [dispute_at_risk]
    assert listed(sam, "?sla=ok") == [fresh_telegram_fr]
    assert listed(sam, "?skill=disputes") == [dispute_at_risk]
    assert sorted(listed(sam, "?skill=general&channel=sms")) == [breached_sms]
    refused = sam.get(QUEUE + "?channel=pigeon")
    assert refused.status_code == 400
    assert "Not done: unknown channel &#39;pigeon&#39;." in refused.get_data(as_text=True)


def test_saved_views_belong_to_their_specialist(app: Flask) -> None:
    sam, ana = signed_in(app, "sam"), signed_in(app, "ana")
    token = csrf_token(sam, QUEUE + "?channel=sms")
    saved = sam.post("/console/queue/views", data={"name": "SMS disputes", "channel": "sms", "reason": "dispute",
                                                   "csrf_token": token})  # fmt: skip
    assert saved.headers["Location"].endswith("/console/queue/?channel=sms&reason=dispute")
    page = sam.get(QUEUE).get_data(as_text=True)
    assert 'href="/console/queue/?channel=sms&amp;reason=dispute">SMS disputes</a>' in page
    assert "SMS disputes" not in ana.get(QUEUE).get_data(as_text=True)
    with sessions_of(app)() as session:
        view_id = session.scalars(select(SavedQueueView.id)).one()
    ana.post(f"/console/queue/views/{view_id}/delete", data={"csrf_token": csrf_token(ana, QUEUE)})
    bad = sam.post("/console/queue/views", data={"name": "", "channel": "sms", "csrf_token": token},
                   follow_redirects=True)  # fmt: skip
    assert "Not saved: a view needs a name" in bad.get_data(as_text=True)
    with sessions_of(app)() as session:
        assert session.scalars(select(SavedQueueView.name)).all() == ["SMS disputes"]
    sam.post(f"/console/queue/views/{view_id}/delete", data={"csrf_token": token})
    assert "SMS disputes" not in sam.get(QUEUE).get_data(as_text=True)
    assert [actor for actor, _view in actions(app, "queue_view.deleted")] == ["sam"]  # ana's attempt was refused


def test_bulk_resolve_skips_a_conversation_that_changed_since_the_page_was_shown(app: Flask) -> None:
    sessions = sessions_of(app)
    first = waiting(sessions, "+15550000021", minutes_ago=10)
    second = waiting(sessions, "+15550000022", minutes_ago=9)
    third = waiting(sessions, "+15550000023", minutes_ago=8)
    sam = signed_in(app, "sam")
    page = sam.get(QUEUE).get_data(as_text=True)
    seen = dict(SEEN.findall(page))
    with sessions.begin() as session:  # meanwhile: ana claims the second, the borrower writes again on the third
        claim_conversation(session, second, "ana", datetime.now(UTC))
        record_inbound(session, "sms", "+15550000023", "hello?", provider_id="again", now=datetime.now(UTC))
    form = {"action": "resolve", "conversation": [str(first), str(second), str(third)],
            "csrf_token": csrf_token(sam, QUEUE), **{f"seen-{key}": value for key, value in seen.items()}}  # fmt: skip
    response = sam.post("/console/queue/bulk", data=form, follow_redirects=True).get_data(as_text=True)
    assert "Done: 1 conversation." in response
    assert f"Skipped conversation {second}: changed since the page was shown." in response
    assert f"Skipped conversation {third}: changed since the page was shown." in response
    assert conversation(app, first).state == "bot"
    assert (conversation(app, second).assigned_to, conversation(app, third).state) == ("ana", "queued")
    assert actions(app, "conversation.resolved") == [("sam", str(first))]
    with sessions.begin() as session:
        notice = session.scalars(select(Message.body).where(Message.conversation_id == first, Message.author == "bot"))
        assert "The assistant is back" in " ".join(notice)


def test_only_a_supervisor_bulk_assigns_to_someone_else(app: Flask) -> None:
    sessions = sessions_of(app)
    one = waiting(sessions, "+15550000031", minutes_ago=10)
    two = waiting(sessions, "+15550000032", minutes_ago=9)

    def assign(client: FlaskClient, to: str) -> str:
        seen = dict(SEEN.findall(client.get(QUEUE).get_data(as_text=True)))
        form = {"action": "assign", "to": to, "conversation": [str(one), str(two)],
                "csrf_token": csrf_token(client, QUEUE), **{f"seen-{k}": v for k, v in seen.items()}}  # fmt: skip
        return client.post("/console/queue/bulk", data=form, follow_redirects=True).get_data(as_text=True)

    page = assign(signed_in(app, "sam"), "ana")
    assert "only a supervisor assigns to someone else" in page
    assert conversation(app, one).state == "queued"
    page = assign(signed_in(app, "sue"), "ana")
    assert "Done: 2 conversations." in page
    assert {conversation(app, one).assigned_to, conversation(app, two).assigned_to} == {"ana"}
    assert actions(app, "conversation.assigned") == [("sue", str(one)), ("sue", str(two))]
    missing = signed_in(app, "sue").post("/console/queue/bulk", data={"action": "assign", "to": "ana"},
                                         follow_redirects=True)  # fmt: skip
    assert missing.status_code == 400  # no CSRF token: refused before anything


def test_a_supervisor_sees_the_team_and_reassigns(app: Flask) -> None:
    profile(app, "ana", presence="available", capacity=5, languages=["en", "fr"], skills=["general", "disputes"])
    held = waiting(sessions_of(app), "+15550000041")
    with sessions_of(app).begin() as session:
        claim_conversation(session, held, "sam", datetime.now(UTC))
    assert signed_in(app, "sam").get("/console/queue/team").status_code == 403
    sue = signed_in(app, "sue")
    page = sue.get("/console/queue/team").get_data(as_text=True)
    assert "Available" in page and "0 of 5" in page and "Disputes" in page and "Français (fr)" in page
    assert re.search(r"<td>\d{4}-\d\d-\d\d \d\d:\d\d UTC</td>", page), "since when it is held, with its zone"
    token = csrf_token(sue, "/console/queue/team")
    sue.post(f"/console/queue/{held}/reassign", data={"to": "ana", "csrf_token": token})
    assert conversation(app, held).assigned_to == "ana"
    assert actions(app, "conversation.reassigned") == [("sue", str(held))]
    refused = sue.post(f"/console/queue/{held}/reassign", data={"to": "nobody", "csrf_token": token},
                       follow_redirects=True)  # fmt: skip
    assert "no active specialist" in refused.get_data(as_text=True)
    assert conversation(app, held).assigned_to == "ana"


def test_the_transfer_picker_lists_people_available_first_and_sends_to_a_skill_queue(app: Flask) -> None:
    profile(app, "ana", presence="available", skills=["payoffs"])
    held = waiting(sessions_of(app), "+15550000051")
    with sessions_of(app).begin() as session:
        claim_conversation(session, held, "sam", datetime.now(UTC))
    sam = signed_in(app, "sam")
    page = sam.get(f"/console/conversations/{held}").get_data(as_text=True)
    picker = page[page.index('name="to"') :]
    assert picker.index('value="ana"') < picker.index('value="sue"') < picker.index('value="skill:payoffs"')
    assert "Ana · Available · 0 of 3" in page
    token = csrf_token(sam, f"/console/conversations/{held}")
    sam.post(f"/console/conversations/{held}/transfer", data={"to": "skill:payoffs", "csrf_token": token})
    moved = conversation(app, held)
    assert (moved.skill, moved.state, moved.assigned_to) == ("payoffs", "assigned", "ana")
    assert actions(app, "conversation.transferred") == [("sam", str(held))]


FUZZ_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=80)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    filters=st.dictionaries(st.sampled_from(["channel", "language", "reason", "sla", "skill", "other"]), FUZZ_TEXT),
    bulk=st.dictionaries(st.sampled_from(["action", "to", "conversation", "seen-1", "next"]), FUZZ_TEXT),
)
def test_fuzzed_filters_and_bulk_forms_never_fail_and_change_nothing(
    app: Flask, filters: dict[str, str], bulk: dict[str, str]
) -> None:
    if "tests.fuzz" not in app.extensions:  # once per app: hypothesis calls the test many times with one fixture
        waiting(sessions_of(app), "+15550000091")
        fuzzer = signed_in(app, "sam")
        app.extensions["tests.fuzz"] = (fuzzer, csrf_token(fuzzer, QUEUE))
    client, token = app.extensions["tests.fuzz"]
    assert client.get(QUEUE, query_string=filters).status_code in (200, 400)
    answer = client.post("/console/queue/bulk", data={**bulk, "csrf_token": token})
    assert answer.status_code == 302
    with sessions_of(app)() as session:
        assert session.scalars(select(Conversation.state)).all() == ["queued"]


def test_no_id_repeats_on_the_queue_and_team_pages(app: Flask) -> None:
    waiting(sessions_of(app), "+15550000071")
    sue = signed_in(app, "sue")
    token = csrf_token(sue, QUEUE)
    for name in ("Mine", "Breached"):
        sue.post("/console/queue/views", data={"name": name, "sla": "breached", "csrf_token": token})
    for path in (QUEUE, QUEUE + "?sla=breached", "/console/queue/mine", "/console/queue/team"):
        ids = ID.findall(sue.get(path).get_data(as_text=True))
        assert len(ids) == len(set(ids)), path


def test_logging_out_sets_the_specialist_offline_and_hands_back_what_they_had_not_answered(app: Flask) -> None:
    profile(app, "sam", presence="available")
    unanswered = waiting(sessions_of(app), "+15550000081")
    sam = signed_in(app, "sam")
    set_status(sam, "available")
    assert conversation(app, unanswered).assigned_to == "sam"
    sam.post("/console/logout", data={"csrf_token": csrf_token(sam, QUEUE)})
    with sessions_of(app)() as session:
        assert specialist(session, "sam").presence == "offline"
    assert conversation(app, unanswered).state == "queued"
