"""Telegram (aiogram 3): a thin adapter that turns updates into `InboundMessage`s and `Reply`s into messages.

One `Router` per area (messages and contact shares, inline-button callbacks, errors), a middleware that
hands every update the channel (engine and send pacing), polling for development and an aiohttp webhook
(`POST /telegram/webhook`, `X-Telegram-Bot-Api-Secret-Token` checked) for production, and a `TelegramSender`
for the outbox. Nothing is created at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNotFound,
    TelegramRetryAfter,
)
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    ErrorEvent,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    TelegramObject,
    Update,
)
from aiogram.utils.keyboard import InlineKeyboardBuilder
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from pydantic import ValidationError
from sqlalchemy import select

from bot.engine import SORRY, Engine
from bot.i18n import Speaker, say
from bot.turn import InboundMessage, OutgoingDocument, Reply
from servicing.config import Settings
from servicing.operations.metrics import record_request
from servicing.outbox import DeliveryFailed
from servicing.store.models import Conversation

log = logging.getLogger(__name__)
CHANNEL = "telegram"
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SHARE_PHONE = say("📱 Share my phone number")
MAX_SEND_ATTEMPTS = 3  # a reply still refused after honouring retry_after twice is logged and dropped
MAX_CALLBACK_DATA = 64  # bytes, Telegram's limit
MAX_CAPTION = 1024  # characters of a document's caption, Telegram's limit
FINISH_TURNS_SECONDS = 20.0  # at shutdown, how long updates in hand may take to be answered
Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | None


class SendPacer:
    """Spaces sends to stay inside Telegram's limits: about one message a second per chat, 30 a second overall.

    The same pacer serves the event loop (`wait`) and the outbox worker's thread (`wait_blocking`).
    """

    def __init__(self, per_chat: float = 1.0, overall: float = 1 / 30) -> None:
        self.per_chat, self.overall = per_chat, overall
        self._next_for_chat: dict[int, float] = {}
        self._next_overall = 0.0
        self._lock = threading.Lock()  # held only while booking, never across a wait

    def book(self, chat_id: int) -> float:
        """Book the next slot this chat (and the bot as a whole) may send in; return the seconds until it."""
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_overall, self._next_for_chat.get(chat_id, 0.0))
            self._next_overall = start + self.overall
            self._next_for_chat[chat_id] = start + self.per_chat
            if len(self._next_for_chat) > 10_000:
                self._next_for_chat = {chat: at for chat, at in self._next_for_chat.items() if at > now}
            return start - now

    async def wait(self, chat_id: int) -> None:
        """Sleep (without blocking the event loop) until this chat may send again, and book the slot."""
        delay = self.book(chat_id)
        if delay > 0:
            await asyncio.sleep(delay)

    def wait_blocking(self, chat_id: int) -> None:
        """Sleep the calling thread until this chat may send again, and book the slot."""
        delay = self.book(chat_id)
        if delay > 0:
            time.sleep(delay)


class TelegramChannel:
    """What every update needs: the engine (run off the event loop) and the send pacing."""

    def __init__(self, engine: Engine, pacer: SendPacer) -> None:
        self.engine, self.pacer = engine, pacer
        self._chat_locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()
        self._in_hand: set[asyncio.Task[Any]] = set()

    @contextlib.contextmanager
    def turn_in_hand(self) -> Iterator[None]:
        """Count the current update as being answered until the block ends (shutdown waits for it)."""
        task = asyncio.current_task()
        if task is None:  # not inside a task: nothing to wait for at shutdown
            yield
            return
        self._in_hand.add(task)
        try:
            yield
        finally:
            self._in_hand.discard(task)

    async def finish_turns(self, timeout: float = FINISH_TURNS_SECONDS) -> None:
        """Wait (at shutdown) until the updates being answered are answered, at most `timeout` seconds."""
        pending = self._in_hand - {asyncio.current_task()}
        if not pending:
            return
        _, unfinished = await asyncio.wait(pending, timeout=timeout)
        if unfinished:
            log.warning("telegram: %s updates still being answered at shutdown", len(unfinished))

    def turn_of(self, chat_id: int) -> asyncio.Lock:
        """Return the lock that makes one chat's updates take turns (kept only while someone holds it)."""
        lock = self._chat_locks.get(chat_id)
        if lock is None:
            lock = self._chat_locks[chat_id] = asyncio.Lock()
        return lock

    async def converse(self, bot: Bot, chat_id: int, inbound: InboundMessage) -> None:
        """Hand the message to the engine (off the event loop) and send its replies in order.

        A reply carrying a document is sent as a Telegram document (its text the caption); once Telegram has
        accepted it, the document is recorded as sent.
        """
        replies, speaker = await asyncio.to_thread(self.answer, inbound)
        for reply in replies:
            if reply.document is not None:
                await send_document_paced(bot, self.pacer, chat_id, reply.document, reply.text)
                await asyncio.to_thread(self.engine.document_delivered, reply.document.document_id, CHANNEL)
                continue
            await send_paced(bot, self.pacer, chat_id, reply.text, keyboard_for(reply, speaker))

    def answer(self, inbound: InboundMessage) -> tuple[list[Reply], Speaker]:
        """Return the engine's replies and who speaks the chat's language (for the labels the adapter adds)."""
        replies = self.engine.handle(inbound)
        if not any(reply.request_contact for reply in replies):
            return replies, Speaker("en")  # the engine localized everything already
        with self.engine.sessions() as session:
            locale = session.scalar(select(Conversation.locale).where(
                Conversation.channel == CHANNEL, Conversation.address == inbound.address))  # fmt: skip
        return replies, Speaker(locale or "en")


