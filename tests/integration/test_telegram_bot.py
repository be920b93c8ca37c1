"""Telegram end to end: the real aiogram bot and polling loop against a local fake Bot API server, the real
engine on a real database: linking a chat, handoff, specialist replies, duplicates, flood control, webhook."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramUnauthorizedError
from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.telegram import (
    WEBHOOK_PATH,
    SendPacer,
    TelegramSender,
    build_dispatcher,
    make_bot,
    run_polling,
    webhook_app,
)
from bot.engine import Engine, InboundMessage, Reply
from servicing.config import Settings
from servicing.conversations import claim_conversation, find_or_open_conversation, record_outbound
from servicing.outbox import deliver_outbox
from servicing.store.models import Conversation, Message, OutboxItem
from tests.conftest import SECRET
from tests.fake_bot_api import FakeBotAPI, button_update, contact_update, document_update, text_update
from tests.integration.helpers import board

TOKEN = "4242:TEST-token"
WEBHOOK_SECRET = "webhook-secret-for-tests"
PHONE, LOAN = "+15557770042", "4400042042"
NOW = datetime(2026, 3, 20, 15, 0, tzinfo=UTC)  # Friday 11:00 in New York: specialists are in
CHAT, STRANGER = 5001, 5002
TIME_LIMIT = 30.0  # seconds any one scenario may take


class CountingEngine(Engine):
    """The real loanline, counting the messages it has finished handling so tests know when a turn is over."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.handled = 0
        self._lock = threading.Lock()

    def handle(self, inbound: InboundMessage) -> list[Reply]:
        try:
            return super().handle(inbound)
        finally:
            with self._lock:
                self.handled += 1

    async def wait_handled(self, count: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self.handled < count:
            assert time.monotonic() < deadline, f"the engine handled {self.handled} of {count} messages"
            await asyncio.sleep(0.02)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env({
        "LOANLINE_SECRET_KEY": SECRET, "LOANLINE_TODAY": "2026-03-20", "LOANLINE_INSTANCE_PATH": str(tmp_path),
        "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
    })  # fmt: skip


@pytest.fixture
def loanline(sessions: sessionmaker[Session], settings: Settings) -> CountingEngine:
    with sessions.begin() as session:
        board(session, loan_number=LOAN, phone=PHONE)
    return CountingEngine(sessions, settings, clock=lambda: NOW)


Scenario = Callable[[FakeBotAPI], Awaitable[None]]


def run_polling_scenario(loanline: Engine, scenario: Scenario) -> None:
    """Run the real polling loop against a fresh fake server while the scenario plays, then stop it."""

    async def main() -> None:
        api = await FakeBotAPI().start()
        bot = make_bot(TOKEN, TelegramAPIServer.from_base(api.base_url))
        dispatcher = build_dispatcher(loanline, SendPacer(per_chat=0.0, overall=0.0))
        polling = asyncio.create_task(dispatcher.start_polling(bot, handle_signals=False, polling_timeout=1))
        try:
            await asyncio.wait_for(scenario(api), TIME_LIMIT)
        finally:
            try:
                await asyncio.wait_for(dispatcher.stop_polling(), 5)
            except RuntimeError:  # the loop had not started yet
                polling.cancel()
            await asyncio.gather(polling, return_exceptions=True)
            await api.stop()

    asyncio.run(main())


def texts(api: FakeBotAPI, chat_id: int = CHAT) -> list[str]:
    return [str(call.fields["text"]) for call in api.sent(chat_id)]


async def say(api: FakeBotAPI, loanline: CountingEngine, update: dict[str, object]) -> str:
    """Send one update and return everything the bot answered to it."""
    before, handled = len(api.sent()), loanline.handled
    api.push(update)
    await loanline.wait_handled(handled + 1)
    await asyncio.sleep(0.1)  # replies are sent right after the engine answers
    return "\n".join(str(call.fields["text"]) for call in api.sent()[before:])


def test_a_chat_links_by_its_own_contact_then_date_of_birth_and_hears_its_balance(
    loanline: CountingEngine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    async def scenario(api: FakeBotAPI) -> None:
        assert "share your phone number" in await say(api, loanline, text_update(CHAT, "balance"))
        keyboard = api.sent(CHAT)[-1].fields["reply_markup"]
        assert keyboard["keyboard"][0][0]["request_contact"] is True and keyboard["one_time_keyboard"] is True
        assert "date of birth" in await say(api, loanline, contact_update(CHAT, PHONE.lstrip("+"), CHAT))
        assert "principal balance $150,000.00" in await say(api, loanline, text_update(CHAT, "05/04/1980"))

    run_polling_scenario(loanline, scenario)
    with loanline.sessions() as session:
        assert session.scalar(select(Conversation.borrower_id)) is not None
    assert caplog.records and PHONE[2:] not in caplog.text and "1980" not in caplog.text


def test_a_contact_of_someone_else_is_not_accepted(loanline: CountingEngine) -> None:
    async def scenario(api: FakeBotAPI) -> None:
        await say(api, loanline, text_update(CHAT, "balance"))
        await say(api, loanline, contact_update(CHAT, PHONE, contact_user_id=STRANGER))
        assert "principal balance" not in await say(api, loanline, text_update(CHAT, "05/04/1980"))

    run_polling_scenario(loanline, scenario)
    with loanline.sessions() as session:
        assert session.scalar(select(Conversation.borrower_id)) is None


def test_a_chat_links_by_loan_number_and_two_factors(loanline: CountingEngine) -> None:
    async def scenario(api: FakeBotAPI) -> None:
        await say(api, loanline, text_update(CHAT, "balance"))
        assert "date of birth" in await say(api, loanline, text_update(CHAT, LOAN))
        assert "tax ID" in await say(api, loanline, text_update(CHAT, "05/04/1980"))
        answer = await say(api, loanline, text_update(CHAT, "1234"))
        assert "principal balance" in answer and LOAN not in answer

    run_polling_scenario(loanline, scenario)


def test_new_chats_guessing_a_loan_learn_nothing_from_each_factor_and_lock_it_together(
    loanline: CountingEngine,
) -> None:
    async def scenario(api: FakeBotAPI) -> None:
        answers = []
        for chat_id, date_of_birth in ((6001, "05/04/1980"), (6002, "01/01/1999"), (6003, "02/02/1999")):
            await say(api, loanline, text_update(chat_id, "balance"))
            await say(api, loanline, text_update(chat_id, LOAN))
            answers.append(await say(api, loanline, text_update(chat_id, date_of_birth)))
            answers.append(await say(api, loanline, text_update(chat_id, "9999")))
        assert answers[0] == answers[2] == answers[4] and "tax ID" in answers[0]  # right or wrong, the same question
        assert "doesn't match" in answers[1] and "doesn't match" in answers[3]
        assert "paused for 30 minutes" in answers[5]  # a third chat, yet the third failure on this loan
        await say(api, loanline, text_update(6004, "balance"))
        told = await say(api, loanline, text_update(6004, LOAN))
        assert "Reply AGENT to talk to a person" in told and "date of birth" not in told

    run_polling_scenario(loanline, scenario)


def test_an_inline_button_press_is_the_borrowers_answer(loanline: CountingEngine) -> None:
    async def scenario(api: FakeBotAPI) -> None:
        assert "share your phone number" in await say(api, loanline, button_update(CHAT, "balance"))
        assert any(call.method == "answerCallbackQuery" for call in api.calls)

    run_polling_scenario(loanline, scenario)


def test_after_asking_for_a_person_the_bot_stays_silent_and_the_specialist_reply_arrives(
    loanline: CountingEngine, sessions: sessionmaker[Session]
) -> None:
    async def scenario(api: FakeBotAPI) -> None:
        assert "specialist" in await say(api, loanline, text_update(CHAT, "talk to a person"))
        assert await say(api, loanline, text_update(CHAT, "are you there?")) == ""
        await asyncio.to_thread(specialist_replies, sessions, "Hi, I'm Ana from servicing.")
        sender = TelegramSender(TOKEN, TelegramAPIServer.from_base(api.base_url))
        report = await asyncio.to_thread(deliver_outbox, sessions, {"telegram": sender}, worker="w", clock=lambda: NOW)
        assert report.sent == 1
        assert texts(api)[-1] == "Hi, I'm Ana from servicing."

    run_polling_scenario(loanline, scenario)
    with sessions() as session:
        provider_id = session.scalar(select(OutboxItem.provider_id))
        assert provider_id is not None and provider_id.startswith(f"{CHAT}:")  # message ids are per chat


def specialist_replies(sessions: sessionmaker[Session], body: str) -> None:
    with sessions.begin() as session:
        conversation = session.scalar(select(Conversation))
        assert conversation is not None
        claim_conversation(session, conversation.id, "ana", NOW)
        record_outbound(session, conversation, body, author="specialist:ana", now=NOW, deliver_later=True)


def test_the_outbox_waits_as_telegram_asks_and_gives_up_on_a_chat_that_blocked_the_bot(
    loanline: CountingEngine, sessions: sessionmaker[Session]
) -> None:
    async def scenario(api: FakeBotAPI) -> None:
        await say(api, loanline, text_update(CHAT, "talk to a person"))
        await asyncio.to_thread(specialist_replies, sessions, "First try.")
        sender = TelegramSender(TOKEN, TelegramAPIServer.from_base(api.base_url))
        api.refuse_next("sendMessage", retry_after=7)
        waited = await asyncio.to_thread(deliver_outbox, sessions, {"telegram": sender}, worker="w", clock=lambda: NOW)
        api.block(CHAT)
        blocked = await asyncio.to_thread(deliver_outbox, sessions, {"telegram": sender}, worker="w",
                                          clock=lambda: NOW.replace(minute=1))  # fmt: skip
        assert (waited.retried, blocked.given_up) == (1, 1)

    run_polling_scenario(loanline, scenario)
    with sessions() as session:
        item = session.scalar(select(OutboxItem))
        assert item is not None
        assert (item.status, item.attempts) == ("gave_up", 2)
        assert item.last_error is not None and item.last_error.startswith("403")


def test_the_same_update_twice_is_answered_once(loanline: CountingEngine, sessions: sessionmaker[Session]) -> None:
    pushed: list[int] = []

    async def scenario(api: FakeBotAPI) -> None:
        await say(api, loanline, text_update(CHAT, "hi"))
        before = len(api.sent())
        update = text_update(CHAT, "help")
        update_id = api.push(update)  # numbered after "hi": an id below the bot's offset would never be served
        api.push(update, update_id=update_id)
        pushed.append(update_id)
        await loanline.wait_handled(3)
        await asyncio.sleep(0.2)
        assert len(api.sent()) - before >= 1
        answered = len(api.sent()) - before
        await asyncio.sleep(0.3)
        assert len(api.sent()) - before == answered

    run_polling_scenario(loanline, scenario)
    with sessions() as session:
        assert len(session.scalars(select(Message).where(Message.provider_id == str(pushed[0]))).all()) == 1


def test_a_429_is_honoured_by_waiting_retry_after_before_sending_again(loanline: CountingEngine) -> None:
    async def scenario(api: FakeBotAPI) -> None:
        api.refuse_next("sendMessage", retry_after=1)
        api.push(text_update(CHAT, "balance"))
        await api.wait_for_sent(1, CHAT)
        attempts = [call for call in api.calls if call.method == "sendMessage"]
        assert len(attempts) == 2 and attempts[0].fields["_refused"]
        assert attempts[1].at - attempts[0].at >= 0.95

    run_polling_scenario(loanline, scenario)


def test_documents_and_photos_reach_the_conversation_as_attachments(
    loanline: CountingEngine, sessions: sessionmaker[Session]
) -> None:
    async def scenario(api: FakeBotAPI) -> None:
        await say(api, loanline, document_update(CHAT, "FILE-1", "application/pdf", caption="my hardship letter"))

    run_polling_scenario(loanline, scenario)
    with sessions() as session:
        message = session.scalar(select(Message).where(Message.direction == "in"))
        assert message is not None
        assert message.attachments == [{"file_id": "FILE-1", "kind": "document", "mime": "application/pdf"}]
        assert message.body == "my hardship letter"


def test_the_webhook_answers_only_telegram_and_feeds_each_update_once(
    loanline: CountingEngine, settings: Settings
) -> None:
    def answers(status: str) -> float:
        labels = {"channel": "telegram", "status": status}
        return REGISTRY.get_sample_value("loanline_webhook_answers_total", labels) or 0

    counted_before = {status: answers(status) for status in ("200", "400", "403")}

    async def main() -> None:
        api = await FakeBotAPI().start()
        bot = make_bot(TOKEN, TelegramAPIServer.from_base(api.base_url))
        runner = aiohttp.web.AppRunner(webhook_app(settings, loanline, bot, SendPacer(per_chat=0.0, overall=0.0)))
        await runner.setup()
        site = aiohttp.web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}{WEBHOOK_PATH}"
        update = {"update_id": 9001, **text_update(CHAT, "balance")}
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as client:
                statuses = []
                for secret in ("wrong", None):
                    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
                    async with client.post(url, json=update, headers=headers) as response:
                        statuses.append(response.status)
                assert statuses == [403, 403] and loanline.handled == 0
                right = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
                async with client.post(url, data="not json", headers=right) as response:
                    assert response.status == 400
                for _ in range(2):  # Telegram retries a webhook it thinks failed
                    async with client.post(url, json=update, headers=right) as response:
                        assert response.status == 200
            assert loanline.handled == 2
            assert ["share your phone number" in text for text in texts(api)] == [True]
        finally:
            await runner.cleanup()
            await api.stop()

    asyncio.run(asyncio.wait_for(main(), TIME_LIMIT))
    grown = {status: answers(status) - before for status, before in counted_before.items()}
    assert grown == {"200": 2, "400": 1, "403": 2}  # the metrics count every answer, refusals included


class BrokenEngine(Engine):
    """An engine with a bug: the adapter's one error handler must still answer, and log nothing private."""

    def handle(self, inbound: InboundMessage) -> list[Reply]:
        raise RuntimeError(f"could not understand {inbound.text!r}")


def test_an_error_is_answered_politely_and_logged_without_the_borrowers_words(
    sessions: sessionmaker[Session], settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    async def scenario(api: FakeBotAPI) -> None:
        api.push(text_update(CHAT, "my tax id is 987-65-4321"))
        [apology] = await api.wait_for_sent(1, CHAT)
        assert "Sorry" in str(apology.fields["text"])

    run_polling_scenario(BrokenEngine(sessions, settings, clock=lambda: NOW), scenario)
    assert "RuntimeError" in caplog.text and "987-65-4321" not in caplog.text


def test_polling_with_a_token_telegram_refuses_fails_at_once(loanline: CountingEngine, settings: Settings) -> None:
    async def main() -> None:
        api = await FakeBotAPI().start()
        try:
            revoked = dataclasses.replace(settings, telegram_bot_token="0:revoked-token")
            with pytest.raises(TelegramUnauthorizedError):
                await run_polling(revoked, loanline, TelegramAPIServer.from_base(api.base_url))
        finally:
            await api.stop()

    asyncio.run(asyncio.wait_for(main(), TIME_LIMIT))


def test_a_borrower_typing_fast_is_answered_in_order(loanline: CountingEngine) -> None:
    async def scenario(api: FakeBotAPI) -> None:
        api.push(text_update(CHAT, "balance"))  # all three arrive in one getUpdates answer
        api.push(contact_update(CHAT, PHONE, CHAT))
        api.push(text_update(CHAT, "05/04/1980"))
        await loanline.wait_handled(3)
        sent = await api.wait_for_sent(4, CHAT)
        said = [str(call.fields["text"]) for call in sent]
        assert "share your phone number" in said[0] and "date of birth" in said[1]
        assert "principal balance" in "\n".join(said[2:])

    run_polling_scenario(loanline, scenario)


def test_the_share_phone_button_is_labelled_in_the_chats_language(
    loanline: CountingEngine, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        find_or_open_conversation(session, "telegram", str(CHAT), NOW).locale = "es"

    async def scenario(api: FakeBotAPI) -> None:
        await say(api, loanline, text_update(CHAT, "saldo"))
        keyboard = api.sent(CHAT)[-1].fields["reply_markup"]["keyboard"]
        assert keyboard[0][0] == {"text": "📱 Compartir mi número de teléfono", "request_contact": True}

    run_polling_scenario(loanline, scenario)


def queue_for_chats(sessions: sessionmaker[Session], *chats: int) -> None:
    with sessions.begin() as session:
        for number, chat in enumerate(chats):
            conversation = find_or_open_conversation(session, "telegram", str(chat), NOW)
            record_outbound(session, conversation, f"Reply {number}", author="specialist:ana", now=NOW,
                            deliver_later=True)  # fmt: skip


def with_fake_api(play: Callable[[FakeBotAPI], Awaitable[None]]) -> None:
    async def main() -> None:
        api = await FakeBotAPI().start()
        try:
            await asyncio.wait_for(play(api), TIME_LIMIT)
        finally:
            await api.stop()

    asyncio.run(main())


def test_after_a_429_the_outbox_holds_the_rest_of_telegram_until_retry_after(sessions: sessionmaker[Session]) -> None:
    queue_for_chats(sessions, CHAT, STRANGER, CHAT + 10)

    async def play(api: FakeBotAPI) -> None:
        sender = TelegramSender(TOKEN, TelegramAPIServer.from_base(api.base_url), SendPacer(0.0, 0.0))
        api.refuse_next("sendMessage", retry_after=7)
        report = await asyncio.to_thread(deliver_outbox, sessions, {"telegram": sender}, worker="w", clock=lambda: NOW)
        assert (report.sent, report.retried, len(report.held)) == (0, 1, 2)
        assert len([call for call in api.calls if call.method == "sendMessage"]) == 1  # no hammering

    with_fake_api(play)
    with sessions() as session:
        items = list(session.scalars(select(OutboxItem).order_by(OutboxItem.id)))
    assert [(item.status, item.attempts) for item in items] == [("pending", 1), ("pending", 0), ("pending", 0)]
    assert {item.next_attempt_at.replace(tzinfo=UTC) for item in items} == {NOW + timedelta(seconds=7)}


def test_the_outbox_spaces_the_messages_to_one_chat(sessions: sessionmaker[Session]) -> None:
    queue_for_chats(sessions, CHAT, CHAT, STRANGER)

    async def play(api: FakeBotAPI) -> None:
        sender = TelegramSender(TOKEN, TelegramAPIServer.from_base(api.base_url), SendPacer(per_chat=1.0, overall=0))
        report = await asyncio.to_thread(deliver_outbox, sessions, {"telegram": sender}, worker="w", clock=lambda: NOW)
        assert report.sent == 3
        first, second = api.sent(CHAT)
        assert second.at - first.at >= 0.75  # paced at the send; the first send also opened a connection
        assert api.sent(STRANGER)[0].at >= second.at  # in queue order: one worker sends one message at a time

    with_fake_api(play)
