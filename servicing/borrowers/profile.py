"""A borrower's profile as the console shows it, and the changes a specialist makes to it.

Every change needs a reason (what the borrower asked, or what the record shows), changes nothing when refused,
and is audited in its own transaction with the values masked: a phone or chat by its last 4 characters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicing.audit import record_audit
from servicing.boarding import check_locale
from servicing.borrowers.caller import BorrowerNotFound
from servicing.conversations import (
    ConversationState,
    borrower_claim,
    borrower_paused_until,
    failed_attempts_of,
    mask_address,
    set_opt_out,
)
from servicing.documents.context import Address, mailing_address
from servicing.documents.records import consent_in_force
from servicing.errors import InvalidInput
from servicing.outreach.flags import FlagView, Revocation, contact_flags, revocations
from servicing.rules.contact import Purpose, is_zone
from servicing.rules.searching import phone_number_in
from servicing.store.models import Borrower, BorrowerPhone, Conversation, EsignConsent, Loan

REASON_LENGTH = 200
CONSENT_PURPOSES = tuple(purpose.value for purpose in Purpose)


@dataclass(frozen=True)
class PhoneOnFile:
    """A phone on file, and whether the borrower revoked any purpose on it."""

    id: int
    e164: str
    is_primary: bool


@dataclass(frozen=True)
class TelegramChat:
    """A Telegram chat linked to the borrower (its id masked)."""

    conversation_id: int
    chat: str
    state: str
    last_message_at: datetime


@dataclass(frozen=True)
class LoanLine:
    """One of the borrower's loans, for the links."""

    loan_number: str
    status: str


@dataclass(frozen=True)
class Profile:
    """Everything the borrower page shows."""

    borrower: Borrower
    phones: list[PhoneOnFile]
    telegram: list[TelegramChat]
    loans: list[LoanLine]
    mailing: Address
    flags: list[FlagView]
    revoked: list[Revocation]
    esign: EsignConsent | None
    failed_attempts: int  # against the borrower, in any chat or by a caller
    paused_until: datetime | None


def borrower_profile(session: Session, borrower_id: int, now: datetime) -> Profile:
    """Return a borrower's profile: phones, Telegram chats, loans, address, language, zone, consent, flags."""
    borrower = _borrower(session, borrower_id)
    phones = session.scalars(
        select(BorrowerPhone).where(BorrowerPhone.borrower_id == borrower_id).order_by(BorrowerPhone.id)
    )
    chats = session.scalars(
        select(Conversation)
        .where(Conversation.borrower_id == borrower_id, Conversation.channel == "telegram")
        .order_by(Conversation.id)
    )
    loans = session.execute(
        select(Loan.loan_number, Loan.status).where(Loan.borrower_id == borrower_id).order_by(Loan.id)
    )
    return Profile(
        borrower,
        [PhoneOnFile(p.id, p.e164, p.is_primary) for p in phones],
        [TelegramChat(c.id, mask_address("telegram", c.address), c.state, c.last_message_at) for c in chats],
        [LoanLine(*row) for row in loans],
        mailing_address(borrower),
        contact_flags(session, borrower_id),
        revocations(session, borrower_id),
        consent_in_force(session, borrower_id),
        failed_attempts_of(session, borrower_claim(borrower_id)),
        borrower_paused_until(session, borrower_id, now),
    )


def _borrower(session: Session, borrower_id: int, *, lock: bool = False) -> Borrower:
    borrower = session.get(Borrower, borrower_id, with_for_update=lock)
    if borrower is None:
        raise BorrowerNotFound(f"no borrower {borrower_id}")
    return borrower


def checked_reason(reason: str) -> str:
    """Return the reason a change is made, or refuse an empty or overlong one."""
    text = " ".join(reason.split())
    if not text:
        raise InvalidInput("reason: say why (what the borrower asked, or what the record shows)")
    if len(text) > REASON_LENGTH:
        raise InvalidInput(f"reason: at most {REASON_LENGTH} characters")
    return text


def _audit(session: Session, actor: str, action: str, borrower_id: int, reason: str, **detail: object) -> None:
    record_audit(session, actor, action, "borrower", str(borrower_id), {**detail, "reason": reason})


def change_language(session: Session, borrower_id: int, locale: str, *, reason: str, actor: str) -> None:
    """Set the language (and region of money and dates) the borrower is written to in, e.g. es_US."""
    why = checked_reason(reason)
    chosen = check_locale(locale)
    borrower = _borrower(session, borrower_id, lock=True)
    if chosen == borrower.locale:
        raise InvalidInput(f"language: {chosen} is already the borrower's")
    before, borrower.locale = borrower.locale, chosen
    _audit(session, actor, "borrower.language_changed", borrower_id, why, before=before, after=chosen)


