"""A borrower's profile as the console shows it, and the changes a specialist makes to it.

Every change needs a reason (what the borrower asked, or what the record shows), changes nothing when refused,
and is audited in its own transaction with the values masked: a phone or chat by its last 4 characters, a name
by each word's first two letters, an email by its first letter and domain, an address as docs/documents.md says.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
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
from servicing.documents.addresses import CONTROL, MAILING, PROPERTY, AddressChange, change_address
from servicing.documents.context import Address, mailing_address, property_address
from servicing.documents.records import consent_in_force
from servicing.errors import InvalidInput
from servicing.outreach.flags import FlagView, Revocation, contact_flags, revocations
from servicing.rules.contact import Purpose, is_zone
from servicing.rules.searching import phone_number_in
from servicing.store.models import Borrower, BorrowerPhone, Conversation, EsignConsent, Loan

REASON_LENGTH = 200
NAME_LENGTH = 100  # each of first and last name: the columns' length
EMAIL_LENGTH, EMAIL_LOCAL_LENGTH = 254, 64  # RFC 5321's limits on a path and its local part
CONSENT_PURPOSES = tuple(purpose.value for purpose in Purpose)
# A local part: any printable character but spaces and the ones RFC 5322 reserves (quoted local parts refused)
EMAIL_LOCAL = re.compile(r'[^\s"(),:;<>@\[\\\]]+')
DOMAIN_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


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
    """One of the borrower's loans, for the links, and the address of the property securing it."""

    loan_number: str
    status: str
    property: Address


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
    """Return a borrower's profile: phones, Telegram chats, loans and their properties, mailing address, language,
    zone, consent, flags."""
    borrower = _borrower(session, borrower_id)
    phones = session.scalars(
        select(BorrowerPhone).where(BorrowerPhone.borrower_id == borrower_id).order_by(BorrowerPhone.id)
    )
    chats = session.scalars(
        select(Conversation)
        .where(Conversation.borrower_id == borrower_id, Conversation.channel == "telegram")
        .order_by(Conversation.id)
    )
    loans = session.scalars(select(Loan).where(Loan.borrower_id == borrower_id).order_by(Loan.id))
    return Profile(
        borrower,
        [PhoneOnFile(p.id, p.e164, p.is_primary) for p in phones],
        [TelegramChat(c.id, mask_address("telegram", c.address), c.state, c.last_message_at) for c in chats],
        [LoanLine(loan.loan_number, loan.status, property_address(loan)) for loan in loans],
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


def change_name(
    session: Session, borrower_id: int, first_name: str, last_name: str, *, reason: str, actor: str
) -> None:
    """Correct the borrower's name (a typo boarded, a marriage); search finds them by the new one at once."""
    why = checked_reason(reason)
    first, last = _name_part(first_name, "first name"), _name_part(last_name, "last name")
    borrower = _borrower(session, borrower_id, lock=True)
    before = (borrower.first_name, borrower.last_name)
    if before == (first, last):
        raise InvalidInput("name: it is already the borrower's")
    borrower.first_name, borrower.last_name = first, last  # the search key follows (Borrower's before_update)
    _audit(session, actor, "borrower.name_changed", borrower_id, why, before=masked_name(*before),
           after=masked_name(first, last))  # fmt: skip


def _name_part(typed: str, field: str) -> str:
    control = CONTROL.search(typed)
    if control:
        raise InvalidInput(f"{field}: holds a control character (U+{ord(control.group()):04X})")
    text = " ".join(typed.split())
    if not any(character.isalpha() for character in text):
        raise InvalidInput(f"{field}: missing (a name has letters, in any script)")
    if len(text) > NAME_LENGTH:
        raise InvalidInput(f"{field}: at most {NAME_LENGTH} characters")
    return text


def masked_name(first_name: str, last_name: str) -> str:
    """Return a name fit for the audit log: each word's first two letters (as search's audit keeps names)."""
    return " ".join(f"{word[:2]}…" if len(word) > 2 else word for word in f"{first_name} {last_name}".split())


def checked_email(typed: str) -> str | None:
    """Return an email address with its domain in lower case, None for a blank one; refuse what cannot be one.

    An address is a local part (at most 64 characters, no spaces, quotes, brackets or two dots in a row), one @
    and a domain of at least two labels (letters, digits and inner hyphens; an internationalized domain is
    checked in its IDNA form), 254 characters in all.
    """
    text = typed.strip()
    if not text:
        return None
    if CONTROL.search(text) or len(text) > EMAIL_LENGTH or text.count("@") != 1:
        raise InvalidInput("email: not an email address (name@example.com)")
    local, domain = text.split("@")
    if len(local) > EMAIL_LOCAL_LENGTH:
        raise InvalidInput(f"email: the part before the @ is longer than {EMAIL_LOCAL_LENGTH} characters")
    if not EMAIL_LOCAL.fullmatch(local) or ".." in local or local.startswith(".") or local.endswith("."):
        raise InvalidInput(f"email: the part before the @ cannot be {local!r}")
    domain = domain.lower()
    if not domain:
        raise InvalidInput("email: nothing after the @ (name@example.com)")
    try:
        labels = domain.encode("idna").decode("ascii").split(".")
    except UnicodeError as error:
        raise InvalidInput(f"email: {domain[:64]!r} is not a domain") from error
    if len(labels) < 2 or labels[-1].isdigit() or not all(DOMAIN_LABEL.fullmatch(label) for label in labels):
        raise InvalidInput(f"email: {domain[:64]!r} is not a domain")
    return f"{local}@{domain}"


def masked_email(email: str | None) -> str | None:
    """Return an email fit for the audit log: its first letter and its domain."""
    if email is None:
        return None
    local, _, domain = email.partition("@")
    return f"{local[:1]}…@{domain}"


def change_email(session: Session, borrower_id: int, typed: str, *, reason: str, actor: str) -> str | None:
    """Set (or, blank, remove) the borrower's email; return it as kept. Search finds them by the new one at once."""
    why = checked_reason(reason)
    email = checked_email(typed)
    borrower = _borrower(session, borrower_id, lock=True)
    if email == borrower.email:
        raise InvalidInput("email: it is already the borrower's" if email else "email: the borrower has none")
    before, borrower.email = borrower.email, email
    _audit(session, actor, "borrower.email_changed" if email else "borrower.email_removed", borrower_id, why,
           before=masked_email(before), after=masked_email(email))  # fmt: skip
    return email


def change_mailing_address(
    session: Session, borrower_id: int, values: Mapping[str, str | None], *, reason: str, actor: str
) -> AddressChange:
    """Set (or, all blank, remove) the borrower's mailing address: where paper for every loan of theirs goes."""
    why = checked_reason(reason)
    _borrower(session, borrower_id)
    first = session.scalar(select(Loan.loan_number).where(Loan.borrower_id == borrower_id).order_by(Loan.id))
    if first is None:  # an address is read in the loan's country: a borrower has at least one loan once boarded
        raise InvalidInput("mailing address: the borrower has no loan")
    return change_address(session, first, MAILING, values, actor=actor, reason=why)


def change_property_address(
    session: Session, borrower_id: int, loan_number: str, values: Mapping[str, str | None], *, reason: str, actor: str
) -> AddressChange:
    """Set (or, all blank, remove) the address of the property securing one of the borrower's loans."""
    why = checked_reason(reason)
    _borrower(session, borrower_id)
    owner = session.scalar(select(Loan.borrower_id).where(Loan.loan_number == loan_number))
    if owner != borrower_id:
        raise InvalidInput("loan: not one of this borrower's")
    return change_address(session, loan_number, PROPERTY, values, actor=actor, reason=why)
