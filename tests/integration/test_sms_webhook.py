"""The Twilio webhooks on the real app: signed like Twilio signs, answered in TwiML, keywords and opt-out obeyed."""

from __future__ import annotations

import itertools
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from twilio.request_validator import RequestValidator
from werkzeug.test import TestResponse

from bot.channels.segments import MAX_SEGMENTS, is_gsm7, segment_count
from bot.channels.sms import MORE_HINT, PAGES_NOTE, paged
from bot.flows import LOCKED, MENU
from bot.i18n import Speaker
from bot.turn import InboundMessage, Turn
from console import create_app
from servicing.ach.accounts import add_bank_account, check_bank_details
from servicing.conversations import (
    EscalationReason,
    escalate,
    find_or_open_conversation,
    is_opted_out,
    record_failed_verification,
    record_outbound,
)
from servicing.outbox import deliver_outbox
from servicing.queries import summarize
from servicing.rules.payoff import payoff_quote
from servicing.store.accounts import load_account
from servicing.store.models import Case, Conversation, Message, OutboxItem
from tests.conftest import SECRET
from tests.integration.ach_helpers import ACCOUNT, ROUTING, VAULT
from tests.integration.helpers import board
from tests.integration.test_sms_sender import twilio_sender
from tests.twilio_double import RecordingHttpClient

TOKEN = "test-auth-token"
PHONE = "+15557770001"
TWILIO_NUMBER = "+15550001111"
TODAY = date(2026, 3, 20)
LOCAL_URL = "http://localhost/sms/twilio"
MORE_SUFFIX = "\n" + MORE_HINT  # the English hint: these borrowers write in English
SERVICER, SERVICER_PHONE = "Acme Loan Servicing", "+1 800 555 0199"
sids = itertools.count(1)
AppFactory = Callable[..., Flask]


@pytest.fixture
def make_app(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppFactory]:
    """Return a factory of apps on the test database, with Twilio's auth token (or other settings) in the env."""
    apps: list[Flask] = []

    def make(**env: str) -> Flask:
        settings = {"LOANLINE_SECRET_KEY": SECRET, "LOANLINE_INSTANCE_PATH": str(tmp_path / "instance"),
                    "LOANLINE_TODAY": TODAY.isoformat(), "LOANLINE_SERVICER_NAME": SERVICER,
                    "LOANLINE_SERVICER_PHONE": SERVICER_PHONE, "TWILIO_AUTH_TOKEN": TOKEN, **env}  # fmt: skip
        for name in ("LOANLINE_PUBLIC_URL", "TWILIO_ACCOUNT_SID", "TWILIO_FROM_NUMBER"):
            monkeypatch.delenv(name, raising=False)
        for name, value in settings.items():
            if value:
                monkeypatch.setenv(name, value)
            else:
                monkeypatch.delenv(name, raising=False)
        app = create_app({"DATABASE_URL": database_url, "TESTING": True})
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["loanline.sessions"].kw["bind"].dispose()


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    return make_app()


@pytest.fixture
def sessions(app: Flask) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = app.extensions["loanline.sessions"]
    return factory


@pytest.fixture
def loan(sessions: sessionmaker[Session]) -> str:
    with sessions.begin() as session:
        return board(session, loan_number="4400012345", phone=PHONE, bank_account_last4="6789")


def signed_post(
    client: FlaskClient, params: dict[str, str], *, path: str = "/sms/twilio", url: str | None = None,
    token: str = TOKEN, signature: str | None = None, headers: dict[str, str] | None = None,
) -> TestResponse:  # fmt: skip
    """Post a form as Twilio does, signed over `url` (the URL the test client requests, unless given)."""
    if signature is None:
        signature = RequestValidator(token).compute_signature(url or f"http://localhost{path}", params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature, **(headers or {})})


def sms(body: str, sender: str = PHONE, sid: str | None = None, **extra: str) -> dict[str, str]:
    """Return the form Twilio posts for an inbound SMS."""
    return {"MessageSid": sid or f"SM{next(sids):032x}", "AccountSid": "AC" + "0" * 32, "From": sender,
            "To": TWILIO_NUMBER, "Body": body, "NumMedia": "0", **extra}  # fmt: skip


