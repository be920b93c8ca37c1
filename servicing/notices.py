"""Notices to a borrower from the servicer (decisions, a specialist's words): in their language, on their channel.

A notice passes the contact policy (servicing.outreach.policy, docs/contact-policy.md) as a servicing notice:
recorded in `contact_decisions`, suppressed when the address revoked servicing messages (or said STOP), and
otherwise queued in the outbox as a proactive message, from the next moment inside the contact hours in every
time zone the borrower may be in; no flag silences it (required notices go out). On SMS it carries the opt-out
line.
The channel is the one the borrower last wrote on; a borrower who never wrote gets SMS to their primary phone.
A notice names the loan by its last 4 digits ("the loan ending in 1005"), as the bot does. One that tells loan
figures (an `Amount`) or, by mistake, a full loan number, to a conversation that has not verified (a fresh SMS
conversation never has) is queued only with the specialist's explicit confirmation (`disclosure_confirmed`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicing.conversations import (
    UnverifiedDisclosure,
    discloses_unverified,
    find_or_open_conversation,
    is_verified,
    record_outbound,
)
from servicing.outreach.policy import decide_notice, link_outbox
from servicing.rules.contact import DEFAULT_RULES, ContactRules
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
    session: Session,
    loan: Loan,
    message: str,
    *,
    now: datetime,
    author: str = "servicer",
    disclosure_confirmed: bool = False,
    rules: ContactRules = DEFAULT_RULES,
    **values: Any,
) -> Message | None:
    """Queue `message` (an English msgid marked with `say`) to the loan's borrower, translated and filled.

    `values` fill the placeholders: an `Amount` or a `date` is formatted for the borrower's locale, and
    `Phrases` (a reason, a list of documents) are translated too. A notice with an `Amount` (or a full loan
    number) to a conversation that has not verified raises `UnverifiedDisclosure` unless `disclosure_confirmed`.
    Returns None when the borrower has no channel at all (no conversation and no phone on file), or when the
    contact policy suppressed the notice (the decision says why).
    """
    borrower = session.get_one(Borrower, loan.borrower_id)
    conversation = borrower_channel(session, borrower, now)
    if conversation is None:
        decide_notice(session, loan, None, now, rules)
        return None
    if conversation.loan_id is None:
        conversation.loan_id = loan.id
    speaker = Speaker(conversation.locale or borrower.locale)
    text = speaker.say(message, **{name: _spoken(speaker, value) for name, value in values.items()})
    figures = any(isinstance(value, Amount) for value in values.values())
    if not disclosure_confirmed and discloses_unverified(session, conversation, text, now, tells_figures=figures):
        raise UnverifiedDisclosure("this notice")
    if conversation.channel == "sms":
        text = f"{text} {speaker.say(OPT_OUT_LINE)}"
    decision_id, verdict = decide_notice(session, loan, conversation, now, rules)
    if not verdict.goes_out:
        return None
    notice = record_outbound(session, conversation, text, author=author, now=now, deliver_later=True, proactive=True,
                             send_after=verdict.send_after)  # fmt: skip
    link_outbox(session, decision_id, notice.id)
    return notice


def notice_needs_confirmation(session: Session, loan_number: str, now: datetime) -> bool:
    """Tell whether a notice with figures to this loan's borrower would go to a conversation that has not verified.

    Reads only: a borrower who never wrote would get a new SMS conversation, which has not verified.
    """
    loan = session.scalar(select(Loan).where(Loan.loan_number == loan_number))
    if loan is None:
        return False
    latest = _latest_conversation(session, loan.borrower_id)
    if latest is not None:
        return not is_verified(latest, now)
    return _primary_phone(session, loan.borrower_id) is not None


def _latest_conversation(session: Session, borrower_id: int) -> Conversation | None:
    return session.scalar(
        select(Conversation)
        .where(Conversation.borrower_id == borrower_id)
        .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
        .limit(1)
    )


def _primary_phone(session: Session, borrower_id: int) -> str | None:
    return session.scalar(
        select(BorrowerPhone.e164)
        .where(BorrowerPhone.borrower_id == borrower_id)
        .order_by(BorrowerPhone.is_primary.desc(), BorrowerPhone.id)
        .limit(1)
    )


def borrower_channel(session: Session, borrower: Borrower, now: datetime) -> Conversation | None:
    """Return the conversation the borrower last wrote on, or an SMS one to their primary phone, or None."""
    latest = _latest_conversation(session, borrower.id)
    if latest is not None:
        return latest
    phone = _primary_phone(session, borrower.id)
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
