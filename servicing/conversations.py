"""Conversations: messages stored before anything else, the escalation states, verification and lockout.

States: `bot -> queued -> assigned -> bot` (a specialist resolves), or `closed`. While a person owns a
conversation (queued or assigned) the bot does not answer it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import ColumnElement, Row, Select, Table, bindparam, delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from servicing.audit import record_audit
from servicing.errors import ServicingError
from servicing.rules.contact import ALL_PURPOSES
from servicing.rules.factors import identity_key
from servicing.speaking import Speaker, say
from servicing.store.db import insert_unless_present
from servicing.store.models import (
    Borrower,
    BorrowerPhone,
    ClaimedIdentity,
    Conversation,
    FraudAlert,
    InboundReceipt,
    Loan,
    Message,
    OptOut,
    OutboxItem,
    Specialist,
)


class ConversationState(StrEnum):
    """Who answers a conversation."""

    BOT = "bot"
    QUEUED = "queued"
    ASSIGNED = "assigned"
    CLOSED = "closed"


class EscalationReason(StrEnum):
    """Why a conversation went to a person."""

    ASKED = "asked"
    NOT_UNDERSTOOD = "not_understood"
    SENSITIVE = "sensitive"
    HARDSHIP = "hardship"
    DISPUTE = "dispute"
    LOCKED_OUT = "locked_out"


# Higher is answered first; within a priority, the longest wait first.
PRIORITY = {
    EscalationReason.LOCKED_OUT: 90,
    EscalationReason.SENSITIVE: 80,
    EscalationReason.DISPUTE: 60,
    EscalationReason.HARDSHIP: 60,
    EscalationReason.ASKED: 40,
    EscalationReason.NOT_UNDERSTOOD: 30,
}
VERIFIED_FOR = timedelta(minutes=15)
LOCKED_FOR = timedelta(minutes=30)
MAX_FAILED_ATTEMPTS = 3


class ConversationError(ServicingError):
    """A conversation action that cannot be done; the reason is the message."""


class AlreadyClaimed(ConversationError):
    """Another specialist claimed the conversation first."""


class UnverifiedDisclosure(ConversationError):
    """Loan figures or a full loan number for a conversation that has not verified, without the confirmation."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"{what} tells loan figures or a full loan number to a borrower who has not verified on this "
            "conversation; nothing was sent: confirm that you mean to send it anyway"
        )


@dataclass(frozen=True)
class Inbound:
    """A stored inbound message and its conversation; `duplicate` when the provider delivered it before."""

    conversation: Conversation
    message: Message | None  # the stored row as an object (None when stored in one statement: see message_id)
    duplicate: bool
    message_id: int | None = None


# Built once: the statements every inbound message runs (building a statement costs more than running it).
_CONVERSATION = select(Conversation).where(
    Conversation.channel == bindparam("channel"), Conversation.address == bindparam("address")
)
# The webhooks' conversation, locked, with whether its address said STOP (read with it: one round trip fewer).
_OPTED_OUT_HERE = (
    select(OptOut.opted_out)
    .where(OptOut.channel == Conversation.channel, OptOut.address == Conversation.address,
           OptOut.purpose == ALL_PURPOSES)
    .scalar_subquery()
)  # fmt: skip
_CONVERSATION_LOCKED = (
    select(Conversation, _OPTED_OUT_HERE)
    .where(Conversation.channel == bindparam("channel"), Conversation.address == bindparam("address"))
    .with_for_update(of=Conversation)
)
_OPT_OUTS_READ = "loanline.opt_outs_read"  # session.info: {(channel, address): opted out}, read in this transaction
_conversations = cast(Table, Conversation.__table__)
_messages = cast(Table, Message.__table__)
_receipts = cast(Table, InboundReceipt.__table__)
# Written as text: SQLAlchemy does not cache the compiled form of its dialects' INSERT ... ON CONFLICT (their
# Insert sets inherit_cache = False), so built with them this statement was compiled again on every message.
_FIRST_RECEIPT = (
    text(
        "INSERT INTO inbound_receipts (channel, provider_id, received_at) VALUES (:channel, :provider_id, :received_at)"
        " ON CONFLICT (channel, provider_id) DO NOTHING RETURNING channel"
    )
    .bindparams(bindparam("received_at", type_=_receipts.c.received_at.type))
    .columns(_receipts.c.channel)
)
_STORE_INBOUND = _messages.insert().returning(_messages.c.id)
_STORE_SENT_REPLY = insert(_messages)
_OPTED_OUT = select(OptOut.opted_out).where(
    OptOut.channel == bindparam("channel"), OptOut.address == bindparam("address"), OptOut.purpose == ALL_PURPOSES
)
_REVOKED = select(OptOut.purpose).where(
    OptOut.channel == bindparam("channel"), OptOut.address == bindparam("address"), OptOut.opted_out.is_(True)
)