def replies_in(response: TestResponse) -> list[str]:
    """Return the texts of a TwiML answer's <Message> elements."""
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type.startswith("application/xml")
    root = ET.fromstring(response.get_data())
    assert root.tag == "Response"
    return [element.text or "" for element in root.findall("Message")]


class Texter:
    """A borrower texting the servicer's number through the signed webhook."""

    def __init__(self, client: FlaskClient, phone: str = PHONE) -> None:
        self.client, self.phone = client, phone

    def __call__(self, body: str, **extra: str) -> str:
        return "\n".join(replies_in(signed_post(self.client, sms(body, self.phone, **extra))))


def the_conversation(session: Session, phone: str = PHONE) -> Conversation:
    conversation = session.scalar(select(Conversation).where(Conversation.address == phone))
    assert conversation is not None
    return conversation


def inbound_bodies(session: Session) -> list[str]:
    return list(session.scalars(select(Message.body).where(Message.direction == "in").order_by(Message.id)))


def en(amount: Any) -> str:
    return Speaker("en_US").money(amount, "USD")


# -- signatures ---------------------------------------------------------------------------------------


def test_a_request_signed_with_the_auth_token_is_answered_in_twiml(app: Flask, loan: str) -> None:
    [reply] = replies_in(signed_post(app.test_client(), sms("balance")))
    assert "date of birth" in reply


@pytest.mark.parametrize("signature", ["", "bm90IGEgc2lnbmF0dXJl"], ids=["missing", "wrong"])
def test_an_unsigned_or_wrongly_signed_request_is_refused_and_not_stored(
    app: Flask, loan: str, sessions: sessionmaker[Session], signature: str
) -> None:
    client = app.test_client()
    response = client.post("/sms/twilio", data=sms("balance"),
                           headers={"X-Twilio-Signature": signature} if signature else {})  # fmt: skip
    assert response.status_code == 403
    with sessions() as session:
        assert inbound_bodies(session) == []


def test_a_request_signed_with_another_token_is_refused(app: Flask, loan: str) -> None:
    assert signed_post(app.test_client(), sms("balance"), token="someone-elses-token").status_code == 403


def test_a_changed_form_no_longer_matches_its_signature(app: Flask, loan: str) -> None:
    params = sms("balance")
    signature = RequestValidator(TOKEN).compute_signature(LOCAL_URL, params)
    tampered = {**params, "Body": "payoff"}
    assert signed_post(app.test_client(), tampered, signature=signature).status_code == 403


def test_without_an_auth_token_every_request_is_refused(make_app: AppFactory) -> None:
    app = make_app(TWILIO_AUTH_TOKEN="")
    assert signed_post(app.test_client(), sms("balance")).status_code == 403
    assert signed_post(app.test_client(), {"MessageSid": "SM1", "MessageStatus": "delivered"},
                       path="/sms/twilio/status").status_code == 403  # fmt: skip


def test_behind_a_proxy_the_signature_is_checked_over_the_public_url(make_app: AppFactory) -> None:
    app = make_app(LOANLINE_PUBLIC_URL="https://loanline.example.com/")
    client = app.test_client()
    assert signed_post(client, sms("hi"), url="https://loanline.example.com/sms/twilio").status_code == 200
    assert signed_post(client, sms("hi"), url=LOCAL_URL).status_code == 403  # the URL the app sees is not it


def test_forwarded_headers_are_not_trusted_without_a_public_url(app: Flask) -> None:
    proxied = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "loanline.example.com"}
    response = signed_post(app.test_client(), sms("hi"), url="https://loanline.example.com/sms/twilio",
                           headers=proxied)  # fmt: skip
    assert response.status_code == 403


def test_a_form_without_a_sender_is_refused_as_bad_input(app: Flask) -> None:
    assert signed_post(app.test_client(), {"MessageSid": "SM123", "Body": "hi"}).status_code == 400


# -- journeys -----------------------------------------------------------------------------------------


def test_journey_1_balance_after_the_date_of_birth(app: Flask, loan: str, sessions: sessionmaker[Session]) -> None:
    text = Texter(app.test_client())
    first = text("whats my balance")
    assert "date of birth" in first and "150,000" not in first
    answer = text("05/04/1980")
    with sessions() as session:
        account = load_account(session, loan)
        assert account is not None
        summary = summarize(account, TODAY)
    assert f"principal balance {en(summary.principal_balance)}" in answer
    assert loan not in answer
    assert segment_count(answer) <= 3


