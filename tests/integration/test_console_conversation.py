"""One conversation in the console: transcript, replies through the outbox, notes, resolve, escaping, polling, audit."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from servicing.canned import BY_KEY
from servicing.conversations import (
    BACK_TO_BOT,
    TRANSCRIPT_PAGE,
    EscalationReason,
    claim_conversation,
    escalate,
    record_inbound,
    record_outbound,
    set_opt_out,
)
from servicing.queries import loan_summary
from servicing.speaking import Speaker
from servicing.store.models import AuditEntry, BorrowerPhone, Conversation, Loan, Message, OutboxItem
from tests.integration.console_helpers import sessions_of, signed_in, staffed_console
from tests.integration.helpers import board
from tests.integration.test_console_auth import create_specialist, csrf_token, log_in
from tests.integration.test_console_queue import TODAY

SCRIPT = "<script>alert('pwned')</script>"
STATIC = Path(__file__).resolve().parents[2] / "console" / "static"


@pytest.fixture
def app(database_url: str, cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    with staffed_console(database_url, TODAY, monkeypatch) as app:
        yield app


def borrower_conversation(
    app: Flask,
    *,
    channel: str = "sms",
    locale: str = "en_US",
    first_name: str = "Ana",
    body: str = "I lost my job",
    holder: str | None = "sam",
    loan_number: str | None = None,
) -> tuple[int, str]:
    """Board a loan, let its borrower write on `channel`, escalate, and (unless `holder` is None) claim it."""
    now = datetime.now(UTC)
    with sessions_of(app).begin() as session:
        numbered = {"loan_number": loan_number} if loan_number else {}
        loan_number = board(session, locale=locale, borrower_first_name=first_name, **numbered)
        loan = session.scalars(select(Loan).where(Loan.loan_number == loan_number)).one()
        e164 = session.scalars(select(BorrowerPhone.e164).where(BorrowerPhone.borrower_id == loan.borrower_id)).one()
        address = e164 if channel == "sms" else f"70{loan.id:08d}"
        inbound = record_inbound(session, channel, address, body, provider_id=f"in-{loan_number}", now=now)
        conversation = inbound.conversation
        conversation.borrower_id, conversation.loan_id, conversation.locale = loan.borrower_id, loan.id, locale
        escalate(session, conversation, EscalationReason.HARDSHIP, now)
        conversation_id = conversation.id
    if holder:
        with sessions_of(app).begin() as session:
            claim_conversation(session, conversation_id, holder, now)
    return conversation_id, loan_number


def post(client: FlaskClient, conversation_id: int, action: str, **form: str) -> str:
    """Submit one of the conversation page's forms; return where it led."""
    token = csrf_token(client, f"/console/conversations/{conversation_id}")
    response = client.post(f"/console/conversations/{conversation_id}/{action}", data={"csrf_token": token, **form})
    assert response.status_code == 302
    return str(response.headers["Location"])


