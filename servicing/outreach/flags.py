"""Contact flags and what the console shows about contacting a borrower.

A specialist sets a flag from the loan page (cease communication, bankruptcy, deceased), on the borrower's
every loan or on that loan alone, with a note; a supervisor clears it with a note. Both are audited; a flag is
never deleted. While a flag is set, reminders and collection messages are suppressed with the flag as reason;
servicing notices (required notices among them) still go out (servicing.rules.contact.SILENCES).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from servicing.audit import record_audit
from servicing.conversations import mask_address
from servicing.errors import InvalidInput, LoanNotFound, ServicingError
from servicing.rules.contact import SPECIALIST_FLAGS
from servicing.store.models import BorrowerPhone, ContactDecision, ContactFlag, Conversation, Loan, OptOut

NOTE_LENGTH = 200
DECISIONS_SHOWN = 20


class FlagRefused(ServicingError):
    """A flag that cannot be set or cleared; the reason is the message."""


@dataclass(frozen=True)
class FlagView:
    """A contact flag as the console lists it."""

    id: int
    flag: str
    loan_number: str | None  # None: every loan of the borrower
    note: str
    set_at: datetime
    set_by: str
    cleared_at: datetime | None
    cleared_by: str | None
    clear_note: str | None


@dataclass(frozen=True)
class DecisionView:
    """One decision of the contact policy as the console lists it."""

    decided_at: datetime
    loan_number: str | None
    kind: str
    channel: str | None
    status: str
    reason: str | None
    send_after: datetime | None
    occasion: date | None


@dataclass(frozen=True)
class Revocation:
    """What one of the borrower's addresses revoked (masked)."""

    address: str
    purposes: tuple[str, ...]


@dataclass(frozen=True)
class ContactOverview:
    """Everything the console shows about contacting a borrower: flags, revocations and recent decisions."""

    flags: list[FlagView]
    revocations: list[Revocation]
    decisions: list[DecisionView]

    @property
    def active_flags(self) -> list[FlagView]:
        """Return the flags in force."""
        return [flag for flag in self.flags if flag.cleared_at is None]


def _note(note: str) -> str:
    text = note.strip()
    if not text:
        raise InvalidInput("a flag needs a note: what the borrower said or what the record shows")
    if len(text) > NOTE_LENGTH:
        raise InvalidInput(f"a note is at most {NOTE_LENGTH} characters")
    return text


def set_contact_flag(
    session: Session, loan_number: str, flag: str, *, note: str, every_loan: bool, actor: str, now: datetime
) -> ContactFlag:
    """Set a flag on the loan's borrower (`every_loan`) or on the loan alone; refuse one already in force."""
    if flag not in {f.value for f in SPECIALIST_FLAGS}:
        raise InvalidInput(f"unknown contact flag {flag!r}")
    text = _note(note)
    loan = session.scalar(select(Loan).where(Loan.loan_number == loan_number))
    if loan is None:
        raise LoanNotFound(loan_number)
    scope = None if every_loan else loan.id
    in_force = session.scalar(
        select(ContactFlag.id).where(
            ContactFlag.borrower_id == loan.borrower_id, ContactFlag.flag == flag, ContactFlag.cleared_at.is_(None),
            or_(ContactFlag.loan_id.is_(None), ContactFlag.loan_id == scope),
        )
    )  # fmt: skip
    if in_force is not None:
        raise FlagRefused(f"{flag.replace('_', ' ')} is already set on this borrower or loan")
    row = ContactFlag(borrower_id=loan.borrower_id, loan_id=scope, flag=flag, note=text, set_at=now, set_by=actor)
    session.add(row)
    session.flush()
    record_audit(session, actor, "contact_flag.set", "loan", loan_number,
                 {"flag": flag, "id": row.id, "every_loan": every_loan})  # fmt: skip
    return row


def clear_contact_flag(
    session: Session, loan_number: str, flag_id: int, *, note: str, actor: str, now: datetime
) -> ContactFlag:
    """Clear a flag in force on the loan's borrower, with a note; refuse one that is not theirs or already cleared."""
    text = _note(note)
    loan = session.scalar(select(Loan).where(Loan.loan_number == loan_number))
    if loan is None:
        raise LoanNotFound(loan_number)
    row = session.get(ContactFlag, flag_id, with_for_update=True)
    if row is None or row.borrower_id != loan.borrower_id:
        raise FlagRefused(f"no contact flag {flag_id} on this borrower")
    if row.cleared_at is not None:
        raise FlagRefused(f"contact flag {flag_id} was already cleared")
    row.cleared_at, row.cleared_by, row.clear_note = now, actor, text
    record_audit(session, actor, "contact_flag.cleared", "loan", loan_number, {"flag": row.flag, "id": row.id})
    return row