def test_journey_2_payoff(app: Flask, loan: str, sessions: sessionmaker[Session]) -> None:
    text = Texter(app.test_client())
    text("how much to pay off my loan?")
    answer = text("May 4 1980")
    with sessions() as session:
        account = load_account(session, loan)
        assert account is not None
        quote = payoff_quote(account, TODAY, TODAY + timedelta(days=10))
        [case] = session.scalars(select(Case).where(Case.kind == "payoff_request")).all()
    assert f"send {en(quote.total)} by March 30, 2026" in answer
    assert case.reference in answer


def test_journey_6_after_a_handoff_the_bot_is_silent(app: Flask, loan: str, sessions: sessionmaker[Session]) -> None:
    text = Texter(app.test_client())
    assert "specialist" in text("talk to a person").lower()
    assert text("are you there?") == ""
    with sessions() as session:
        conversation = the_conversation(session)
        assert (conversation.state, conversation.escalation_reason) == ("queued", "asked")
        assert inbound_bodies(session)[-1] == "are you there?"  # kept for the specialist's transcript


def test_journey_8_after_stop_nothing_is_sent_until_start(
    app: Flask, loan: str, sessions: sessionmaker[Session]
) -> None:
    text = Texter(app.test_client())
    assert "unsubscribed" in text("STOP")
    assert text("balance") == ""  # silence
    assert text("stop") == ""  # one confirmation only
    http = RecordingHttpClient()
    specialist_reply(sessions, "Hi, this is Ana.")
    deliver_outbox(sessions, {"sms": twilio_sender(http)}, worker="w1", clock=lambda: datetime.now(UTC))
    assert http.calls == []
    with sessions() as session:
        assert is_opted_out(session, "sms", PHONE)
        assert session.scalars(select(OutboxItem.status)).all() == ["blocked"]
        assert inbound_bodies(session) == ["STOP", "balance", "stop"]  # every message is stored
    assert "subscribed again" in text("start")
    specialist_reply(sessions, "Hi again, this is Ana.")
    deliver_outbox(sessions, {"sms": twilio_sender(http)}, worker="w1", clock=lambda: datetime.now(UTC))
    assert http.sent_bodies == ["Hi again, this is Ana."]
    assert http.calls[0]["data"]["To"] == PHONE


def specialist_reply(sessions: sessionmaker[Session], body: str) -> None:
    with sessions.begin() as session:
        conversation = find_or_open_conversation(session, "sms", PHONE, datetime.now(UTC))
        record_outbound(session, conversation, body, author="specialist:ana", now=datetime.now(UTC),
                        deliver_later=True)  # fmt: skip


@pytest.mark.parametrize("word", ["STOP", "stopall", " Unsubscribe ", "CANCEL", "end", "Quit", "revoke", "OPTOUT"])
def test_every_opt_out_keyword_opts_out(app: Flask, loan: str, sessions: sessionmaker[Session], word: str) -> None:
    assert "unsubscribed" in Texter(app.test_client())(word)
    with sessions() as session:
        assert is_opted_out(session, "sms", PHONE)


@pytest.mark.parametrize("word", ["START", "unstop", "Yes"])
def test_start_unstop_and_yes_opt_back_in(app: Flask, loan: str, sessions: sessionmaker[Session], word: str) -> None:
    text = Texter(app.test_client())
    text("STOP")
    assert "subscribed again" in text(word)
    with sessions() as session:
        assert not is_opted_out(session, "sms", PHONE)
    assert "date of birth" in text("balance")


def test_the_same_message_sid_twice_is_answered_once(app: Flask, loan: str, sessions: sessionmaker[Session]) -> None:
    client = app.test_client()
    params = sms("balance", sid="SM" + "a" * 32)
    assert replies_in(signed_post(client, params)) != []
    assert replies_in(signed_post(client, params)) == []
    with sessions() as session:
        assert inbound_bodies(session) == ["balance"]


@pytest.mark.parametrize("word", ["HELP", "info"])
def test_help_names_the_servicer_its_phone_and_how_to_opt_out(app: Flask, loan: str, word: str) -> None:
    text = Texter(app.test_client())
    answer = text(word)
    assert SERVICER in answer and SERVICER_PHONE in answer and "Reply STOP to opt out" in answer
    text("STOP")
    assert SERVICER_PHONE in text(word)  # answered even after opting out