def mask_address(channel: str, address: str) -> str:
    """Return an address safe to show or log: the last 4 characters only."""
    return f"{channel}:…{address[-4:]}"


def find_or_open_conversation(
    session: Session, channel: str, address: str, now: datetime, *, for_update: bool = False
) -> Conversation:
    """Return the conversation of a channel address, opening one (and knowing its borrower by phone) if new.

    With `for_update` the conversation's row stays locked until the transaction ends (PostgreSQL), so
    messages of one conversation are stored and answered one at a time. Two first messages from a new
    address at once both get the one conversation: the second insert waits for the first and then does
    nothing (`insert_unless_present`), and both select the row that won.
    """
    where = {"channel": channel, "address": address}
    conversation = _locked_conversation(session, where) if for_update else session.scalar(_CONVERSATION, where)
    if conversation is not None:
        return conversation
    borrower = borrower_by_phone(session, address) if address.startswith("+") else None
    opened: dict[str, Any] = {
        "channel": channel,
        "address": address,
        "borrower_id": borrower.id if borrower else None,
        "locale": borrower.locale if borrower else "en",
        "state": ConversationState.BOT.value,
        "created_at": now,
        "last_message_at": now,
        "flow": {},
    }
    insert_unless_present(session, _conversations, opened, unique=("channel", "address"))
    conversation = _locked_conversation(session, where) if for_update else session.scalar(_CONVERSATION, where)
    assert conversation is not None  # inserted above, or by the transaction the insert waited for
    return conversation


def _locked_conversation(session: Session, where: dict[str, str]) -> Conversation | None:
    """Lock and return the conversation of a channel address, noting whether it said STOP (see `is_opted_out`)."""
    row = session.execute(_CONVERSATION_LOCKED, where).first()
    if row is None:
        return None
    _opt_outs_read(session)[(where["channel"], where["address"])] = bool(row[1])
    return cast(Conversation, row[0])


def _opt_outs_read(session: Session) -> dict[tuple[str, str], bool]:
    """Return the opt-outs read with a locked conversation in the session's current transaction (none after it)."""
    transaction = session.get_transaction()
    held = session.info.get(_OPT_OUTS_READ)
    if held is None or held[0] is not transaction:
        held = session.info[_OPT_OUTS_READ] = (transaction, {})
    return cast(dict[tuple[str, str], bool], held[1])


def borrower_by_phone(session: Session, e164: str) -> Borrower | None:
    """Return the borrower with this phone on file, or None."""
    return session.scalar(
        select(Borrower).join(BorrowerPhone, BorrowerPhone.borrower_id == Borrower.id).where(BorrowerPhone.e164 == e164)
    )


def record_inbound(
    session: Session,
    channel: str,
    address: str,
    body: str,
    *,
    provider_id: str | None,
    now: datetime,
    attachments: list[dict[str, Any]] | None = None,
    lock: bool = False,
) -> Inbound:
    """Store an inbound message before acting on it; a provider id seen before is reported as a duplicate.

    A provider id's receipt is inserted first (`first_receipt`): none made means a duplicate. The message is written
    (flushed) before this returns; with `lock` the conversation's row is locked first, and the message is stored by
    one Core INSERT (`Inbound.message_id`; the webhooks' path, docs/performance.md).
    """
    conversation = find_or_open_conversation(session, channel, address, now, for_update=lock)
    body = storable_text(body)
    if lock:  # the webhooks' path: no ORM object for the message, its id only
        return _insert_unless_seen(session, conversation, body, provider_id, now, attachments or [])
    if provider_id is not None and not first_receipt(session, channel, provider_id, now):
        return Inbound(conversation, None, duplicate=True)
    message = Message(
        conversation_id=conversation.id,
        channel=channel,
        direction="in",
        author="borrower",
        body=body,
        provider_id=provider_id,
        status="received",
        attachments=attachments or [],
        created_at=now,
    )
    session.add(message)
    session.flush()
    conversation.last_message_at = now
    return Inbound(conversation, message, duplicate=False)


