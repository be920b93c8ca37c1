"""The borrower simulator: a chat page on the real engine, as any demo borrower; off unless enabled.

A development and demo tool (see docs/simulator.md). It is a channel like SMS and Telegram, named
`simulator`: the page posts what the borrower types to the same `Engine`, addressed from the demo
borrower's phone on file (or from a number that is on no file), so the bot knows the borrower by phone and
still asks for a knowledge factor. The bot's replies are stored by the engine; a specialist's replies and
the servicer's notices reach the page through the outbox, whose `simulator` sender accepts them at once.
The page reads the conversation from the database every 1.5 s; a message counts as delivered once the
page has fetched it, as a handset would report.

It acts only as the demo borrowers (`servicing.demo.portfolio`): the borrowers on file with a demo phone and a demo
loan. It shows their knowledge factors so a newcomer can verify, which is why it is off unless
`LOANLINE_SIMULATOR` (or the app's config key of the same name) turns it on.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, Flask, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.engine import Engine
from bot.nlu.catalogs import catalog_locale, load_catalogs
from bot.turn import MAX_TEXT, InboundMessage
from servicing.config import Settings
from servicing.conversations import ConversationState, is_verified
from servicing.demo.portfolio import BORROWERS, LOANS
from servicing.speaking import text_direction
from servicing.store.models import Borrower, BorrowerPhone, Conversation, Loan, Message

log = logging.getLogger(__name__)
CHANNEL = "simulator"
CONFIG_KEY = "LOANLINE_SIMULATOR"
EXTENSION = "loanline.simulator"
POLL_MILLISECONDS = 1500
MAX_MESSAGES_PER_POLL = 200
PROVIDER_ID = re.compile(r"[A-Za-z0-9_-]{8,48}")
# No country has the calling code +999, so an address under it is never a phone on file.
STRANGER_PREFIX = "+999"
FLAVOURS = {
    "phone": "From the phone on file",
    "stranger": "From a number not on file",
}
# What the quick-reply buttons ask: each is the borrower's catalog's first phrase for the intent, in their language.
QUICK_INTENTS = ("balance", "next_payment", "payoff", "escrow", "payment_history", "help", "agent")
SHOWN_OUTBOUND = ("sent", "delivered")  # queued messages wait for the outbox; blocked or failed ones never arrive
STATES = {
    ConversationState.BOT.value: "The bot answers",
    ConversationState.QUEUED.value: "Waiting for a specialist (the bot stays quiet)",
    ConversationState.ASSIGNED.value: "A specialist has the conversation (the bot stays quiet)",
    ConversationState.CLOSED.value: "Closed",
}

bp = Blueprint(
    "simulator",
    __name__,
    url_prefix="/simulator",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)


@dataclass(frozen=True)
class SimulatorChannel:
    """What the simulator's views share: its engine and its database."""

    engine: Engine
    sessions: sessionmaker[Session]


@dataclass(frozen=True)
class DemoBorrower:
    """A demo borrower on file, with the knowledge factors that verify them (from the demo's tables)."""

    id: int
    name: str
    locale: str
    phone: str
    loan_numbers: tuple[str, ...]
    date_of_birth: str
    tax_id_last4: str
    postal_code: str


class SimulatorSender:
    """The outbox's sender for the simulator channel: the page is the handset, so a send is accepted at once."""

    def send(self, address: str, body: str) -> str:
        """Accept the message for the page to fetch; return a provider id of our own."""
        return f"sim-{uuid.uuid4().hex}"


def simulator_sender() -> SimulatorSender:
    """Return the simulator's outbox sender (it needs no credentials)."""
    return SimulatorSender()


def register(app: Flask) -> None:
    """Mount the simulator when enabled: the app's `LOANLINE_SIMULATOR` config key, else the environment's."""
    settings: Settings = app.extensions["loanline.settings"]
    if not is_enabled(app.config, settings):
        return
    sessions: sessionmaker[Session] = app.extensions["loanline.sessions"]
    app.extensions[EXTENSION] = SimulatorChannel(Engine(sessions, settings), sessions)
    app.register_blueprint(bp)
    log.warning("the borrower simulator is on at /simulator/: it shows demo borrowers' verification answers")


def is_enabled(config: Mapping[str, Any], settings: Settings) -> bool:
    """Tell whether the simulator is on: the config key decides when set, else LOANLINE_SIMULATOR."""
    if config.get(CONFIG_KEY) is not None:
        return bool(config.get(CONFIG_KEY))
    return settings.simulator


def _channel() -> SimulatorChannel:
    channel: SimulatorChannel = current_app.extensions[EXTENSION]
    return channel


# -- the demo borrowers ---------------------------------------------------------------------------------