def test_a_revocation_in_a_sentence_is_honoured_at_once_and_confirmed_once(
    app: Flask, loan: str, sessions: sessionmaker[Session]
) -> None:
    text = Texter(app.test_client())
    assert "unsubscribed" in text("please stop texting me")
    with sessions() as session:
        assert is_opted_out(session, "sms", PHONE)
    assert text("stop texting me!") == ""  # confirmed once
    assert text("balance") == ""


def test_stop_inside_an_unclear_sentence_asks_first_and_a_yes_opts_out(
    app: Flask, loan: str, sessions: sessionmaker[Session]
) -> None:
    text = Texter(app.test_client())
    question = text("please quit sending stuff")
    assert "stop texting you?" in question and "YES" in question
    with sessions() as session:
        assert not is_opted_out(session, "sms", PHONE)
    assert "unsubscribed" in text("yes")
    with sessions() as session:
        assert is_opted_out(session, "sms", PHONE)
    assert text("balance") == ""


def test_stop_inside_a_sentence_then_no_keeps_the_texts(app: Flask, loan: str, sessions: sessionmaker[Session]) -> None:
    text = Texter(app.test_client())
    text("can you quit sending me all that")
    assert "keep getting our texts" in text("no")
    assert "date of birth" in text("balance")
    with sessions() as session:
        assert not is_opted_out(session, "sms", PHONE)


def test_stop_still_works_while_a_specialist_owns_the_conversation(
    app: Flask, loan: str, sessions: sessionmaker[Session]
) -> None:
    text = Texter(app.test_client())
    text("talk to a person")
    assert "unsubscribed" in text("STOP")
    with sessions() as session:
        assert is_opted_out(session, "sms", PHONE)


# -- MMS, paging ----------------------------------------------------------------------------------------


def test_mms_media_are_stored_as_the_messages_attachments(
    app: Flask, loan: str, sessions: sessionmaker[Session]
) -> None:
    media = {"NumMedia": "2",
             "MediaUrl0": "https://api.twilio.com/2010-04-01/Accounts/AC0/Messages/MM1/Media/ME1",
             "MediaContentType0": "image/jpeg",
             "MediaUrl1": "https://api.twilio.com/2010-04-01/Accounts/AC0/Messages/MM1/Media/ME2",
             "MediaContentType1": "application/pdf"}  # fmt: skip
    replies_in(signed_post(app.test_client(), sms("here is my statement", **media)))
    with sessions() as session:
        message = session.scalar(select(Message).where(Message.direction == "in"))
        assert message is not None
        assert message.attachments == [
            {"url": media["MediaUrl0"], "content_type": "image/jpeg"},
            {"url": media["MediaUrl1"], "content_type": "application/pdf"},
        ]


SPANISH_MORE = "\n" + Speaker("es_US").say(MORE_HINT)