def _insert_unless_seen(
    session: Session,
    conversation: Conversation,
    body: str,
    provider_id: str | None,
    now: datetime,
    attachments: list[dict[str, Any]],
) -> Inbound:
    """Store an inbound message in two statements: its provider id's receipt (`first_receipt`: no row back means
    the message is stored already), then the message, `INSERT ... RETURNING id`."""
    if provider_id is not None and not first_receipt(session, conversation.channel, provider_id, now):
        return Inbound(conversation, None, duplicate=True)
    values = {"conversation_id": conversation.id, "channel": conversation.channel, "direction": "in",
              "author": "borrower", "body": body, "provider_id": provider_id, "status": "received",
              "attachments": attachments, "created_at": now}  # fmt: skip
    message_id = session.execute(_STORE_INBOUND, values).scalar_one()
    conversation.last_message_at = now
    return Inbound(conversation, None, duplicate=False, message_id=message_id)


def storable_text(text: str) -> str:
    """Return text every database can store: NUL characters (refused by PostgreSQL) become U+FFFD."""
    return text.replace("\x00", "\ufffd")


# How long a provider's id is kept to refuse a second delivery of its message: far past any provider's retries
# (Twilio retries a webhook within minutes, Telegram keeps an unanswered update for 24 hours), then forgotten so
# that the receipts stay small. The message itself, with its provider id, is kept as long as the messages are.
RECEIPT_DAYS = 35


def forget_old_receipts(session: Session, now: datetime, days: int = RECEIPT_DAYS) -> int:
    """Delete the receipts of inbound messages received more than `days` days before `now`; return how many."""
    before = now - timedelta(days=days)
    result = session.execute(delete(_receipts).where(_receipts.c.received_at < before))
    return int(getattr(result, "rowcount", 0) or 0)


def first_receipt(session: Session, channel: str, provider_id: str, now: datetime) -> bool:
    """Record that the provider delivered this message id; return False when it was recorded before (a retry).

    `INSERT ... ON CONFLICT DO NOTHING RETURNING`, in the message's transaction: where a retry arrives on another
    worker at the same moment, its insert waits for the first transaction and then returns nothing. The receipts
    hold the exactly-once key apart from `messages`, which PostgreSQL may partition by month (docs/reliability.md).
    """
    values = {"channel": channel, "provider_id": provider_id, "received_at": now}
    return session.execute(_FIRST_RECEIPT, values).first() is not None


def record_outbound(
    session: Session,
    conversation: Conversation,
    body: str,
    *,
    author: str,
    now: datetime,
    deliver_later: bool = False,
    proactive: bool = False,
    send_after: datetime | None = None,
    meta: dict[str, Any] | None = None,
    attachments: list[dict[str, Any]] | None = None,
) -> Message:
    """Store an outbound message; with `deliver_later` queue it in the outbox for a worker to send
    (from `send_after` when given: a message the contact policy deferred to the borrower's morning).

    `meta` and `attachments` are written with the message (one INSERT, no UPDATE after it).
    """
    body = storable_text(body)
    message = Message(
        conversation_id=conversation.id,
        channel=conversation.channel,
        direction="out",
        author=author,
        body=body,
        status="queued" if deliver_later else "sent",
        created_at=now,
        sent_at=None if deliver_later else now,
        attachments=attachments or [],
    )
    if meta is not None:
        message.meta = meta
    session.add(message)
    session.flush()
    if deliver_later:
        session.add(
            OutboxItem(
                message_id=message.id,
                message_created_at=message.created_at,
                channel=conversation.channel,
                address=conversation.address,
                body=body,
                proactive=proactive,
                status="pending",
                next_attempt_at=send_after or now,
                created_at=now,
            )
        )
    return message


def record_bot_reply(
    session: Session,
    conversation: Conversation,
    body: str,
    *,
    now: datetime,
    meta: dict[str, Any] | None = None,
    attachments: list[dict[str, Any]] | None = None,
) -> None:
    """Store the bot's reply sent with the webhook's answer, in one INSERT built once (no ORM unit of work: the
    webhooks' path, docs/performance.md); the same row `record_outbound(..., author="bot")` writes."""
    values = {"conversation_id": conversation.id, "channel": conversation.channel, "direction": "out",
              "author": "bot", "body": storable_text(body), "status": "sent", "attachments": attachments or [],
              "internal": False, "created_at": now, "sent_at": now, "meta": meta}  # fmt: skip
    session.execute(_STORE_SENT_REPLY, values)


def add_internal_note(session: Session, conversation_id: int, author: str, body: str, now: datetime) -> Message:
    """Store a specialist's note on a conversation; it never reaches the borrower."""
    message = Message(
        conversation_id=conversation_id,
        channel="internal",
        direction="out",
        author=author,
        body=body,
        status="note",
        internal=True,
        created_at=now,
    )
    session.add(message)
    return message


# -- states -------------------------------------------------------------------------------------------