class ChannelMiddleware(BaseMiddleware):
    """Injects the channel into every update's handler data (as `channel`) and makes each chat take turns.

    Updates are handled concurrently, but one chat's updates one after another in the order they arrived
    (a borrower typing fast must not have their date of birth read before "balance"). The turn is taken
    here, before any filter runs: aiogram runs plain-function filters in a thread, which can reorder updates.
    """

    def __init__(self, channel: TelegramChannel) -> None:
        self.channel = channel

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        """Add the channel, wait for the chat's earlier updates, then let the update through."""
        data["channel"] = self.channel
        chat_id = _chat_of(event) if isinstance(event, Update) else None
        with self.channel.turn_in_hand():
            if chat_id is None:
                return await handler(event, data)
            async with self.channel.turn_of(chat_id):
                return await handler(event, data)


def keyboard_for(reply: Reply, speaker: Speaker) -> Markup:
    """Return the keyboard a reply asks for: contact sharing (in the chat's language), inline options, or none."""
    if reply.request_contact:
        button = KeyboardButton(text=speaker.say(SHARE_PHONE), request_contact=True)
        return ReplyKeyboardMarkup(keyboard=[[button]], one_time_keyboard=True, resize_keyboard=True)
    usable = [(label, value) for label, value in reply.options if len(value.encode()) <= MAX_CALLBACK_DATA]
    if not usable:
        return None
    builder = InlineKeyboardBuilder()
    for label, value in usable:
        builder.button(text=label, callback_data=value)
    builder.adjust(1)
    return builder.as_markup()


async def send_paced(bot: Bot, pacer: SendPacer, chat_id: int, text: str, markup: Markup = None) -> Message:
    """Send one message within the rate limits, waiting as long as Telegram asks on 429."""
    for attempt in range(1, MAX_SEND_ATTEMPTS + 1):
        await pacer.wait(chat_id)
        try:
            return await bot.send_message(chat_id, text, reply_markup=markup)
        except TelegramRetryAfter as error:
            if attempt == MAX_SEND_ATTEMPTS:
                raise
            log.warning("telegram: flood control, waiting %s s before sending again", error.retry_after)
            await asyncio.sleep(error.retry_after)
    raise AssertionError("unreachable")  # pragma: no cover


