"""Revoking consent in any of the 8 languages, on SMS and on a chat: honoured at once, confirmed once in the
borrower's language, per purpose; START gives everything back; the outreach that follows respects it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.sms import respond_by_sms
from bot.consent import OPTED_OUT, RESTORED, REVOKED_ALL, REVOKED_COLLECTION, REVOKED_REMINDERS
from bot.engine import Engine, InboundMessage
from servicing.config import Settings
from servicing.conversations import find_or_open_conversation, is_opted_out, revoked_purposes
from servicing.outreach.reminders import Outreach, queue_outreach
from servicing.rules.contact import DEFAULT_RULES
from servicing.speaking import Speaker
from servicing.store.models import AuditEntry, ContactDecision
from tests.integration.helpers import Clock, board

NOW = datetime(2026, 1, 27, 16, 0, tzinfo=UTC)
PHONE, CHAT = "+15557770042", "chat-4242"
# One way each language says "stop texting me" (all), "no more reminders" and "no more collection messages".
REVOCATIONS = {
    "en_US": ("please stop texting me", "no more reminders", "stop the past due messages"),
    "es_US": ("dejen de enviarme mensajes", "no quiero más recordatorios", "no más mensajes de cobranza"),
    "fr_CA": ("ne m'écrivez plus", "je ne veux plus de rappels", "arrêtez les relances"),
    "pt_BR": ("pare de me mandar mensagens", "chega de lembretes", "não quero mensagens de cobrança"),
    "de_DE": ("keine Nachrichten mehr bitte", "keine Erinnerungen mehr", "keine Mahnungen mehr"),
    "it_IT": ("non scrivetemi più", "basta promemoria", "basta solleciti"),
    "hi_IN": ("मुझे मैसेज मत भेजो", "reminder band karo", "vasuli ke message band karo"),
    "id_ID": ("berhenti mengirim pesan", "jangan kirim pengingat lagi", "jangan kirim pesan tagihan lagi"),
    "zh_Hans_US": ("请别再给我发短信了", "不要再发还款提醒了", "别再发催款短信了"),
    "vi_VN": ("đừng nhắn tin cho tôi nữa", "ngừng nhắc nhở giùm tôi", "đừng nhắn đòi nợ nữa"),
    "ko_KR": ("문자 보내지 마세요", "납부 알림 그만 보내세요", "독촉 문자 그만 보내세요"),
    "fil_PH": ("wag na po kayong mag text", "ayoko na ng paalala", "itigil nyo na ang paniningil sa text"),
    "ar_EG": ("لا ترسلوا لي رسائل بعد الآن", "وقف التذكيرات من فضلك", "بطلوا رسايل المطالبة"),
}


def texter(sessions: sessionmaker[Session], settings: Settings, channel: str, address: str) -> Callable[[str], str]:
    respond = respond_by_sms if channel == "sms" else None
    engine = Engine(sessions, settings, clock=Clock(NOW), respond=respond)
    sent = iter(range(1, 1000))

    def send(text: str) -> str:
        replies = engine.handle(InboundMessage(channel, address, text, provider_id=f"{address}-{next(sent)}"))
        return "\n".join(reply.text for reply in replies)

    return send


def borrower_on(sessions: sessionmaker[Session], locale: str, channel: str) -> str:
    """Board a borrower speaking `locale`; on a chat, open the chat already linked to them. Return the address."""
    with sessions.begin() as session:
        board(session, phone=PHONE, locale=locale, timezone="America/New_York")
        if channel == "sms":
            return PHONE
        conversation = find_or_open_conversation(session, channel, CHAT, NOW)
        conversation.borrower_id = find_or_open_conversation(session, "sms", PHONE, NOW).borrower_id
        conversation.locale = locale
        return CHAT


def said(locale: str, message: str, settings: Settings) -> str:
    return Speaker(locale).say(message, servicer=settings.servicer_name)


@pytest.mark.parametrize("locale", sorted(REVOCATIONS))
def test_stop_texting_me_in_any_language_stops_every_text_at_once_and_is_confirmed_once(
    sessions: sessionmaker[Session], settings: Settings, locale: str
) -> None:
    send = texter(sessions, settings, "sms", borrower_on(sessions, locale, "sms"))
    everything = REVOCATIONS[locale][0]
    assert send(everything) == said(locale, OPTED_OUT, settings)
    with sessions() as session:
        assert is_opted_out(session, "sms", PHONE)
    assert send(everything) == ""  # confirmed once
    assert send("balance") == ""  # nothing more until START


@pytest.mark.parametrize("locale", sorted(REVOCATIONS))
@pytest.mark.parametrize("scope", [1, 2])
def test_revoking_reminders_or_collection_messages_in_any_language_is_confirmed_once_for_that_purpose(
    sessions: sessionmaker[Session], settings: Settings, locale: str, scope: int
) -> None:
    send = texter(sessions, settings, "sms", borrower_on(sessions, locale, "sms"))
    purpose, confirmation = (("reminder", REVOKED_REMINDERS), ("collection", REVOKED_COLLECTION))[scope - 1]
    assert send(REVOCATIONS[locale][scope]) == said(locale, confirmation, settings)
    assert send(REVOCATIONS[locale][scope]) == ""
    with sessions() as session:
        assert revoked_purposes(session, "sms", PHONE) == {purpose}
        assert not is_opted_out(session, "sms", PHONE)
    assert send("balance") != ""  # the bot still answers


@pytest.mark.parametrize("locale", ["en_US", "fr_CA", "hi_IN", "zh_Hans_US", "ar_EG"])
def test_on_a_chat_a_revocation_stops_the_servicers_messages_but_not_the_answers(
    sessions: sessionmaker[Session], settings: Settings, locale: str
) -> None:
    send = texter(sessions, settings, "telegram", borrower_on(sessions, locale, "telegram"))
    assert send(REVOCATIONS[locale][0]) == said(locale, REVOKED_ALL, settings)
    assert send("STOP") == ""
    with sessions() as session:
        assert revoked_purposes(session, "telegram", CHAT) == {"servicing", "reminder", "collection"}
        assert not is_opted_out(session, "telegram", CHAT)  # a specialist may still reply
    assert send("balance") != ""
    assert send("START") == said(locale, RESTORED, settings)
    with sessions() as session:
        assert revoked_purposes(session, "telegram", CHAT) == frozenset()


def test_start_on_sms_gives_back_every_purpose(sessions: sessionmaker[Session], settings: Settings) -> None:
    send = texter(sessions, settings, "sms", borrower_on(sessions, "en_US", "sms"))
    send("no more reminders")
    send("stop the past due messages")
    assert "subscribed again" in send("START")
    with sessions() as session:
        assert revoked_purposes(session, "sms", PHONE) == frozenset()
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("consent.%"))).all()
        assert actions == ["consent.revoked", "consent.revoked", "consent.restored"]


def test_a_revocation_is_honoured_while_a_specialist_holds_the_conversation(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    send = texter(sessions, settings, "sms", borrower_on(sessions, "es_US", "sms"))
    send("agent")
    assert send("dejen de enviarme mensajes") == said("es_US", OPTED_OUT, settings)
    with sessions() as session:
        assert is_opted_out(session, "sms", PHONE)


def test_reminders_revoked_by_text_are_not_sent_while_other_messages_are(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    send = texter(sessions, settings, "sms", borrower_on(sessions, "pt_BR", "sms"))
    send("chega de lembretes")
    with sessions.begin() as session:
        queue_outreach(session, date(2026, 1, 27), Outreach(DEFAULT_RULES, NOW, "Acme", "+1 800 555 0199"))
    with sessions() as session:
        rows = session.execute(select(ContactDecision.kind, ContactDecision.status, ContactDecision.reason)).all()
    assert [tuple(row) for row in rows] == [("payment_reminder", "suppressed", "opted_out")]