def bot_may_answer(conversation: Conversation) -> bool:
    """Tell whether the bot answers this conversation (not while a person owns it)."""
    return conversation.state == ConversationState.BOT.value


def escalate(session: Session, conversation: Conversation, reason: EscalationReason, now: datetime) -> None:
    """Put a conversation in the specialists' queue with its reason and priority."""
    if conversation.state in (ConversationState.QUEUED.value, ConversationState.ASSIGNED.value):
        conversation.priority = max(conversation.priority, PRIORITY[reason])
        return
    conversation.state = ConversationState.QUEUED.value
    conversation.escalation_reason = reason.value
    conversation.priority = PRIORITY[reason]
    conversation.queued_at = now
    conversation.skill = None  # a fresh wait needs its reason's skill, not the queue an earlier transfer chose
    conversation.waiting_acknowledged = False
    conversation.misses = 0
    record_audit(
        session, "bot", "conversation.escalated", "conversation", str(conversation.id), {"reason": reason.value}
    )


def claim_conversation(session: Session, conversation_id: int, specialist: str, now: datetime) -> None:
    """Assign a queued conversation to a specialist; exactly one of two simultaneous claims wins."""
    result = session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.state == ConversationState.QUEUED.value)
        .values(state=ConversationState.ASSIGNED.value, assigned_to=specialist, assigned_at=now)
    )
    if getattr(result, "rowcount", 0) != 1:
        owner = session.scalar(select(Conversation.assigned_to).where(Conversation.id == conversation_id))
        raise AlreadyClaimed(f"conversation {conversation_id} was already claimed by {owner or 'someone else'}")
    record_audit(session, specialist, "conversation.claimed", "conversation", str(conversation_id))


def _owned(session: Session, conversation_id: int, specialist: str) -> Conversation:
    conversation = session.get(Conversation, conversation_id, with_for_update=True)
    if conversation is None:
        raise ConversationError(f"no conversation {conversation_id}")
    if conversation.state != ConversationState.ASSIGNED.value or conversation.assigned_to != specialist:
        raise ConversationError(f"conversation {conversation_id} is not assigned to {specialist}")
    return conversation


def unassign_conversation(session: Session, conversation_id: int, specialist: str) -> None:
    """Put a conversation the specialist holds back in the queue, keeping its place."""
    conversation = _owned(session, conversation_id, specialist)
    conversation.state = ConversationState.QUEUED.value
    conversation.assigned_to = None
    conversation.assigned_at = None
    record_audit(session, specialist, "conversation.unassigned", "conversation", str(conversation_id))


def transfer_conversation(session: Session, conversation_id: int, specialist: str, to: str, now: datetime) -> None:
    """Hand a conversation the specialist holds to another specialist."""
    conversation = _owned(session, conversation_id, specialist)
    conversation.assigned_to = to
    conversation.assigned_at = now
    record_audit(session, specialist, "conversation.transferred", "conversation", str(conversation_id), {"to": to})


def resolve_conversation(session: Session, conversation_id: int, specialist: str) -> Conversation:
    """Hand a conversation back to the bot once the specialist is done."""
    conversation = _owned(session, conversation_id, specialist)
    conversation.state = ConversationState.BOT.value
    conversation.escalation_reason = None
    conversation.priority = 0
    conversation.queued_at = None
    conversation.assigned_to = None
    conversation.assigned_at = None
    conversation.flow = {}
    record_audit(session, specialist, "conversation.resolved", "conversation", str(conversation_id))
    return conversation


# -- verification -------------------------------------------------------------------------------------


def is_verified(conversation: Conversation, now: datetime) -> bool:
    """Tell whether the borrower verified within the last 15 minutes of conversation."""
    until = conversation.verified_until
    return until is not None and _aware(until) > now


def keep_verified(conversation: Conversation, now: datetime) -> None:
    """Start or extend the verified session: it lasts 15 minutes from the last message."""
    conversation.verified_until = now + VERIFIED_FOR
    conversation.failed_attempts = 0


def is_locked(conversation: Conversation, now: datetime) -> bool:
    """Tell whether self-service is locked for this address."""
    until = conversation.locked_until
    return until is not None and _aware(until) > now


class IdentityKind(StrEnum):
    """What a verification attempt claimed to be: its failures are counted against it in every chat."""

    BORROWER = "borrower"
    LOAN_NUMBER = "loan_number"
    PHONE = "phone"


Claim = tuple[str, str]  # (IdentityKind, key): a borrower's id, or the keyed hash of a loan number or phone


def borrower_claim(borrower_id: int) -> Claim:
    """Return the claim of an attempt that names a borrower on file."""
    return (IdentityKind.BORROWER.value, str(borrower_id))