async def send_document_paced(
    bot: Bot, pacer: SendPacer, chat_id: int, document: OutgoingDocument, caption: str
) -> Message:
    """Send one file (a PDF the borrower asked for) within the rate limits, waiting as long as Telegram asks on 429."""
    for attempt in range(1, MAX_SEND_ATTEMPTS + 1):
        await pacer.wait(chat_id)
        try:
            upload = BufferedInputFile(document.data, filename=document.file_name)
            return await bot.send_document(chat_id, upload, caption=caption[:MAX_CAPTION])
        except TelegramRetryAfter as error:
            if attempt == MAX_SEND_ATTEMPTS:
                raise
            log.warning("telegram: flood control, waiting %s s before sending again", error.retry_after)
            await asyncio.sleep(error.retry_after)
    raise AssertionError("unreachable")  # pragma: no cover


def e164(phone: str) -> str | None:
    """Return a shared contact's phone as E.164 with a leading +, or None when it has no digits."""
    digits = re.sub(r"\D", "", phone)
    return f"+{digits}" if digits else None


def attachments_of(message: Message) -> tuple[dict[str, Any], ...]:
    """Return the documents and photos of a message as attachments (file id, kind, MIME type)."""
    if message.document is not None:
        document = message.document
        return ({"file_id": document.file_id, "kind": "document", "mime": document.mime_type},)
    if message.photo:
        return ({"file_id": message.photo[-1].file_id, "kind": "photo", "mime": "image/jpeg"},)
    return ()


def _inbound(message: Message, update: Update, text: str, **extra: Any) -> InboundMessage:
    return InboundMessage(CHANNEL, str(message.chat.id), text, provider_id=str(update.update_id), **extra)


# -- messages and contact shares ------------------------------------------------------------------------


def messages_router() -> Router:
    """Return the router for what borrowers type, share and upload."""
    router = Router(name="messages")

    @router.message(F.contact)
    async def on_contact(message: Message, channel: TelegramChannel, bot: Bot, event_update: Update) -> None:
        contact = message.contact
        assert contact is not None
        own = message.from_user is not None and contact.user_id == message.from_user.id
        phone = e164(contact.phone_number) if own else None
        if not own:
            log.info("telegram update %s: a contact that is not the sender's was ignored", event_update.update_id)
        inbound = _inbound(message, event_update, "", shared_contact_phone=phone)
        await channel.converse(bot, message.chat.id, inbound)

    @router.message(F.document | F.photo)
    async def on_upload(message: Message, channel: TelegramChannel, bot: Bot, event_update: Update) -> None:
        inbound = _inbound(message, event_update, message.caption or "", attachments=attachments_of(message))
        await channel.converse(bot, message.chat.id, inbound)

    @router.message(F.text)
    async def on_text(message: Message, channel: TelegramChannel, bot: Bot, event_update: Update) -> None:
        inbound = _inbound(message, event_update, message.text or "")
        await channel.converse(bot, message.chat.id, inbound)

    return router


# -- inline buttons ---------------------------------------------------------------------------------------


def callbacks_router() -> Router:
    """Return the router for inline-button presses: the button's value is the borrower's answer."""
    router = Router(name="callbacks")

    @router.callback_query(F.data)
    async def on_button(query: CallbackQuery, channel: TelegramChannel, bot: Bot, event_update: Update) -> None:
        await query.answer()
        message = query.message
        if message is None:  # the message with the button is too old for Telegram to tell us its chat
            return
        inbound = InboundMessage(CHANNEL, str(message.chat.id), query.data or "",
                                 provider_id=str(event_update.update_id))  # fmt: skip
        await channel.converse(bot, message.chat.id, inbound)

    return router


# -- errors -------------------------------------------------------------------------------------------------


