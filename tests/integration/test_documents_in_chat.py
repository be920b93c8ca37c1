"""Documents in the chat: announced on the borrower's channel, handed over only after verification (a Telegram
document through the Bot API, a single-use link elsewhere), the link pages, and E-SIGN consent given in the chat."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from aiogram.client.telegram import TelegramAPIServer
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.telegram import TelegramSender
from bot.engine import Engine, InboundMessage, Reply
from servicing.config import Settings
from servicing.documents.delivery import issue_link, notify_ready_documents, record_consent, set_preference
from servicing.documents.records import delivery_for
from servicing.documents.render import Renderer
from servicing.outbox import deliver_outbox
from servicing.store.models import AuditEntry, DeliveryPreference, Document, EsignConsent, Message
from tests.conftest import SECRET
from tests.fake_bot_api import FakeBotAPI, contact_update, text_update
from tests.integration.console_helpers import sessions_of
from tests.integration.document_helpers import Notices, a_loan, keep_notice, render_notices
from tests.integration.helpers import Clock
from tests.integration.test_console_auth import dispose, make_console
from tests.integration.test_telegram_bot import TOKEN, CountingEngine, run_polling_scenario, say

TODAY = date(2026, 3, 20)
NOW = datetime(2026, 3, 20, 20, 0, tzinfo=UTC)  # Friday 16:00 in New York, 10:00 in Honolulu: every US zone's hours
PHONE, CHAT = "+15557770042", 5001
DATE_OF_BIRTH = "05/04/1980"  # the borrower of tests/integration/helpers.MORTGAGE_ROW


@pytest.fixture(scope="module")
def notices() -> Notices:
    return render_notices(Renderer(), TODAY)


def settings_for(tmp_path: Path, **extra: str) -> Settings:
    return Settings.from_env({
        "LOANLINE_SECRET_KEY": SECRET, "LOANLINE_TODAY": TODAY.isoformat(), "LOANLINE_INSTANCE_PATH": str(tmp_path),
        "LOANLINE_DOCUMENTS_DIR": str(tmp_path / "documents"), **extra,
    })  # fmt: skip


def audit_actions(session: Session) -> list[str]:
    return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


# -- Telegram: the notice, then the file, after verification ----------------------------------------------------


def test_a_telegram_borrower_told_of_a_document_gets_the_file_only_after_verifying(
    sessions: sessionmaker[Session], notices: Notices, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN)
    clock = Clock(NOW)
    loanline = CountingEngine(sessions, settings, clock=clock)
    with sessions.begin() as session:
        loan = a_loan(session, phone=PHONE)
        record_consent(session, loan.borrower_id, actor="sam", method="console_phone", evidence="by phone", now=NOW)
        set_preference(session, loan.borrower_id, "*", "electronic", actor="sam", now=NOW)
        loan_id = loan.id

    def announce(api: FakeBotAPI) -> int:
        with sessions.begin() as session:
            document = keep_notice(session, settings.documents_dir, session.get_one(type(loan), loan_id),
                                   notices.one_page, TODAY)  # fmt: skip
            assert notify_ready_documents(session, TODAY, actor="eod", now=clock()) == (1, 0)
            document_id = document.id
        sender = TelegramSender(TOKEN, TelegramAPIServer.from_base(api.base_url))
        assert deliver_outbox(sessions, {"telegram": sender}, worker="w", clock=clock).sent == 1
        return document_id

    async def scenario(api: FakeBotAPI) -> None:
        await say(api, loanline, text_update(CHAT, "balance"))  # links the chat: contact, then date of birth
        await say(api, loanline, contact_update(CHAT, PHONE.lstrip("+"), CHAT))
        assert "principal balance" in await say(api, loanline, text_update(CHAT, DATE_OF_BIRTH))
        document_id = await asyncio.to_thread(announce, api)
        told = str(api.sent(CHAT)[-1].fields["text"])
        assert "is ready: Late payment notice. Reply DOCUMENTS to receive it here." in told and "$" not in told
        clock.now = NOW + timedelta(hours=1)  # the verified session is over
        assert "date of birth" in await say(api, loanline, text_update(CHAT, "DOCUMENTS"))
        assert api.documents(CHAT) == []
        assert "verified" in await say(api, loanline, text_update(CHAT, DATE_OF_BIRTH))
        deadline = time.monotonic() + 10
        while not api.documents(CHAT) or not await asyncio.to_thread(status_of, sessions, document_id, "sent"):
            assert time.monotonic() < deadline, "no document was sent"
            await asyncio.sleep(0.05)
        [sent] = api.documents(CHAT)
        name, content = sent.files["document"]
        assert content == notices.one_page.pdf and name.startswith("late_notice-") and name.endswith(".pdf")
        assert str(sent.fields["caption"]).startswith("Here is your document: Late payment notice, ")

    run_polling_scenario(loanline, scenario)
    with sessions() as session:
        document = session.scalars(select(Document)).one()
        assert (document.delivery, document.delivery_status) == ("electronic", "sent")
        assert document.delivered_at is not None
        assert audit_actions(session)[-1] == "document.sent"
        outbound = session.scalars(select(Message).where(Message.direction == "out")).all()
        assert [m.attachments[0]["document_id"] for m in outbound if m.attachments] == [document.id]


def status_of(sessions: sessionmaker[Session], document_id: int, status: str) -> bool:
    with sessions() as session:
        return session.get_one(Document, document_id).delivery_status == status


# -- SMS: a link, the link pages, and consent given in the chat -------------------------------------------------


@pytest.fixture
def app(database_url: str, cli_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    monkeypatch.setenv("LOANLINE_TODAY", TODAY.isoformat())
    monkeypatch.setenv("LOANLINE_DOCUMENTS_DIR", str(tmp_path / "documents"))
    monkeypatch.setenv("LOANLINE_PUBLIC_URL", "https://loans.example.com")
    app = make_console(database_url)
    yield app
    dispose(app)


def chat(engine: Engine, text: str, number: list[int]) -> list[Reply]:
    number[0] += 1
    return engine.handle(InboundMessage("sms", PHONE, text, provider_id=f"SM{number[0]:032d}"))


def words(replies: list[Reply]) -> str:
    return "\n".join(reply.text for reply in replies)


def test_an_sms_borrower_gets_a_single_use_link_and_consents_to_electronic_documents(
    app: Flask, notices: Notices
) -> None:
    sessions = sessions_of(app)
    settings: Settings = app.extensions["loanline.settings"]
    engine = Engine(sessions, settings)  # the link pages read the real clock: so does the bot that makes links
    with sessions.begin() as session:
        loan = a_loan(session, phone=PHONE)
        older = keep_notice(session, settings.documents_dir, loan, notices.one_page, TODAY - timedelta(30))
        newer = keep_notice(session, settings.documents_dir, loan, notices.two_pages, TODAY, period="fee:2")
        ids, borrower_id = (newer.id, older.id), loan.borrower_id
    turn = [0]
    assert "date of birth" in words(chat(engine, "send me my documents", turn))
    replies = chat(engine, DATE_OF_BIRTH, turn)
    assert "Which document would you like? Reply with its number." in words(replies)
    assert [value for _label, value in replies[-1].options] == [f"doc:{ids[0]}", f"doc:{ids[1]}"]
    assert replies[-1].options[0][0] == "Late payment notice, March 20, 2026"
    answer = words(chat(engine, "2", turn))
    assert "Here is your document: Late payment notice, February 18, 2026." in answer
    assert "Reply YES to read how it works" in answer  # no consent yet: electronic delivery is offered
    link = next(word for word in answer.split() if word.startswith("https://loans.example.com/d/"))
    token = link.rsplit("/", 1)[1]
    with sessions() as session:
        kept = session.scalars(select(Message.body).where(Message.direction == "out")).all()
        assert not any(token in body for body in kept) and any("/d/…" in body for body in kept)

    client = app.test_client()
    page = client.get(f"/d/{token}")
    assert page.status_code == 200 and "Download the PDF" in page.get_data(as_text=True)
    assert status_of(sessions, ids[1], "pending")  # paper: a copy in the chat does not change its delivery
    download = client.post(f"/d/{token}")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert download.data == notices.one_page.pdf
    assert download.headers["Content-Disposition"].startswith('attachment; filename="late_notice-')
    assert download.headers["Cache-Control"] == "no-store"
    for again in (client.post(f"/d/{token}"), client.get(f"/d/{token}")):
        assert again.status_code == 410 and "This link was already used" in again.get_data(as_text=True)
    unknown = client.get("/d/" + "A" * 32)
    assert unknown.status_code == 404 and "This link is not valid" in unknown.get_data(as_text=True)

    disclosure = words(chat(engine, "yes", turn))
    assert "You need a phone or computer that can open PDF files" in disclosure
    assert "free of charge, by calling +1 800 555 0100" in disclosure and "Reply YES if you could open" in disclosure
    assert "electronically" in words(chat(engine, "YES", turn))
    with sessions() as session:
        given = session.scalars(select(EsignConsent)).one()
        assert (given.borrower_id, given.recorded_by, given.method) == (borrower_id, "bot", "sms")
        assert f"after document {ids[1]}" in given.evidence and "'YES'" in given.evidence
        preference = session.scalars(select(DeliveryPreference)).one()
        assert (preference.kind, preference.channel, preference.changed_by) == ("*", "electronic", "bot")
        assert delivery_for(session, borrower_id, "statement") == "electronic"
        assert {"document.link_sent", "document.downloaded", "esign.consent_recorded",
                "delivery.preference_set"} <= set(audit_actions(session))  # fmt: skip


def test_no_keeps_paper_and_the_consent_is_asked_only_on_an_explicit_yes(app: Flask, notices: Notices) -> None:
    sessions = sessions_of(app)
    settings: Settings = app.extensions["loanline.settings"]
    engine = Engine(sessions, settings)
    with sessions.begin() as session:
        keep_notice(session, settings.documents_dir, a_loan(session, phone=PHONE), notices.one_page, TODAY)
    turn = [0]
    chat(engine, "documents", turn)
    assert "Reply YES to read how it works" in words(chat(engine, DATE_OF_BIRTH, turn))  # the only one: sent at once
    assert "Reply YES if you could open" in words(chat(engine, "yes", turn))
    assert words(chat(engine, "no", turn)) == "OK, your documents keep coming on paper."
    with sessions() as session:
        assert session.scalars(select(EsignConsent)).all() == []


def test_a_spanish_borrowers_expired_link_says_so_in_spanish(app: Flask, notices: Notices) -> None:
    sessions = sessions_of(app)
    settings: Settings = app.extensions["loanline.settings"]
    with sessions.begin() as session:
        document = keep_notice(session, settings.documents_dir, a_loan(session, locale="es_US"), notices.one_page,
                               TODAY)  # fmt: skip
        live = issue_link(session, document, channel="sms", now=datetime.now(UTC), base_url=None)
        stale = issue_link(session, document, channel="sms", now=datetime.now(UTC) - timedelta(hours=25), base_url=None)
    client = app.test_client()
    page = client.get("/d/" + live.rsplit("/", 1)[1])
    assert "Descargar el PDF" in page.get_data(as_text=True) and 'lang="es"' in page.get_data(as_text=True)
    expired = client.post("/d/" + stale.rsplit("/", 1)[1])
    assert expired.status_code == 410 and "Este enlace venció" in expired.get_data(as_text=True)


def test_an_arabic_borrowers_download_page_reads_right_to_left_and_a_chinese_ones_left_to_right(
    app: Flask, notices: Notices
) -> None:
    sessions = sessions_of(app)
    settings: Settings = app.extensions["loanline.settings"]
    links = {}
    with sessions.begin() as session:
        for locale in ("ar_EG", "zh_Hans_US"):
            document = keep_notice(session, settings.documents_dir, a_loan(session, locale=locale), notices.one_page,
                                   TODAY)  # fmt: skip
            links[locale] = issue_link(session, document, channel="sms", now=datetime.now(UTC), base_url=None)
    client = app.test_client()
    arabic = client.get("/d/" + links["ar_EG"].rsplit("/", 1)[1]).get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in arabic and "تنزيل ملف PDF" in arabic
    chinese = client.get("/d/" + links["zh_Hans_US"].rsplit("/", 1)[1]).get_data(as_text=True)
    assert '<html lang="zh-CN" dir="ltr">' in chinese and "下载PDF" in chinese