def test_a_reply_longer_than_three_segments_is_paged_with_more_in_the_borrowers_language(
    app: Flask, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        board(session, phone=PHONE, locale="es_US")
    menu = Speaker("es_US").say(MENU)
    assert segment_count(menu) > 3  # "ú", "ó" make it UCS-2: 67 characters a segment
    text = Texter(app.test_client())
    first = text("menu")
    assert SPANISH_MORE == "\nResponda MÁS para ver el resto"
    assert first.endswith(SPANISH_MORE) and segment_count(first) <= 3
    rest = text("más")
    assert not rest.endswith(SPANISH_MORE) and segment_count(rest) <= 3
    assert (first.removesuffix(SPANISH_MORE) + " " + rest).split() == menu.split()
    assert "MÁS" not in text("más")  # nothing left: MÁS is an ordinary message again


def test_english_more_pages_for_every_language(app: Flask, sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        board(session, phone=PHONE, locale="es_US")
    text = Texter(app.test_client())
    assert text("menu").endswith(SPANISH_MORE)
    assert not text("MORE").endswith(SPANISH_MORE)


def test_more_after_another_message_does_not_replay_old_pages(app: Flask, sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        board(session, phone=PHONE, locale="es_US")
    text = Texter(app.test_client())
    first = text("menu")
    assert first.endswith(SPANISH_MORE)
    text("balance")
    assert "MÁS" not in text("más")


class Clock:
    """The SMS engine's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def spanish_menu_waiting_for_more(app: Flask, sessions: sessionmaker[Session]) -> Texter:
    with sessions.begin() as session:
        board(session, phone=PHONE, locale="es_US")
    text = Texter(app.test_client())
    assert text("menu").endswith(SPANISH_MORE)
    return text


def test_more_is_not_answered_by_the_bot_once_a_person_holds_the_conversation(
    app: Flask, sessions: sessionmaker[Session]
) -> None:
    text = spanish_menu_waiting_for_more(app, sessions)
    with sessions.begin() as session:
        escalate(session, the_conversation(session), EscalationReason.SENSITIVE, datetime.now(UTC))
    assert text("más") == Speaker("es_US").say("Thanks, a specialist has your message and will reply here.")
    assert text("más") == ""


def test_a_turn_that_hands_off_sends_every_page_at_once(app: Flask, sessions: sessionmaker[Session]) -> None:
    now = datetime.now(UTC)
    menu = Speaker("es_US").say(MENU)
    with sessions.begin() as session:
        board(session, phone=PHONE, locale="es_US")
        conversation = find_or_open_conversation(session, "sms", PHONE, now)
        escalate(session, conversation, EscalationReason.ASKED, now)
        turn = Turn(session, conversation, InboundMessage("sms", PHONE, "menu"), now, TODAY,
                    app.extensions["loanline.settings"])  # fmt: skip
        replies = paged(turn, [menu])
        assert turn.remembered(PAGES_NOTE) is None  # MORE would reach a person, not the bot
    assert len(replies) == 2 and not any(reply.text.endswith(SPANISH_MORE) for reply in replies)
    assert " ".join(reply.text for reply in replies).split() == menu.split()


def test_more_on_a_locked_number_only_says_it_is_locked(app: Flask, sessions: sessionmaker[Session]) -> None:
    text = spanish_menu_waiting_for_more(app, sessions)
    with sessions.begin() as session:
        conversation = the_conversation(session)
        for _ in range(3):
            record_failed_verification(session, conversation, datetime.now(UTC))
    answer = text("más")
    assert answer == Speaker("es_US").say(LOCKED, phone=SERVICER_PHONE)


def test_more_after_the_verified_session_ended_asks_for_the_date_of_birth_first(
    app: Flask, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        loans = [board(session, phone=PHONE, locale="es_US") for _ in range(25)]
    clock = Clock()
    app.extensions["loanline.sms"].engine.clock = clock
    text = Texter(app.test_client())
    text("saldo")
    first = text("04/05/1980")  # es_US reads day first
    assert first.endswith(SPANISH_MORE) and loans[0][-4:] in first and loans[-1][-4:] not in first
    clock.now += timedelta(minutes=16)
    asked = text("más")
    assert asked == Speaker("es_US").say("To protect your account, please reply with your date of birth.")
    again = text("04/05/1980")  # verified again: the menu to ask anew; the old pages are gone
    assert Speaker("es_US").say(MENU).splitlines()[0] in again and loans[-1][-4:] not in again


def test_more_within_the_verified_session_gives_the_rest(app: Flask, sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        loans = [board(session, phone=PHONE, locale="es_US") for _ in range(25)]
    text = Texter(app.test_client())
    text("saldo")
    text("04/05/1980")
    assert loans[-1][-4:] in text("más")


def test_a_spanish_borrowers_help_is_answered_in_spanish_keeping_the_keywords(
    app: Flask, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        board(session, phone=PHONE, locale="es_US")
    answer = Texter(app.test_client())("HELP")
    assert answer.startswith(f"{SERVICER}: para obtener ayuda con su préstamo llame al {SERVICER_PHONE}")
    assert "Responda STOP" in answer


def test_a_spanish_borrowers_opt_out_is_confirmed_in_spanish(app: Flask, sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        board(session, phone=PHONE, locale="es_US")
    text = Texter(app.test_client())
    assert "Se ha dado de baja" in text("STOP") and "para obtener ayuda" in text("HELP")
    assert "Vuelve a estar suscrito" in text("START")


# -- delivery status --------------------------------------------------------------------------------


def sent_message(app: Flask, sessions: sessionmaker[Session], body: str = "Hi, this is Ana.") -> str:
    """Queue a specialist reply, send it through the real Twilio client, and return its MessageSid."""
    specialist_reply(sessions, body)
    http = RecordingHttpClient(sids=lambda: f"SM{uuid.uuid4().hex}")  # several messages may be sent in one test
    deliver_outbox(sessions, {"sms": twilio_sender(http)}, worker="w1", clock=lambda: datetime.now(UTC))
    with sessions() as session:
        sid = session.scalars(select(Message.provider_id).where(Message.body == body)).one()
        assert sid is not None
        return sid


def status_of(sessions: sessionmaker[Session], sid: str) -> tuple[str, str | None, bool]:
    with sessions() as session:
        message = session.scalars(select(Message).where(Message.provider_id == sid)).one()
        return message.status, message.error_code, message.delivered_at is not None


def report(app: Flask, sid: str, status: str, **extra: str) -> TestResponse:
    params = {"MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status,
              "AccountSid": "AC" + "0" * 32, "From": TWILIO_NUMBER, "To": PHONE, **extra}  # fmt: skip
    return signed_post(app.test_client(), params, path="/sms/twilio/status")


def test_status_callbacks_update_the_delivery_status(app: Flask, loan: str, sessions: sessionmaker[Session]) -> None:
    sid = sent_message(app, sessions)
    assert status_of(sessions, sid) == ("sent", None, False)
    assert report(app, sid, "delivered").status_code == 200
    assert status_of(sessions, sid) == ("delivered", None, True)
    report(app, sid, "sent")  # a late report does not move the message backwards
    assert status_of(sessions, sid) == ("delivered", None, True)


@pytest.mark.parametrize(("status", "code"), [("undelivered", "30003"), ("failed", "30007")])
def test_a_failed_delivery_keeps_twilios_error_code(
    app: Flask, loan: str, sessions: sessionmaker[Session], status: str, code: str
) -> None:
    sid = sent_message(app, sessions)
    assert report(app, sid, status, ErrorCode=code).status_code == 200
    assert status_of(sessions, sid) == (status, code, False)


def delivery_row(sessions: sessionmaker[Session], sid: str) -> tuple[str, str | None, datetime | None]:
    with sessions() as session:
        message = session.scalars(select(Message).where(Message.provider_id == sid)).one()
        return message.status, message.error_code, message.delivered_at


def test_a_failure_reported_after_the_delivery_does_not_move_the_message_backwards(
    app: Flask, loan: str, sessions: sessionmaker[Session]
) -> None:
    sid = sent_message(app, sessions)
    report(app, sid, "delivered")
    delivered = delivery_row(sessions, sid)
    for late in ("failed", "undelivered", "sent", "sending", "queued"):
        assert report(app, sid, late, ErrorCode="30007").status_code == 200
    assert delivery_row(sessions, sid) == delivered
    report(app, sid, "read")  # what comes after a delivery still moves it forward
    assert delivery_row(sessions, sid) == ("read", None, delivered[2])


def test_a_replayed_status_callback_changes_nothing(app: Flask, loan: str, sessions: sessionmaker[Session]) -> None:
    sid = sent_message(app, sessions)
    report(app, sid, "delivered")
    delivered = delivery_row(sessions, sid)
    assert report(app, sid, "delivered").status_code == 200
    assert delivery_row(sessions, sid) == delivered  # the delivery time is the first report's
    failed = sent_message(app, sessions, "Another reply.")
    report(app, failed, "undelivered", ErrorCode="30003")
    report(app, failed, "failed", ErrorCode="30007")  # the same step, said again differently
    assert delivery_row(sessions, failed) == ("undelivered", "30003", None)


def test_a_delivery_after_a_failure_report_is_recorded(app: Flask, loan: str, sessions: sessionmaker[Session]) -> None:
    sid = sent_message(app, sessions)
    report(app, sid, "undelivered", ErrorCode="30003")
    report(app, sid, "delivered")  # the carrier's receipt came late: the message did arrive
    assert status_of(sessions, sid) == ("delivered", "30003", True)


def test_a_status_for_an_unknown_message_is_ignored(app: Flask, sessions: sessionmaker[Session]) -> None:
    assert report(app, "SM" + "f" * 32, "delivered").status_code == 200
    with sessions() as session:
        assert session.scalar(select(Message)) is None


def test_an_unsigned_status_callback_is_refused(app: Flask, loan: str, sessions: sessionmaker[Session]) -> None:
    sid = sent_message(app, sessions)
    response = app.test_client().post("/sms/twilio/status", data={"MessageSid": sid, "MessageStatus": "failed"})
    assert response.status_code == 403
    assert status_of(sessions, sid) == ("sent", None, False)


def test_a_revocation_in_a_sensitive_sentence_is_honoured_and_reaches_a_person_silently(
    app: Flask, loan: str, sessions: sessionmaker[Session]
) -> None:
    answer = Texter(app.test_client())("stop texting me and talk to my attorney")
    assert "unsubscribed" in answer and "specialist" not in answer.lower()  # the confirmation is the one message
    with sessions() as session:
        conversation = the_conversation(session)
        assert (conversation.state, conversation.escalation_reason) == ("queued", "sensitive")
        assert is_opted_out(session, "sms", PHONE)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.text(max_size=400), num_media=st.text(max_size=3), sender=st.sampled_from([PHONE, "+15559990000", "x"]))
def test_a_fuzzed_message_never_breaks_the_webhook(app: Flask, body: str, num_media: str, sender: str) -> None:
    params = sms(body, sender, NumMedia=num_media, MediaUrl0="https://example.com/m.jpg")
    params = {name: value.replace("\x00", "") for name, value in params.items()}  # form fields cannot carry NUL
    replies = replies_in(signed_post(app.test_client(), params))
    assert all(segment_count(reply) <= 3 or reply.endswith(MORE_SUFFIX) for reply in replies)


def test_the_sms_engine_is_built_once_per_app(make_app: AppFactory) -> None:
    app = make_app()
    engine = app.extensions["loanline.sms"].engine
    Texter(app.test_client())("hi")
    Texter(app.test_client(), "+15559990000")("hello")
    assert app.extensions["loanline.sms"].engine is engine
    assert make_app().extensions["loanline.sms"].engine is not engine


# -- a long answer in the newer scripts: Chinese, Vietnamese, Korean, Filipino, Arabic -------------------------------
# The answer is the autopay authorization, among the longest the bot gives: each page fits in three segments and ends
# with the MORE hint in the borrower's language, and the borrower's own MORE word brings the rest.
MORE_WORD_OF = {"zh_Hans_US": "更多", "vi_VN": "thêm", "ko_KR": "더보기", "fil_PH": "more", "ar_EG": "المزيد"}


@pytest.mark.parametrize("locale", sorted(MORE_WORD_OF))
def test_a_long_answer_pages_in_the_borrowers_script_and_their_more_word_brings_the_rest(
    app: Flask, sessions: sessionmaker[Session], locale: str
) -> None:
    with sessions.begin() as session:
        number = board(session, phone=PHONE, locale=locale)
        add_bank_account(session, number, check_bank_details(ROUTING, ACCOUNT, "checking"), vault=VAULT, actor="ana")
    client = app.test_client()

    def text(body: str) -> list[str]:
        """Send an SMS; return the SMS messages the bot answers with."""
        return replies_in(signed_post(client, sms(body, PHONE)))

    text("autopay")
    hint = "\n" + Speaker(locale).say(MORE_HINT)
    pages, asked_for_more = text("1980-05-04"), 0
    while pages[-1].endswith(hint) and asked_for_more < 10:
        pages.extend(text(MORE_WORD_OF[locale]))
        asked_for_more += 1
    if locale == "zh_Hans_US":  # Chinese says it in under 201 characters: three UCS-2 segments, one page
        assert asked_for_more == 0  # (a Chinese answer that pages: tests/unit/test_sms_every_script.py)
    else:
        assert asked_for_more >= 1, "longer than three segments: it was paged, and MORE brought the rest"
    assert all(segment_count(page) <= MAX_SEGMENTS for page in pages)
    assert not pages[-1].endswith(hint)
    whole = " ".join(page.removesuffix(hint) for page in pages)
    assert "6789" in whole and ACCOUNT not in whole  # the account's last four digits only
    assert is_gsm7(whole) == (locale == "fil_PH")  # Filipino stays in GSM-7; the other scripts need UCS-2
    assert Speaker(locale).say("Reply YES to authorize these automatic payments, or NO.") in whole