def change_time_zone(session: Session, borrower_id: int, zone: str, *, reason: str, actor: str) -> None:
    """Set the borrower's time zone (the contact policy then trusts it: it was given, not guessed)."""
    why = checked_reason(reason)
    name = zone.strip()
    if not is_zone(name):
        raise InvalidInput(f"time zone: {name[:64]!r} is not a time zone (e.g. America/Chicago)")
    borrower = _borrower(session, borrower_id, lock=True)
    before = borrower.timezone
    borrower.timezone, borrower.timezone_given = name, True
    _audit(session, actor, "borrower.time_zone_changed", borrower_id, why, before=before, after=name)


def add_phone(session: Session, borrower_id: int, typed: str, *, region: str, reason: str, actor: str) -> str:
    """Add a phone (any common format; without a country code, one of `region`); return it in E.164."""
    why = checked_reason(reason)
    e164 = phone_number_in(typed, region)
    if e164 is None:
        raise InvalidInput("phone: not a phone number")
    _borrower(session, borrower_id, lock=True)
    holder = session.scalar(select(BorrowerPhone.borrower_id).where(BorrowerPhone.e164 == e164))
    if holder is not None:
        raise InvalidInput("phone: already on file" + (" for this borrower" if holder == borrower_id else
                                                        " for another borrower"))  # fmt: skip
    first = session.scalar(select(BorrowerPhone.id).where(BorrowerPhone.borrower_id == borrower_id)) is None
    session.add(BorrowerPhone(borrower_id=borrower_id, e164=e164, is_primary=first))
    session.flush()
    _audit(session, actor, "borrower.phone_added", borrower_id, why, phone=f"…{e164[-4:]}")
    return e164


def remove_phone(session: Session, borrower_id: int, phone_id: int, *, reason: str, actor: str) -> None:
    """Remove a phone from file (not the only one: add the new number first); the next becomes primary."""
    why = checked_reason(reason)
    _borrower(session, borrower_id, lock=True)
    phones = list(session.scalars(select(BorrowerPhone).where(BorrowerPhone.borrower_id == borrower_id)
                                  .order_by(BorrowerPhone.id)))  # fmt: skip
    phone = next((p for p in phones if p.id == phone_id), None)
    if phone is None:
        raise InvalidInput("phone: not one of this borrower's")
    if len(phones) == 1:
        raise InvalidInput("phone: the only phone on file cannot be removed; add the new number first")
    rest = [p for p in phones if p.id != phone_id]
    if phone.is_primary:
        rest[0].is_primary = True
    session.delete(phone)
    _audit(session, actor, "borrower.phone_removed", borrower_id, why, phone=f"…{phone.e164[-4:]}")


def unlink_telegram_chat(session: Session, borrower_id: int, conversation_id: int, *, reason: str, actor: str) -> None:
    """Unlink a Telegram chat from the borrower: it is unknown and unverified again, and must link anew to be
    told anything (a lost phone, a shared device). Its messages stay."""
    why = checked_reason(reason)
    chat = session.get(Conversation, conversation_id, with_for_update=True)
    if chat is None or chat.channel != "telegram" or chat.borrower_id != borrower_id:
        raise InvalidInput("chat: not a Telegram chat linked to this borrower")
    chat.borrower_id, chat.loan_id, chat.verified_until = None, None, None
    if chat.state == ConversationState.BOT.value:
        chat.flow = {}
    _audit(session, actor, "telegram.unlinked", borrower_id, why, chat=mask_address("telegram", chat.address),
           conversation=conversation_id)  # fmt: skip


def change_consent(
    session: Session, borrower_id: int, phone_id: int, purpose: str, *, revoked: bool, reason: str, actor: str,
    now: datetime,
) -> None:  # fmt: skip
    """Record that the borrower revoked (or gave back) consent to one purpose of messages on one of their phones."""
    why = checked_reason(reason)
    if purpose not in CONSENT_PURPOSES:
        raise InvalidInput(f"purpose: one of {', '.join(CONSENT_PURPOSES)}")
    phone = session.get(BorrowerPhone, phone_id)
    if phone is None or phone.borrower_id != borrower_id:
        raise InvalidInput("phone: not one of this borrower's")
    set_opt_out(session, "sms", phone.e164, revoked, now, purpose=purpose)
    _audit(session, actor, "consent.revoked" if revoked else "consent.given", borrower_id, why,
           phone=f"…{phone.e164[-4:]}", purpose=purpose)  # fmt: skip