def errors_router() -> Router:
    """Return the one place errors are handled: logged without personal data, answered politely."""
    router = Router(name="errors")

    @router.errors()
    async def on_error(event: ErrorEvent, bot: Bot) -> bool:
        update = event.update
        log.error("telegram update %s: %s", update.update_id, type(event.exception).__name__)
        chat = _chat_of(update)
        if chat is not None:
            language = update.message.from_user.language_code if update.message and update.message.from_user else None
            try:
                await bot.send_message(chat, Speaker(language or "en").say(SORRY))
            except TelegramAPIError as error:
                log.error("telegram update %s: could not apologise: %s", update.update_id, type(error).__name__)
        return True

    return router


def _chat_of(update: Update) -> int | None:
    if update.message is not None:
        return update.message.chat.id
    if update.callback_query is not None and update.callback_query.message is not None:
        return update.callback_query.message.chat.id
    return None


def build_dispatcher(engine: Engine, pacer: SendPacer | None = None) -> Dispatcher:
    """Return a dispatcher answering borrowers through the engine."""
    dispatcher = Dispatcher(name="loanline")
    channel = TelegramChannel(engine, pacer or SendPacer())
    dispatcher.update.outer_middleware(ChannelMiddleware(channel))
    dispatcher.shutdown.register(channel.finish_turns)  # polling stops taking updates, then answers those in hand
    dispatcher.include_routers(messages_router(), callbacks_router(), errors_router())
    return dispatcher


def make_bot(token: str, api: TelegramAPIServer | None = None) -> Bot:
    """Return a bot on Telegram's servers, or on another Bot API server (a local one, a test double)."""
    return Bot(token, session=AiohttpSession(api=api) if api is not None else None)


# -- polling and webhook -------------------------------------------------------------------------------------


async def run_polling(settings: Settings, engine: Engine, api: TelegramAPIServer | None = None) -> None:
    """Answer borrowers by long polling until SIGINT or SIGTERM (development)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stop.set)
    try:
        await poll_until(stop, settings, engine, api)
    finally:
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(number)


async def poll_until(
    stop: asyncio.Event, settings: Settings, engine: Engine, api: TelegramAPIServer | None = None
) -> None:
    """Answer borrowers by long polling until `stop` is set, then finish answering the updates in hand."""
    if not settings.telegram_bot_token:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    async with make_bot(settings.telegram_bot_token, api) as bot:  # closes the session however polling ends
        await bot.delete_webhook()  # polling and a webhook cannot both be on
        dispatcher = build_dispatcher(engine)
        polling = asyncio.create_task(dispatcher.start_polling(bot, handle_signals=False, close_bot_session=False))
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait({polling, stopped}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if not polling.done():
            try:
                await dispatcher.stop_polling()
            except RuntimeError:  # stopped before polling had begun
                polling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await polling  # an error polling ended with is raised here


class SecretCheckedWebhook(SimpleRequestHandler):
    """aiogram's webhook handler, answering 403 to a wrong secret and 400 to a body that is no update."""

    async def handle(self, request: web.Request) -> web.Response:
        """Check the secret and the body, then feed the update to the dispatcher."""
        if not self.verify_secret(request.headers.get(SECRET_HEADER, ""), self.bot):
            return web.Response(status=403, text="Forbidden")
        try:
            Update.model_validate(await request.json(), context={"bot": self.bot})
        except (ValueError, ValidationError):
            return web.Response(status=400, text="Not a Telegram update")
        return await super().handle(request)


@web.middleware
async def count_answers(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                        ) -> web.StreamResponse:  # fmt: skip
    """Count and time the webhook's answers by status in the metrics (docs/operations.md), refusals included."""
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as refused:
        status = refused.status
        raise
    finally:
        record_request(WEBHOOK_PATH, request.method, status, time.perf_counter() - started, "telegram")