def page_of(client: FlaskClient, conversation_id: int, query: str = "") -> str:
    """Return the conversation page's HTML."""
    response = client.get(f"/console/conversations/{conversation_id}{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def outbox(app: Flask) -> list[OutboxItem]:
    """Return every outbox row."""
    with sessions_of(app)() as session:
        return list(session.scalars(select(OutboxItem).order_by(OutboxItem.id)))


def test_a_reply_goes_to_the_outbox_on_the_borrowers_channel_and_shows_with_its_status(app: Flask) -> None:
    conversation_id, _ = borrower_conversation(app, channel="telegram")
    sam = signed_in(app, "sam")
    post(sam, conversation_id, "reply", body="We can help. Which month was your last pay?")
    [item] = outbox(app)
    with sessions_of(app)() as session:
        conversation = session.get_one(Conversation, conversation_id)
        message = session.get_one(Message, item.message_id)
    assert (item.channel, item.address, item.proactive, item.status) == ("telegram", conversation.address, False,
                                                                          "pending")  # fmt: skip
    assert (message.author, message.direction, message.status) == ("sam", "out", "queued")
    page = page_of(sam, conversation_id)
    assert "We can help. Which month was your last pay?" in page
    assert '<span class="status status-queued">queued</span>' in page
    assert "Reply queued for the borrower." in page


def test_a_reply_to_a_conversation_you_do_not_hold_is_refused_and_changes_nothing(app: Flask) -> None:
    conversation_id, _ = borrower_conversation(app, holder="ana")
    sam = signed_in(app, "sam")
    assert "Send reply" not in page_of(sam, conversation_id)
    post(sam, conversation_id, "reply", body="sneaky")
    assert outbox(app) == []
    with sessions_of(app)() as session:
        assert session.scalar(select(func.count()).select_from(Message).where(Message.body == "sneaky")) == 0
        replies = session.scalar(select(func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.action == "conversation.replied"))  # fmt: skip
    assert replies == 0
    assert "not assigned to sam" in page_of(sam, conversation_id)


def test_a_note_stays_inside_and_never_reaches_the_outbox(app: Flask) -> None:
    conversation_id, _ = borrower_conversation(app)
    sam = signed_in(app, "sam")
    post(sam, conversation_id, "note", body="Borrower sounds worried; check the forbearance options.")
    assert outbox(app) == []
    page = page_of(sam, conversation_id)
    assert '<li class="message note' in page
    assert "check the forbearance options" in page
    with sessions_of(app)() as session:
        note = session.scalars(select(Message).where(Message.internal.is_(True))).one()
        assert (note.author, note.channel, note.status) == ("sam", "internal", "note")


def test_resolving_hands_back_to_the_bot_and_tells_the_borrower_in_spanish(app: Flask) -> None:
    conversation_id, _ = borrower_conversation(app, locale="es_US", body="Perdí mi trabajo")
    sam = signed_in(app, "sam")
    assert post(sam, conversation_id, "resolve") == "/console/queue/mine"
    [item] = outbox(app)
    assert item.body == Speaker("es").say(BACK_TO_BOT)
    assert item.body.startswith("Gracias por hablar con nosotros.")
    with sessions_of(app)() as session:
        conversation = session.get_one(Conversation, conversation_id)
        assert (conversation.state, conversation.assigned_to, conversation.escalation_reason) == ("bot", None, None)


def test_borrower_text_is_escaped_on_the_page_and_handed_to_the_script_as_plain_data(app: Flask) -> None:
    conversation_id, _ = borrower_conversation(app, body=SCRIPT)
    sam = signed_in(app, "sam")
    page = page_of(sam, conversation_id)
    assert SCRIPT not in page
    assert "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;" in page
    assert "style=" not in page and "<script>" not in page  # no inline script: only <script src=...>
    data = sam.get(f"/console/conversations/{conversation_id}/messages?after=0").get_json()
    assert data["messages"][0]["body"] == SCRIPT  # JSON, shown by the script with textContent
    script = (STATIC / "conversation.js").read_text()
    assert "textContent" in script
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script


def test_polling_returns_only_the_messages_newer_than_the_last_one_shown(app: Flask) -> None:
    conversation_id, _ = borrower_conversation(app, body="first")
    sam = signed_in(app, "sam")
    page = page_of(sam, conversation_id)
    last_id = int(re.search(r'data-last-id="(\d+)"', page).group(1))  # type: ignore[union-attr]
    assert sam.get(f"/console/conversations/{conversation_id}/messages?after={last_id}").get_json()["messages"] == []
    with sessions_of(app).begin() as session:
        conversation = session.get_one(Conversation, conversation_id)
        record_inbound(session, conversation.channel, conversation.address, "are you there?", provider_id="later",
                       now=datetime.now(UTC))  # fmt: skip
    newer = sam.get(f"/console/conversations/{conversation_id}/messages?after={last_id}").get_json()["messages"]
    assert [(m["body"], m["direction"], m["author"]) for m in newer] == [("are you there?", "in", "borrower")]
    assert newer[0]["id"] > last_id


def test_viewing_claiming_replying_and_resolving_are_audited(app: Flask) -> None:
    conversation_id, _ = borrower_conversation(app, holder=None)
    sam = signed_in(app, "sam")
    token = csrf_token(sam, "/console/queue/")
    sam.post(f"/console/queue/{conversation_id}/claim", data={"csrf_token": token})
    page_of(sam, conversation_id)
    post(sam, conversation_id, "reply", body="Hello")
    post(sam, conversation_id, "resolve")
    with sessions_of(app)() as session:
        rows = session.execute(
            select(AuditEntry.action, AuditEntry.subject_type, AuditEntry.subject_id)
            .where(AuditEntry.actor == "sam", AuditEntry.subject_type == "conversation")
            .order_by(AuditEntry.id)
        ).all()
    actions = [row.action for row in rows]
    assert {row.subject_id for row in rows} == {str(conversation_id)}
    assert actions[0] == "conversation.claimed"
    assert "view" in actions
    assert actions.index("conversation.replied") < actions.index("conversation.resolved")
    assert "Hello" not in repr([tuple(row) for row in rows])


def test_canned_responses_speak_spanish_with_the_loans_values_and_the_server_writes_the_text(app: Flask) -> None:
    conversation_id, loan_number = borrower_conversation(app, locale="es_US", first_name="Lucía")
    with sessions_of(app)() as session:
        summary = loan_summary(session, loan_number, today=date.fromisoformat(TODAY))
    assert summary.next_due_date is not None
    speaker = Speaker("es_US")
    expected = speaker.say(BY_KEY["amount_due"].message, loan_last4=loan_number[-4:],
                           amount_due=speaker.money(summary.amount_due, "USD"),
                           next_due_date=speaker.day(summary.next_due_date))  # fmt: skip
    assert expected.startswith("El monto adeudado del préstamo que termina en")
    sam = signed_in(app, "sam")
    page = page_of(sam, conversation_id)
    assert f'data-text="{expected}"' in page
    assert "Hola Lucía, le habla Sam." in page
    post(sam, conversation_id, "reply", canned="amount_due", body="something the browser was tricked into",
         confirm_disclosure="yes")  # fmt: skip
    [item] = outbox(app)
    assert item.body == expected
    with sessions_of(app)() as session:
        detail = session.scalars(select(AuditEntry.detail).where(AuditEntry.action == "conversation.replied")).one()
    assert detail["canned"] == "amount_due"


# -- telling loan figures or a full loan number to a borrower who has not verified --------------------------

UNVERIFIED_REFUSAL = "Not sent: this reply tells loan figures or a full loan number, and the borrower has not verified"
CONFIRMATION = "The borrower has not verified on this conversation. I confirm: send this reply even though"


def replied_details(app: Flask) -> list[dict[str, object]]:
    with sessions_of(app)() as session:
        query = select(AuditEntry.detail).where(AuditEntry.action == "conversation.replied").order_by(AuditEntry.id)
        return list(session.scalars(query))


def test_a_canned_reply_with_loan_figures_to_an_unverified_borrower_needs_a_confirmation_that_says_so(
    app: Flask,
) -> None:
    conversation_id, _ = borrower_conversation(app, loan_number="4400071005")
    sam = signed_in(app, "sam")
    assert CONFIRMATION in page_of(sam, conversation_id)

    post(sam, conversation_id, "reply", canned="amount_due")

    assert outbox(app) == []
    assert UNVERIFIED_REFUSAL in page_of(sam, conversation_id)
    post(sam, conversation_id, "reply", canned="greeting")  # no figures: no confirmation needed
    post(sam, conversation_id, "reply", canned="amount_due", confirm_disclosure="yes")
    greeting, amount_due = (item.body for item in outbox(app))
    assert greeting.startswith("Hello Ana, this is Sam.")
    assert amount_due.startswith("The amount due on the loan ending in 1005 is $")
    assert [detail.get("disclosure_confirmed") for detail in replied_details(app)] == [None, True]


def test_a_typed_reply_with_a_full_loan_number_to_an_unverified_borrower_needs_the_confirmation(app: Flask) -> None:
    conversation_id, loan_number = borrower_conversation(app, loan_number="LN-71005")
    sam = signed_in(app, "sam")

    post(sam, conversation_id, "reply", body=f"Your loan {loan_number.lower()} is being reviewed.")

    assert outbox(app) == []
    assert UNVERIFIED_REFUSAL in page_of(sam, conversation_id)
    post(sam, conversation_id, "reply", body=f"Your loan ending in {loan_number[-4:]} is being reviewed.")
    post(sam, conversation_id, "reply", body=f"Your loan {loan_number} is being reviewed.", confirm_disclosure="yes")
    assert [item.body for item in outbox(app)] == [f"Your loan ending in {loan_number[-4:]} is being reviewed.",
                                                   f"Your loan {loan_number} is being reviewed."]  # fmt: skip
    assert [detail.get("disclosure_confirmed") for detail in replied_details(app)] == [None, True]


def test_a_verified_borrower_is_told_figures_and_the_loan_number_without_a_confirmation(app: Flask) -> None:
    conversation_id, loan_number = borrower_conversation(app, loan_number="4400071005")
    with sessions_of(app).begin() as session:
        session.get_one(Conversation, conversation_id).verified_until = datetime.now(UTC) + timedelta(minutes=10)
    sam = signed_in(app, "sam")
    assert CONFIRMATION not in page_of(sam, conversation_id)

    post(sam, conversation_id, "reply", canned="amount_due")
    post(sam, conversation_id, "reply", body=f"Your loan {loan_number} is current.")

    assert len(outbox(app)) == 2
    assert [detail.get("disclosure_confirmed") for detail in replied_details(app)] == [None, None]


def test_an_unknown_canned_key_sends_nothing(app: Flask) -> None:
    conversation_id, _ = borrower_conversation(app)
    post(signed_in(app, "sam"), conversation_id, "reply", canned="free_money", body="x")
    assert outbox(app) == []


def test_a_specialist_transfers_to_a_colleague_but_not_to_a_stranger(app: Flask) -> None:
    conversation_id, _ = borrower_conversation(app)
    sam = signed_in(app, "sam")
    post(sam, conversation_id, "transfer", to="nobody")
    with sessions_of(app)() as session:
        assert session.get_one(Conversation, conversation_id).assigned_to == "sam"
    assert post(sam, conversation_id, "transfer", to="Ana") == "/console/queue/mine"
    with sessions_of(app)() as session:
        assert session.get_one(Conversation, conversation_id).assigned_to == "ana"
    assert f"/console/conversations/{conversation_id}" in signed_in(app, "ana").get("/console/queue/mine").get_data(
        as_text=True
    )


def test_unassigning_puts_the_conversation_back_in_the_queue(app: Flask) -> None:
    conversation_id, _ = borrower_conversation(app)
    sam = signed_in(app, "sam")
    assert post(sam, conversation_id, "unassign") == "/console/queue/"
    assert f'action="/console/queue/{conversation_id}/claim"' in sam.get("/console/queue/").get_data(as_text=True)


def test_the_page_shows_verification_state_and_links_the_loan(app: Flask) -> None:
    conversation_id, loan_number = borrower_conversation(app)
    sam = signed_in(app, "sam")
    page = page_of(sam, conversation_id)
    assert "Not verified" in page and "Failed attempts: 0" in page
    assert f'href="/console/loans/{loan_number}"' in page
    with sessions_of(app).begin() as session:
        conversation = session.get_one(Conversation, conversation_id)
        conversation.verified_until = datetime.now(UTC) + timedelta(minutes=10)
    assert "Verified until" in page_of(sam, conversation_id)
    with sessions_of(app).begin() as session:
        conversation = session.get_one(Conversation, conversation_id)
        conversation.verified_until, conversation.failed_attempts = None, 2
        conversation.locked_until = datetime.now(UTC) + timedelta(minutes=20)
    page = page_of(sam, conversation_id)
    assert "Locked until" in page and "Failed attempts: 2" in page


def test_outbound_statuses_and_attachments_show_and_opening_an_attachment_is_audited(app: Flask) -> None:
    conversation_id, _ = borrower_conversation(app)
    now = datetime.now(UTC)
    with sessions_of(app).begin() as session:
        conversation = session.get_one(Conversation, conversation_id)
        failed = record_outbound(session, conversation, "Your balance is ...", author="bot", now=now)
        failed.status, failed.error_code = "failed", "30003"
        media = [{"url": "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
                  "content_type": "image/jpeg"}]  # fmt: skip
        photo = record_inbound(session, "sms", conversation.address, "", provider_id="MM1", now=now,
                               attachments=media).message  # fmt: skip
        assert photo is not None
        photo_id = photo.id
    sam = signed_in(app, "sam")
    page = page_of(sam, conversation_id)
    assert "failed (30003)" in page
    link = f"/console/conversations/{conversation_id}/attachments/{photo_id}/0"
    assert link in page and "image/jpeg" in page
    response = sam.get(link)
    assert response.status_code == 302
    assert response.headers["Location"] == media[0]["url"]
    assert sam.get(f"/console/conversations/{conversation_id}/attachments/{photo_id}/1").status_code == 404
    with sessions_of(app)() as session:
        paths = session.scalars(select(AuditEntry.detail).where(AuditEntry.action == "view")).all()
    assert {"path": link} in paths


def test_the_page_shows_the_latest_messages_and_pages_back_to_older_ones(app: Flask) -> None:
    conversation_id, _ = borrower_conversation(app, body="the very first message")
    now = datetime.now(UTC)
    with sessions_of(app).begin() as session:
        conversation = session.get_one(Conversation, conversation_id)
        for n in range(TRANSCRIPT_PAGE + 4):
            record_outbound(session, conversation, f"line {n}", author="bot", now=now)
    sam = signed_in(app, "sam")
    page = page_of(sam, conversation_id)
    assert page.count('<li class="message') == TRANSCRIPT_PAGE
    transcript = page[page.index('id="transcript"') :]  # the handoff summary above quotes the borrower's words
    assert "the very first message" not in transcript
    older = re.search(r'href="(/console/conversations/\d+\?before=\d+)"', page)
    assert older is not None
    earlier = sam.get(older.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert "the very first message" in earlier
    assert "data-messages-url" not in earlier  # an older page does not poll


def test_nothing_is_sent_to_a_borrower_who_opted_out_and_the_page_says_so(app: Flask) -> None:
    conversation_id, _ = borrower_conversation(app)
    with sessions_of(app).begin() as session:
        conversation = session.get_one(Conversation, conversation_id)
        set_opt_out(session, "sms", conversation.address, True, datetime.now(UTC))
    sam = signed_in(app, "sam")
    assert "opted out of this channel: no reply can be sent" in page_of(sam, conversation_id)
    post(sam, conversation_id, "reply", body="hello?")
    assert outbox(app) == []
    assert "nothing was sent" in page_of(sam, conversation_id)


def test_an_unknown_conversation_is_not_found(app: Flask) -> None:
    sam = signed_in(app, "sam")
    assert sam.get("/console/conversations/999999").status_code == 404
    assert sam.get("/console/conversations/999999/messages?after=0").status_code == 404


def test_a_supervisor_may_read_and_note_but_not_reply_to_someone_elses_conversation(app: Flask) -> None:
    conversation_id, _ = borrower_conversation(app)
    sue = signed_in(app, "sue")
    post(sue, conversation_id, "note", body="Reviewed by supervisor")
    post(sue, conversation_id, "reply", body="I am the supervisor")
    assert outbox(app) == []
    assert "Reviewed by supervisor" in page_of(sue, conversation_id)


def test_the_specialists_language_labels_the_page_but_not_the_borrowers_words(app: Flask) -> None:
    create_specialist(app, "sofia", locale="es")
    conversation_id, _ = borrower_conversation(app, holder="sofia", body="I lost my job")
    client = app.test_client()
    log_in(client, "sofia")
    page = page_of(client, conversation_id)
    assert "Enviar respuesta" in page and "I lost my job" in page