def loan_number_claim(secret: str, loan_number: str) -> Claim:
    """Return the claim of an attempt that names a loan number, whether or not such a loan exists."""
    return (IdentityKind.LOAN_NUMBER.value, identity_key(secret, IdentityKind.LOAN_NUMBER.value, loan_number))


def phone_claim(secret: str, e164: str) -> Claim:
    """Return the claim of an attempt from a phone that is on no borrower's file."""
    return (IdentityKind.PHONE.value, identity_key(secret, IdentityKind.PHONE.value, e164))


def claim_locked(session: Session, claims: Iterable[Claim], now: datetime, *, hold: bool = False) -> bool:
    """Tell whether self-service is paused for anyone these claims name (failures in any chat count).

    With `hold` the claims' rows are created when missing and stay locked until the transaction ends
    (PostgreSQL; SQLite writers take turns anyway), so an answer checked after this cannot race a
    lockout that another chat is recording, and many guesses sent at once are counted one by one.
    """
    for claim in sorted(set(claims)):
        identity = _claimed_identity(session, claim) if hold else session.get(ClaimedIdentity, claim)
        if identity is not None and identity.locked_until is not None and _aware(identity.locked_until) > now:
            return True
    return False


def borrower_paused_until(session: Session, borrower_id: int, now: datetime) -> datetime | None:
    """Return until when a borrower's self-service is paused by failures in any chat, or None."""
    identity = session.get(ClaimedIdentity, borrower_claim(borrower_id))
    until = identity.locked_until if identity is not None else None
    return until if until is not None and _aware(until) > now else None


def record_failed_verification(
    session: Session, conversation: Conversation, now: datetime, claims: Iterable[Claim] = ()
) -> bool:
    """Count a failed verification against the chat and whoever it claimed to be; return True when it locks.

    The third failure in the chat, or the third against one borrower, loan number or phone across all
    chats and channels, locks the chat (and what reached three) for 30 minutes and raises a fraud alert.
    """
    conversation.failed_attempts += 1
    conversation.verified_until = None
    counted = [_count_failure(session, claim, now) for claim in sorted(set(claims))]
    reached = [identity for identity in counted if identity.failed_attempts >= MAX_FAILED_ATTEMPTS]
    if conversation.failed_attempts < MAX_FAILED_ATTEMPTS and not reached:
        return False
    conversation.failed_attempts = 0
    conversation.locked_until = now + LOCKED_FOR
    for identity in reached:
        identity.failed_attempts = 0
        identity.locked_until = now + LOCKED_FOR
        record_audit(session, "bot", "verification.locked", identity.kind, identity.key,
                     {"conversation": conversation.id})  # fmt: skip
    session.add(
        FraudAlert(
            conversation_id=conversation.id,
            channel=conversation.channel,
            address_masked=mask_address(conversation.channel, conversation.address),
            raised_at=now,
            reason=_lockout_reason(reached),
        )
    )
    record_audit(session, "bot", "verification.locked", "conversation", str(conversation.id),
                 {"claims": [identity.kind for identity in reached]})  # fmt: skip
    return True


def record_failed_claim(session: Session, claim: Claim, now: datetime) -> bool:
    """Count a failure against one claimed identity outside any chat (a caller a specialist verifies); return True
    when it reaches three and locks that identity for 30 minutes, exactly as failures in the bot's chats do."""
    identity = _count_failure(session, claim, now)
    if identity.failed_attempts < MAX_FAILED_ATTEMPTS:
        return False
    identity.failed_attempts = 0
    identity.locked_until = now + LOCKED_FOR
    return True


def failed_attempts_of(session: Session, claim: Claim) -> int:
    """Return how many failures count against a claimed identity now (any chat, or a caller)."""
    identity = session.get(ClaimedIdentity, claim)
    return identity.failed_attempts if identity is not None else 0


def clear_failed_verifications(session: Session, claims: Iterable[Claim]) -> None:
    """Forget the failures counted against whoever a successful verification named."""
    for kind, key in claims:
        identity = session.get(ClaimedIdentity, (kind, key))
        if identity is not None:
            identity.failed_attempts = 0


def _count_failure(session: Session, claim: Claim, now: datetime) -> ClaimedIdentity:
    """Add one failure to a claimed identity, its row locked."""
    identity = _claimed_identity(session, claim)
    identity.failed_attempts += 1
    identity.last_failed_at = now
    return identity