def demo_borrowers(session: Session) -> list[DemoBorrower]:
    """Return the demo borrowers on file: a demo phone on file and at least one of their demo loans."""
    demo_key_of_phone = {person.phone: key for key, person in BORROWERS.items()}
    demo_key_of_loan = {loan.number: loan.borrower for loan in LOANS}
    phones = session.execute(
        select(BorrowerPhone.borrower_id, BorrowerPhone.e164).where(BorrowerPhone.e164.in_(list(demo_key_of_phone)))
    ).all()
    key_of_borrower = {borrower_id: demo_key_of_phone[e164] for borrower_id, e164 in phones}
    loans = session.execute(
        select(Loan.borrower_id, Loan.loan_number)
        .where(Loan.borrower_id.in_(list(key_of_borrower)), Loan.loan_number.in_(list(demo_key_of_loan)))
        .order_by(Loan.loan_number)
    ).all()
    numbers: dict[int, list[str]] = {}
    for borrower_id, number in loans:
        if demo_key_of_loan[number] == key_of_borrower[borrower_id]:
            numbers.setdefault(borrower_id, []).append(number)
    rows = session.scalars(select(Borrower).where(Borrower.id.in_(list(numbers))))
    found = [_demo_borrower(row, key_of_borrower[row.id], numbers[row.id]) for row in rows]
    return sorted(found, key=lambda borrower: borrower.loan_numbers[0])


def _demo_borrower(row: Borrower, key: str, loan_numbers: list[str]) -> DemoBorrower:
    person = BORROWERS[key]
    return DemoBorrower(
        id=row.id,
        name=f"{row.first_name} {row.last_name}",
        locale=row.locale,
        phone=person.phone,
        loan_numbers=tuple(loan_numbers),
        date_of_birth=person.date_of_birth,
        tax_id_last4=person.tax_id_last4,
        postal_code=person.postal_code,
    )


def demo_borrower(session: Session, borrower_id: int) -> DemoBorrower | None:
    """Return one demo borrower on file, or None when the id is not a demo borrower's."""
    return next((borrower for borrower in demo_borrowers(session) if borrower.id == borrower_id), None)


def address_of(borrower: DemoBorrower, flavour: str) -> str:
    """Return the address the simulator writes from: the phone on file, or a number no file has."""
    if flavour == "phone":
        return borrower.phone
    return f"{STRANGER_PREFIX}{borrower.id:09d}"


def quick_replies(locale: str) -> list[str]:
    """Return what the quick-reply buttons send: the first catalog phrase of each common intent, in `locale`."""
    catalogs = load_catalogs()
    language = catalog_locale(locale, catalogs.locales) or "en"
    replies = []
    for intent in QUICK_INTENTS:
        phrase = next((p for p in catalogs.phrases if p.locale == language and p.label == intent), None)
        if phrase is not None:
            replies.append(phrase.text)
    return replies


# -- the conversation as the page sees it ---------------------------------------------------------------


@dataclass(frozen=True)
class Transcript:
    """What the page shows: the messages after a cursor, the next cursor, and who answers."""

    conversation: Conversation | None
    messages: list[Message]
    next_after: int


def conversation_of(session: Session, address: str) -> Conversation | None:
    """Return the simulator conversation of an address, or None before its first message."""
    return session.scalar(select(Conversation).where(Conversation.channel == CHANNEL, Conversation.address == address))


def read_transcript(session: Session, address: str, after: int, now: datetime) -> Transcript:
    """Return the messages the borrower's handset has after `after`, marking the bot's and servicer's delivered.

    The next cursor stays below a message still waiting in the outbox, so it shows once delivered even when
    later messages were shown first (the page skips the ones it already has).
    """
    conversation = conversation_of(session, address)
    if conversation is None:
        return Transcript(None, [], after)
    messages = list(
        session.scalars(
            select(Message)
            .where(
                Message.conversation_id == conversation.id,
                Message.id > after,
                Message.internal.is_(False),
                (Message.direction == "in") | Message.status.in_(SHOWN_OUTBOUND),
            )
            .order_by(Message.id)
            .limit(MAX_MESSAGES_PER_POLL)
        )
    )
    mark_delivered(messages, now)
    return Transcript(conversation, messages, next_cursor(session, conversation.id, messages, after))


def mark_delivered(messages: list[Message], now: datetime) -> None:
    """Record that the handset has the outbound messages it fetched."""
    for message in messages:
        if message.direction == "out" and message.status == "sent":
            message.status, message.delivered_at = "delivered", now


def next_cursor(session: Session, conversation_id: int, shown: list[Message], after: int) -> int:
    """Return the id to poll after: the last shown, or just below the oldest message still in the outbox."""
    last = max((message.id for message in shown), default=after)
    waiting = session.scalar(
        select(Message.id)
        .where(Message.conversation_id == conversation_id, Message.direction == "out", Message.status == "queued")
        .where(Message.id > after)
        .order_by(Message.id)
        .limit(1)
    )
    return min(last, waiting - 1) if waiting is not None else last