def contact_flags(session: Session, borrower_id: int) -> list[FlagView]:
    """Return the borrower's flags, those in force first, then the cleared ones, newest first."""
    rows = session.execute(
        select(ContactFlag, Loan.loan_number)
        .outerjoin(Loan, Loan.id == ContactFlag.loan_id)
        .where(ContactFlag.borrower_id == borrower_id)
        .order_by(ContactFlag.cleared_at.is_not(None), ContactFlag.set_at.desc(), ContactFlag.id.desc())
    )
    return [
        FlagView(f.id, f.flag, number, f.note, f.set_at, f.set_by, f.cleared_at, f.cleared_by, f.clear_note)
        for f, number in rows
    ]


def contact_overview(session: Session, borrower_id: int, loan_id: int | None = None) -> ContactOverview:
    """Return the borrower's flags, what their addresses revoked, and the latest decisions (of one loan if given)."""
    return ContactOverview(
        contact_flags(session, borrower_id), revocations(session, borrower_id),
        recent_decisions(session, borrower_id, loan_id),
    )  # fmt: skip


def revocations(session: Session, borrower_id: int) -> list[Revocation]:
    """Return what each of the borrower's addresses (conversations, phones on file) revoked, masked."""
    chats = select(Conversation.channel, Conversation.address).where(Conversation.borrower_id == borrower_id)
    phones = select(BorrowerPhone.e164).where(BorrowerPhone.borrower_id == borrower_id)
    addresses = set(session.execute(chats).tuples()) | {("sms", e164) for e164 in session.scalars(phones)}
    if not addresses:
        return []
    rows = session.execute(
        select(OptOut.channel, OptOut.address, OptOut.purpose)
        .where(OptOut.address.in_(sorted({a for _, a in addresses})), OptOut.opted_out.is_(True))
        .order_by(OptOut.channel, OptOut.address, OptOut.purpose)
    )
    found: dict[tuple[str, str], list[str]] = {}
    for channel, address, purpose in rows:
        if (channel, address) in addresses:
            found.setdefault((channel, address), []).append(purpose)
    return [Revocation(mask_address(c, a), tuple(p)) for (c, a), p in sorted(found.items())]


def recent_decisions(session: Session, borrower_id: int, loan_id: int | None = None) -> list[DecisionView]:
    """Return the latest decisions about the borrower (of one loan if given), newest first."""
    where: Any = ContactDecision.borrower_id == borrower_id
    if loan_id is not None:
        where = ContactDecision.loan_id == loan_id
    rows = session.execute(
        select(ContactDecision.decided_at, Loan.loan_number, ContactDecision.kind, ContactDecision.channel,
               ContactDecision.status, ContactDecision.reason, ContactDecision.send_after, ContactDecision.occasion)
        .outerjoin(Loan, Loan.id == ContactDecision.loan_id)
        .where(where)
        .order_by(ContactDecision.decided_at.desc(), ContactDecision.id.desc())
        .limit(DECISIONS_SHOWN)
    )  # fmt: skip
    return [DecisionView(*row) for row in rows]


def loan_contact(session: Session, loan_number: str) -> ContactOverview:
    """Return the loan page's contact section: the borrower's flags and revocations, the loan's decisions."""
    loan = session.execute(select(Loan.id, Loan.borrower_id).where(Loan.loan_number == loan_number)).one_or_none()
    if loan is None:
        raise LoanNotFound(loan_number)
    return contact_overview(session, loan.borrower_id, loan.id)


def contact_flags_of(session: Session, loan: Loan) -> list[dict[str, Any]]:
    """Return the contact flags in force on a loan or on its borrower's every loan, oldest first (`loan --json`)."""
    rows = session.execute(
        select(ContactFlag)
        .where(
            ContactFlag.borrower_id == loan.borrower_id,
            ContactFlag.cleared_at.is_(None),
            or_(ContactFlag.loan_id.is_(None), ContactFlag.loan_id == loan.id),
        )
        .order_by(ContactFlag.set_at, ContactFlag.id)
    ).scalars()
    return [
        {"flag": flag.flag, "every_loan": flag.loan_id is None, "set_at": flag.set_at.isoformat(),
         "set_by": flag.set_by}
        for flag in rows
    ]  # fmt: skip