def _claimed_identity(session: Session, claim: Claim) -> ClaimedIdentity:
    """Return a claimed identity's row locked for this transaction, created by whichever chat needs it first."""
    identity = session.get(ClaimedIdentity, claim, with_for_update=True, populate_existing=True)
    if identity is not None:
        return identity
    kind, key = claim
    try:
        with session.begin_nested():
            identity = ClaimedIdentity(kind=kind, key=key, failed_attempts=0)
            session.add(identity)
    except IntegrityError:  # another chat created it at the same moment: wait for its transaction, then lock
        identity = session.get_one(ClaimedIdentity, claim, with_for_update=True, populate_existing=True)
    return identity


def _lockout_reason(reached: list[ClaimedIdentity]) -> str:
    if not reached:
        return "three failed verification attempts"
    kinds = sorted({identity.kind.replace("_", " ") for identity in reached})
    return f"three failed verification attempts on one {' and one '.join(kinds)} across chats"


def _aware(moment: datetime) -> datetime:
    """Return a timestamp with UTC attached (SQLite hands back naive datetimes)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# -- opt-out ------------------------------------------------------------------------------------------


def set_opt_out(
    session: Session, channel: str, address: str, opted_out: bool, now: datetime, purpose: str = ALL_PURPOSES
) -> None:
    """Record an opt-out of one purpose (`all`: STOP, nothing at all) for an address, or an opt-in.

    Opting in to `all` (START) gives back every purpose the address revoked.
    """
    _opt_outs_read(session).pop((channel, address), None)
    if not opted_out and purpose == ALL_PURPOSES:
        session.execute(
            update(OptOut)
            .where(OptOut.channel == channel, OptOut.address == address)
            .values(opted_out=False, changed_at=now)
            .execution_options(synchronize_session="fetch")
        )
    row = session.get(OptOut, (channel, address, purpose))
    if row is None:
        session.add(OptOut(channel=channel, address=address, purpose=purpose, opted_out=opted_out, changed_at=now))
    else:
        row.opted_out, row.changed_at = opted_out, now


def is_opted_out(session: Session, channel: str, address: str) -> bool:
    """Tell whether the address said STOP: nothing at all may be sent to it (checked before every send).

    Read with the conversation when this transaction locked it (the webhooks), otherwise now.
    """
    read = _opt_outs_read(session)
    if (channel, address) in read:
        return read[(channel, address)]
    return bool(session.scalar(_OPTED_OUT, {"channel": channel, "address": address}))


def revoked_purposes(session: Session, channel: str, address: str) -> frozenset[str]:
    """Return what the address revoked: purposes of the servicer's messages, and `all` after STOP."""
    return frozenset(session.scalars(_REVOKED, {"channel": channel, "address": address}))


# -- the specialists' side: queue, SLA, transcript, replies -------------------------------------------

# How long a conversation may wait in the queue before a person picks it up (the spec is silent; see
# docs/console-conversations.md). The clock runs from `queued_at` until a specialist claims it.
SLA_TARGETS = {
    EscalationReason.LOCKED_OUT: timedelta(minutes=15),
    EscalationReason.SENSITIVE: timedelta(minutes=15),
    EscalationReason.DISPUTE: timedelta(minutes=30),
    EscalationReason.HARDSHIP: timedelta(minutes=30),
    EscalationReason.ASKED: timedelta(minutes=60),
    EscalationReason.NOT_UNDERSTOOD: timedelta(minutes=60),
}
AT_RISK_SHARE = 0.75  # past three quarters of its target a wait is "at risk"
TRANSCRIPT_PAGE = 200
MAX_REPLY_LENGTH = 1600  # ten SMS segments; a longer text belongs in a letter
BACK_TO_BOT = say("Thanks for talking with us. The assistant is back: reply MENU for options.")


class SlaState(StrEnum):
    """Where a conversation's wait stands against its target."""

    OK = "ok"
    AT_RISK = "at_risk"
    BREACHED = "breached"


class BorrowerOptedOut(ConversationError):
    """The borrower said STOP on this channel: nobody may write to them until they opt back in."""


@dataclass(frozen=True)
class QueueEntry:
    """One line of the queue: what a specialist needs to pick the next conversation."""

    id: int
    channel: str
    locale: str
    reason: str | None
    priority: int
    queued_at: datetime | None
    assigned_to: str | None
    assigned_at: datetime | None
    last_message_at: datetime
    borrower_name: str | None
    address_masked: str


def sla_target(reason: str | None) -> timedelta:
    """Return how long a conversation escalated for `reason` may wait for a person."""
    try:
        return SLA_TARGETS[EscalationReason(reason or EscalationReason.ASKED.value)]
    except ValueError:
        return SLA_TARGETS[EscalationReason.ASKED]


