"""Notices to a borrower from the servicer (decisions, a specialist's words): in their language, on their channel.

A notice is queued in the outbox as a proactive message: the worker holds it to 8:00-21:00 in the borrower's
time zone and never sends it to an address that opted out. On SMS it carries the opt-out line.
The channel is the one the borrower last wrote on; a borrower who never wrote gets SMS to their primary phone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicing.conversations import find_or_open_conversation, record_outbound
from servicing.speaking import Speaker, say
from servicing.store.models import Borrower, BorrowerPhone, Conversation, Loan, Message

OPT_OUT_LINE = say("Reply STOP to opt out.")


@dataclass(frozen=True)
class Amount:
    """Money to be formatted in the borrower's locale inside a notice."""

    value: Decimal
    currency: str


@dataclass(frozen=True)
class Phrases:
    """One or more `say` msgids spoken in the borrower's language inside a notice, joined by commas."""

    msgids: tuple[str, ...]


def notify_borrower(
    session: Session, loan: Loan, message: str, *, now: datetime, author: str = "servicer", **values: Any
) -> Message | None:
    """Queue `message` (an English msgid marked with `say`) to the loan's borrower, translated and filled.

    `values` fill the placeholders: an `Amount` or a `date` is formatted for the borrower's locale, and
    `Phrases` (a reason, a list of documents) are translated too.
    Returns None when the borrower has no channel at all (no conversation and no phone on file).
    """
    borrower = session.get_one(Borrower, loan.borrower_id)
    conversation = borrower_channel(session, borrower, now)
    if conversation is None:
        return None
    if conversation.loan_id is None:
        conversation.loan_id = loan.id
    speaker = Speaker(conversation.locale or borrower.locale)
    text = speaker.say(message, **{name: _spoken(speaker, value) for name, value in values.items()})
    if conversation.channel == "sms":
        text = f"{text} {speaker.say(OPT_OUT_LINE)}"
    return record_outbound(session, conversation, text, author=author, now=now, deliver_later=True, proactive=True)


def borrower_channel(session: Session, borrower: Borrower, now: datetime) -> Conversation | None:
    """Return the conversation the borrower last wrote on, or an SMS one to their primary phone, or None."""
    latest = session.scalar(
        select(Conversation)
        .where(Conversation.borrower_id == borrower.id)
        .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
        .limit(1)
    )
    if latest is not None:
        return latest
    phone = session.scalar(
        select(BorrowerPhone.e164)
        .where(BorrowerPhone.borrower_id == borrower.id)
        .order_by(BorrowerPhone.is_primary.desc(), BorrowerPhone.id)
        .limit(1)
    )
    if phone is None:
        return None
    conversation = find_or_open_conversation(session, "sms", phone, now)
    conversation.borrower_id = borrower.id
    conversation.locale = borrower.locale
    return conversation


def _spoken(speaker: Speaker, value: Any) -> Any:
    if isinstance(value, Amount):
        return speaker.money(value.value, value.currency)
    if isinstance(value, date) and not isinstance(value, datetime):
        return speaker.day(value)
    if isinstance(value, Phrases):
        return ", ".join(speaker.say(msgid) for msgid in value.msgids)
    return value