def webhook_app(settings: Settings, engine: Engine, bot: Bot, pacer: SendPacer | None = None) -> web.Application:
    """Return an aiohttp app serving `POST /telegram/webhook` (the secret is required)."""
    if not settings.telegram_webhook_secret:
        raise ValueError("TELEGRAM_WEBHOOK_SECRET is not set")
    app = web.Application(middlewares=[count_answers])
    handler = SecretCheckedWebhook(build_dispatcher(engine, pacer), bot, handle_in_background=False,
                                   secret_token=settings.telegram_webhook_secret)  # fmt: skip
    handler.register(app, path=WEBHOOK_PATH)
    return app


def run_webhook(settings: Settings, engine: Engine, host: str, port: int, api: TelegramAPIServer | None = None) -> None:
    """Serve the webhook until interrupted; register it with Telegram when LOANLINE_PUBLIC_URL is set."""
    if not settings.telegram_bot_token:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    bot = make_bot(settings.telegram_bot_token, api)
    app = webhook_app(settings, engine, bot)
    if settings.public_url:
        url, secret = settings.public_url.rstrip("/") + WEBHOOK_PATH, settings.telegram_webhook_secret

        async def register(_app: web.Application) -> None:
            await bot.set_webhook(url, secret_token=secret)

        app.on_startup.append(register)
    web.run_app(app, host=host, port=port, print=None)


# -- the outbox's sender -----------------------------------------------------------------------------------


class TelegramSender:
    """Sends specialists' replies from the outbox through the Bot API (one short-lived bot per send), paced.

    The pacer keeps one worker within Telegram's limits (one message a second per chat, 30 overall); a 429
    becomes `DeliveryFailed(retry_after=...)`, and the outbox then holds the channel for that long.
    """

    def __init__(self, token: str, api: TelegramAPIServer | None = None, pacer: SendPacer | None = None) -> None:
        self.token, self.api = token, api
        self.pacer = pacer or SendPacer()

    def send(self, address: str, body: str) -> str:
        """Send one message to a chat; return `chat:message` as the provider id, or raise DeliveryFailed."""
        try:
            chat_id = int(address)
        except ValueError as error:
            raise DeliveryFailed("not a Telegram chat id", code="address", permanent=True) from error
        self.pacer.wait_blocking(chat_id)
        return asyncio.run(self._send(chat_id, body))

    async def _send(self, chat_id: int, body: str) -> str:
        async with make_bot(self.token, self.api) as bot:
            try:
                message = await bot.send_message(chat_id, body)
            except TelegramRetryAfter as error:
                raise DeliveryFailed("flood control", code="429", retry_after=error.retry_after) from error
            except TelegramForbiddenError as error:
                raise DeliveryFailed("the borrower blocked the bot", code="403", permanent=True) from error
            except (TelegramNotFound, TelegramBadRequest) as error:
                raise DeliveryFailed(_short(error), code="400", permanent=True) from error
            except TelegramAPIError as error:
                raise DeliveryFailed(_short(error), code="telegram") from error
        return f"{chat_id}:{message.message_id}"


def _short(error: TelegramAPIError) -> str:
    return error.message[:200]


def telegram_sender(settings: Settings, api: TelegramAPIServer | None = None) -> TelegramSender | None:
    """Return the outbox's Telegram sender, or None (logged) when TELEGRAM_BOT_TOKEN is unset."""
    if not settings.telegram_bot_token:
        log.warning("Telegram is not sent: TELEGRAM_BOT_TOKEN not set; outbound Telegram stays in the outbox")
        return None
    if api is None and settings.telegram_api_url:
        api = TelegramAPIServer.from_base(settings.telegram_api_url)
    return TelegramSender(settings.telegram_bot_token, api)


__all__: Sequence[str] = [
    "SendPacer", "TelegramSender", "build_dispatcher", "make_bot", "poll_until", "run_polling", "run_webhook",
    "telegram_sender",
    "webhook_app",
]  # fmt: skip