def sla_state(
    reason: str | None, queued_at: datetime | None, now: datetime, claimed_at: datetime | None = None
) -> SlaState:
    """Tell whether a wait (until claimed, or until now) is within its target, close to it, or past it."""
    if queued_at is None:
        return SlaState.OK
    waited = _aware(claimed_at or now) - _aware(queued_at)
    target = sla_target(reason)
    if waited > target:
        return SlaState.BREACHED
    return SlaState.AT_RISK if waited >= target * AT_RISK_SHARE else SlaState.OK


def waiting_for(queued_at: datetime | None, now: datetime) -> timedelta:
    """Return how long a conversation has waited in the queue."""
    return max(now - _aware(queued_at), timedelta(0)) if queued_at else timedelta(0)


def _queue_query(limit: int) -> Select[tuple[Any, ...]]:
    return (
        select(
            Conversation.id, Conversation.channel, Conversation.address, Conversation.locale,
            Conversation.escalation_reason, Conversation.priority, Conversation.queued_at,
            Conversation.assigned_to, Conversation.assigned_at, Conversation.last_message_at,
            Borrower.first_name, Borrower.last_name,
        )
        .outerjoin(Borrower, Borrower.id == Conversation.borrower_id)
        .limit(limit)
    )  # fmt: skip


def _entry(row: Row[Any]) -> QueueEntry:
    name = f"{row.first_name} {row.last_name}" if row.first_name else None
    return QueueEntry(
        row.id, row.channel, row.locale, row.escalation_reason, row.priority, row.queued_at, row.assigned_to,
        row.assigned_at, row.last_message_at, name, mask_address(row.channel, row.address),
    )  # fmt: skip


def waiting_queue(
    session: Session, limit: int = 100, conditions: Sequence[ColumnElement[bool]] = ()
) -> list[QueueEntry]:
    """Return the waiting conversations meeting `conditions` (filters): most urgent, then longest wait, first."""
    query = (
        _queue_query(limit)
        .where(Conversation.state == ConversationState.QUEUED.value, *conditions)
        .order_by(Conversation.priority.desc(), Conversation.queued_at, Conversation.id)
    )
    return [_entry(row) for row in session.execute(query)]


def queue_length(session: Session, conditions: Sequence[ColumnElement[bool]] = ()) -> int:
    """Return how many conversations wait for a person (meeting `conditions`, the queue's filters)."""
    query = (
        select(func.count())
        .select_from(Conversation)
        .where(Conversation.state == ConversationState.QUEUED.value, *conditions)
    )
    return session.scalar(query) or 0


def conversations_of(session: Session, specialist: str, limit: int = 100) -> list[QueueEntry]:
    """Return the conversations a specialist holds, the longest held first."""
    query = (
        _queue_query(limit)
        .where(Conversation.state == ConversationState.ASSIGNED.value, Conversation.assigned_to == specialist)
        .order_by(Conversation.assigned_at, Conversation.id)
    )
    return [_entry(row) for row in session.execute(query)]


def held_count(session: Session, specialist: str) -> int:
    """Return how many conversations a specialist holds (the console's "My conversations (n)")."""
    query = (
        select(func.count())
        .select_from(Conversation)
        .where(Conversation.assigned_to == specialist, Conversation.state == ConversationState.ASSIGNED.value)
    )
    return session.scalar(query) or 0