def status_line(conversation: Conversation | None, now: datetime) -> str:
    """Return who answers the conversation and whether the borrower is verified, for the page's header."""
    if conversation is None:
        return "No messages yet: say hello"
    state = STATES.get(conversation.state, conversation.state)
    verified = "verified" if is_verified(conversation, now) else "not verified"
    return f"{state} · {verified}"


def as_json(message: Message) -> dict[str, Any]:
    """Return a message as the page's script reads it."""
    return {"id": message.id, "from": sender_of(message), "text": message.body, "at": message.created_at.isoformat(),
            "dir": text_direction(message.body)}  # fmt: skip


def sender_of(message: Message) -> str:
    """Return who wrote a message, as the borrower sees it: you, the bot, or the servicer (a person, a notice)."""
    if message.direction == "in":
        return "you"
    return "bot" if message.author == "bot" else "servicer"


def new_provider_id() -> str:
    """Return a fresh id for the next message the page sends (a resent form reuses it: stored once)."""
    return uuid.uuid4().hex


# -- the pages ------------------------------------------------------------------------------------------


def _target(borrower_id: int, flavour: str) -> tuple[DemoBorrower, str]:
    if flavour not in FLAVOURS:
        abort(404)
    with _channel().sessions() as session:
        borrower = demo_borrower(session, borrower_id)
    if borrower is None:
        abort(404)
    return borrower, address_of(borrower, flavour)


def _now() -> datetime:
    return _channel().engine.clock()


@bp.get("/")
def index() -> str:
    """List the demo borrowers to talk as, each from the phone on file or from a number not on file."""
    with _channel().sessions() as session:
        borrowers = demo_borrowers(session)
    return render_template("simulator/index.html", borrowers=borrowers, flavours=FLAVOURS)


@bp.get("/chat/<int:borrower_id>")
def chat_from_phone(borrower_id: int) -> ResponseReturnValue:
    """Open the chat from the borrower's phone on file."""
    return redirect(url_for(".chat", borrower_id=borrower_id, flavour="phone"))


@bp.get("/chat/<int:borrower_id>/<flavour>")
def chat(borrower_id: int, flavour: str) -> str:
    """Show the conversation so far, the composer, the quick replies and the verification hint."""
    borrower, address = _target(borrower_id, flavour)
    now = _now()
    with _channel().sessions.begin() as session:
        transcript = read_transcript(session, address, 0, now)
        locale = transcript.conversation.locale if transcript.conversation else borrower.locale
        page = {
            "messages": [as_json(message) for message in transcript.messages],
            "after": transcript.next_after,
            "status": status_line(transcript.conversation, now),
        }
    return render_template(
        "simulator/chat.html", borrower=borrower, flavour=flavour, flavours=FLAVOURS, address=address,
        quick=quick_replies(locale), provider_id=new_provider_id(), poll_ms=POLL_MILLISECONDS, **page,
    )  # fmt: skip


@bp.post("/chat/<int:borrower_id>/<flavour>/send")
def send(borrower_id: int, flavour: str) -> ResponseReturnValue:
    """Hand what the borrower typed (or a quick reply) to the engine, once per provider id."""
    _borrower, address = _target(borrower_id, flavour)
    text = (request.form.get("quick") or request.form.get("text") or "").strip()
    provider_id = request.form.get("provider_id") or new_provider_id()
    problem = _refusal(text, provider_id)
    if problem is not None:
        return _refused(problem, borrower_id, flavour)
    replies = _channel().engine.handle(InboundMessage(CHANNEL, address, text, provider_id=provider_id))
    if _wants_json():
        return jsonify(replies=[reply.text for reply in replies], next_provider_id=new_provider_id())
    return redirect(url_for(".chat", borrower_id=borrower_id, flavour=flavour), code=303)


def _refusal(text: str, provider_id: str) -> str | None:
    if not text:
        return "Type a message first."
    if len(text) > MAX_TEXT:
        return f"A message has at most {MAX_TEXT} characters."
    if not PROVIDER_ID.fullmatch(provider_id):
        return "The message id is not valid; reload the page."
    return None


def _refused(problem: str, borrower_id: int, flavour: str) -> ResponseReturnValue:
    if _wants_json():
        return jsonify(error=problem), 400
    flash(problem, "error")
    return redirect(url_for(".chat", borrower_id=borrower_id, flavour=flavour), code=303)


def _wants_json() -> bool:
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


@bp.get("/chat/<int:borrower_id>/<flavour>/messages")
def messages(borrower_id: int, flavour: str) -> ResponseReturnValue:
    """Return the messages after `after` as JSON (polled by the page), and who answers now."""
    _borrower, address = _target(borrower_id, flavour)
    after = request.args.get("after", "0")
    if not (after.isascii() and after.isdigit() and len(after) <= 15):
        return jsonify(error="after must be a message id"), 400
    now = _now()
    with _channel().sessions.begin() as session:
        transcript = read_transcript(session, address, int(after), now)
        return jsonify(
            messages=[as_json(message) for message in transcript.messages],
            next=transcript.next_after,
            status=status_line(transcript.conversation, now),
        )
