"""The desk in the console: the supervisors' macros page, a macro applied by its button, @mentions notifying a
colleague (the header's count, the notifications page), the survey checkbox on resolve, the satisfaction report."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from servicing.store.models import AuditEntry, Conversation, Macro, Message, OutboxItem, SatisfactionSurvey
from tests.integration.console_helpers import sessions_of, signed_in, staffed_console
from tests.integration.test_console_auth import csrf_token
from tests.integration.test_console_conversation import borrower_conversation, page_of, post
from tests.integration.test_console_queue import TODAY


@pytest.fixture
def app(database_url: str, cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    with staffed_console(database_url, TODAY, monkeypatch) as app:
        yield app


def save_macro(client: FlaskClient, **form: str) -> str:
    """Submit the new-macro form as a supervisor; return the page it leads to."""
    token = csrf_token(client, "/console/macros/")
    response = client.post("/console/macros/", data={"csrf_token": token, **form}, follow_redirects=True)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def macros(app: Flask) -> list[Macro]:
    with sessions_of(app)() as session:
        return list(session.scalars(select(Macro)))


def test_only_a_supervisor_manages_macros_and_a_bad_one_is_refused_with_the_reason(app: Flask) -> None:
    assert signed_in(app, "sam").get("/console/macros/").status_code == 403
    sue = signed_in(app, "sue")

    page = save_macro(sue, name="Nothing at all")
    assert "a macro needs at least one action" in page
    assert macros(app) == []

    page = save_macro(sue, name="Close politely", shortcut="1", canned_key="looking_into_it", resolve="yes",
                      survey="yes")  # fmt: skip
    assert "Macro Close politely saved." in page
    assert "Alt+1" in page
    [macro] = macros(app)
    assert (macro.canned_key, macro.resolve, macro.survey, macro.created_by) == ("looking_into_it", True, True, "sue")


def test_a_specialist_applies_a_macro_by_its_button_and_the_borrower_gets_every_step(app: Flask) -> None:
    save_macro(signed_in(app, "sue"), name="Close politely", shortcut="1", canned_key="looking_into_it",
               note="@ana handled", resolve="yes", survey="yes")  # fmt: skip
    conversation_id, _ = borrower_conversation(app, locale="es_US")
    sam = signed_in(app, "sam")
    page = page_of(sam, conversation_id)
    assert 'aria-keyshortcuts="Alt+1"' in page
    [macro] = macros(app)

    where = post(sam, conversation_id, "macro", macro=str(macro.id))

    assert where.endswith("/console/queue/mine")
    with sessions_of(app)() as session:
        assert session.get_one(Conversation, conversation_id).state == "bot"
        assert session.scalar(select(func.count()).select_from(OutboxItem)) == 3  # reply, assistant back, survey
        assert session.scalars(select(SatisfactionSurvey.specialist)).one() == "sam"
        assert session.scalars(select(Message.body).where(Message.internal)).one() == "@ana handled"
    ana = signed_in(app, "ana")
    header = ana.get("/console/").get_data(as_text=True)
    assert 'class="badge">1</span>' in header
    notifications = ana.get("/console/notifications/").get_data(as_text=True)
    assert "@ana handled" in notifications and f"/console/conversations/{conversation_id}" in notifications
    token = csrf_token(ana, "/console/notifications/")
    ana.post("/console/notifications/read", data={"csrf_token": token})
    assert 'class="badge">' not in ana.get("/console/").get_data(as_text=True)


def test_a_macro_without_a_choice_or_on_a_conversation_not_yours_changes_nothing(app: Flask) -> None:
    save_macro(signed_in(app, "sue"), name="Resolve", resolve="yes")
    conversation_id, _ = borrower_conversation(app, holder="ana")
    sam = signed_in(app, "sam")
    [macro] = macros(app)
    post(sam, conversation_id, "macro")
    post(sam, conversation_id, "macro", macro=str(macro.id))
    with sessions_of(app)() as session:
        assert session.get_one(Conversation, conversation_id).state == "assigned"
        assert (
            session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "macro.applied"))
            == 0
        )


def test_resolving_without_the_survey_box_asks_nothing_and_with_it_asks_once(app: Flask) -> None:
    quiet, _ = borrower_conversation(app)
    asked, _ = borrower_conversation(app)
    sam = signed_in(app, "sam")
    post(sam, quiet, "resolve")
    post(sam, asked, "resolve", survey="yes")
    with sessions_of(app)() as session:
        surveys = session.scalars(select(SatisfactionSurvey)).all()
    assert [(s.conversation_id, s.status) for s in surveys] == [(asked, "asked")]
    report = sam.get("/console/reports/satisfaction").get_data(as_text=True)
    assert "Satisfaction per specialist" in report and "<td>sam</td>" in report.replace(' dir="auto"', "")


def test_a_macro_transfers_to_a_skill_queue_and_a_bad_transfer_is_refused(app: Flask) -> None:
    sue = signed_in(app, "sue")
    assert "no skill queue" in save_macro(sue, name="To sales", transfer_to="sales")
    assert "not both" in save_macro(sue, name="Both", transfer_to="disputes", resolve="yes")
    assert macros(app) == []
    page = save_macro(sue, name="Disputed fee", shortcut="4", note="disputes a late fee", transfer_to="disputes")
    assert "Macro Disputed fee saved." in page and "Queue: Disputes" in page
    [macro] = macros(app)
    assert (macro.transfer_to, macro.resolve) == ("disputes", False)

    conversation_id, _ = borrower_conversation(app)
    sam = signed_in(app, "sam")
    where = post(sam, conversation_id, "macro", macro=str(macro.id))
    assert where.endswith("/console/queue/mine")
    mine = sam.get(where).get_data(as_text=True)
    assert "Macro Disputed fee applied: sent to the Disputes queue." in mine
    with sessions_of(app)() as session:
        conversation = session.get_one(Conversation, conversation_id)
        assert (conversation.skill, conversation.assigned_to) == ("disputes", None)  # nobody available has the skill
        assert session.scalars(select(Message.body).where(Message.internal)).one() == "disputes a late fee"
        applied = session.scalars(select(AuditEntry).where(AuditEntry.action == "macro.applied")).one()
    assert applied.detail["steps"] == ["note", "transfer:disputes"]