def conversation_by_id(session: Session, conversation_id: int) -> Conversation:
    """Return a conversation or refuse an unknown id."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise ConversationError(f"no conversation {conversation_id}")
    return conversation


def transcript_page(
    session: Session, conversation_id: int, *, before: int | None = None, limit: int = TRANSCRIPT_PAGE
) -> list[Message]:
    """Return up to `limit` messages of a conversation, oldest first, ending just before message `before`."""
    query = select(Message).where(Message.conversation_id == conversation_id)
    if before is not None:
        query = query.where(Message.id < before)
    newest_first = list(session.scalars(query.order_by(Message.id.desc()).limit(limit)))
    return newest_first[::-1]


def has_messages_before(session: Session, conversation_id: int, message_id: int) -> bool:
    """Tell whether a conversation has messages older than message `message_id` (an "older" link)."""
    query = select(Message.id).where(Message.conversation_id == conversation_id, Message.id < message_id).limit(1)
    return session.scalar(query) is not None


def messages_after(session: Session, conversation_id: int, after: int, limit: int = TRANSCRIPT_PAGE) -> list[Message]:
    """Return the messages of a conversation newer than message `after`, oldest first."""
    query = (
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.id > after)
        .order_by(Message.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def reply_to_borrower(session: Session, conversation_id: int, specialist: str, body: str, now: datetime,
                      *, canned: str | None = None, tells_figures: bool = False,
                      disclosure_confirmed: bool = False) -> Message:  # fmt: skip
    """Send a specialist's reply to the borrower on their channel, through the outbox.

    The reply answers the borrower's own message, so it is not proactive: the worker sends it at once,
    not held to daytime hours (a borrower who writes at 22:00 expects the answer then). Opted-out
    addresses are refused here, before anything is stored; the outbox would block them anyway. A reply that
    tells loan figures (`tells_figures`, a canned amount due) or holds a full loan number is refused on a
    conversation that has not verified unless `disclosure_confirmed` (`UnverifiedDisclosure`).
    """
    conversation = _owned(session, conversation_id, specialist)
    text = body.strip()
    if not text:
        raise ConversationError("a reply needs some text")
    if len(text) > MAX_REPLY_LENGTH:
        raise ConversationError(f"a reply is at most {MAX_REPLY_LENGTH} characters")
    if is_opted_out(session, conversation.channel, conversation.address):
        raise BorrowerOptedOut(f"the borrower opted out of {conversation.channel}: nothing can be sent")
    discloses = discloses_unverified(session, conversation, text, now, tells_figures=tells_figures)
    if discloses and not disclosure_confirmed:
        raise UnverifiedDisclosure("this reply")
    message = record_outbound(session, conversation, text, author=specialist, now=now, deliver_later=True)
    conversation.last_message_at = now
    detail: dict[str, Any] = {"message": message.id, "channel": conversation.channel, "length": len(text)}
    if canned:
        detail["canned"] = canned
    if discloses:
        detail["disclosure_confirmed"] = True
    record_audit(session, specialist, "conversation.replied", "conversation", str(conversation_id), detail)
    return message


def discloses_unverified(
    session: Session, conversation: Conversation, text: str, now: datetime, *, tells_figures: bool
) -> bool:
    """Tell whether a text for the borrower tells loan figures or a full loan number on an unverified conversation."""
    if is_verified(conversation, now):
        return False
    return tells_figures or bool(full_loan_numbers_in(session, text))


# Words that could be a loan number: letters, digits and dashes, at least 5 long (a masked "1005" is not one).
_LOAN_NUMBER_CANDIDATE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{3,}[A-Za-z0-9]")


def full_loan_numbers_in(session: Session, text: str) -> list[str]:
    """Return the loan numbers on file that a text spells out in full (any case)."""
    words = set(_LOAN_NUMBER_CANDIDATE.findall(text))
    candidates = words | {word.upper() for word in words}
    if not candidates:
        return []
    return sorted(session.scalars(select(Loan.loan_number).where(Loan.loan_number.in_(sorted(candidates)))))


def note_on_conversation(session: Session, conversation_id: int, specialist: str, body: str, now: datetime) -> Message:
    """Keep a specialist's internal note on a conversation (never sent) and audit it."""
    conversation_by_id(session, conversation_id)
    text = body.strip()
    if not text:
        raise ConversationError("a note needs some text")
    message = add_internal_note(session, conversation_id, specialist, storable_text(text), now)
    session.flush()
    record_audit(session, specialist, "conversation.noted", "conversation", str(conversation_id),
                 {"message": message.id, "length": len(text)})  # fmt: skip
    return message


def hand_back_to_bot(session: Session, conversation_id: int, specialist: str, now: datetime) -> Message | None:
    """Resolve a conversation and tell the borrower, in their language, that the assistant is back.

    Returns the queued notice, or None when the borrower opted out of the channel (nothing is sent).
    """
    conversation = resolve_conversation(session, conversation_id, specialist)
    if is_opted_out(session, conversation.channel, conversation.address):
        return None
    notice = Speaker(conversation.locale).say(BACK_TO_BOT)
    return record_outbound(session, conversation, notice, author="bot", now=now, deliver_later=True)


def transfer_to_specialist(session: Session, conversation_id: int, specialist: str, to: str, now: datetime) -> None:
    """Hand a conversation the specialist holds to another active specialist, named by username."""
    username = to.strip().lower()
    active = session.scalar(select(Specialist.id).where(Specialist.username == username, Specialist.active.is_(True)))
    if active is None:
        raise ConversationError(f"no active specialist {username!r}")
    if username == specialist:
        raise ConversationError("the conversation is already yours")
    transfer_conversation(session, conversation_id, specialist, username, now)


def conversation_held_by(session: Session, conversation_id: int, specialist: str) -> Conversation:
    """Return a conversation the specialist holds, its row locked; refuse one they do not hold."""
    return _owned(session, conversation_id, specialist)
