"""Whether a specialist takes conversations now: available, away or offline.

Available: the assignment offers them conversations up to their capacity. Away: they keep what they hold
and get nothing new. Offline: they get nothing new, and the conversations they hold but have not answered
yet go back to the queue, keeping their place, so a borrower does not wait on someone who left.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session

from servicing.audit import record_audit
from servicing.conversations import ConversationState
from servicing.errors import ServicingError
from servicing.store.models import Conversation, Message, Specialist


class Presence(StrEnum):
    """Whether a specialist takes new conversations."""

    AVAILABLE = "available"
    AWAY = "away"
    OFFLINE = "offline"


class StaffingError(ServicingError):
    """A staffing change that cannot be made; the reason is the message."""


def set_presence(session: Session, username: str, presence: str, now: datetime) -> list[int]:
    """Set a specialist's presence; going offline hands back what they hold unanswered. Return the ids handed back."""
    try:
        chosen = Presence(presence)
    except ValueError as error:
        raise StaffingError(f"presence must be one of {', '.join(Presence)}") from error
    specialist = active_specialist(session, username, lock=True)
    before = specialist.presence
    specialist.presence = chosen.value
    handed_back = hand_back_unanswered(session, username, now) if chosen is Presence.OFFLINE else []
    if before != chosen.value or handed_back:
        record_audit(session, username, "specialist.presence", "specialist", username,
                     {"from": before, "to": chosen.value, "handed_back": handed_back})  # fmt: skip
    return handed_back


def active_specialist(session: Session, username: str, *, lock: bool = False) -> Specialist:
    """Return an active specialist by username (locked for this transaction with `lock`), or refuse."""
    query = select(Specialist).where(Specialist.username == username.strip().lower(), Specialist.active.is_(True))
    specialist = session.scalar(query.with_for_update() if lock else query)
    if specialist is None:
        raise StaffingError(f"no active specialist {username.strip().lower()!r}")
    return specialist


def hand_back_unanswered(session: Session, username: str, now: datetime, *, everything: bool = False) -> list[int]:
    """Put back in the queue the conversations a specialist holds and has not replied to since taking them.

    With `everything` (a deactivated account) every conversation they hold goes back. Each keeps its place in
    the queue (its `queued_at`) and is audited as `conversation.handed_back`.
    """
    replied = exists().where(
        Message.conversation_id == Conversation.id,
        Message.author == username,
        Message.direction == "out",
        Message.internal.is_(False),
        Message.created_at >= Conversation.assigned_at,
    )
    held = and_(Conversation.state == ConversationState.ASSIGNED.value, Conversation.assigned_to == username)
    query = select(Conversation).where(held if everything else and_(held, ~replied)).with_for_update()
    handed_back = []
    for conversation in session.scalars(query.order_by(Conversation.id)):
        conversation.state = ConversationState.QUEUED.value
        conversation.assigned_to = None
        conversation.assigned_at = None
        conversation.queued_at = conversation.queued_at or now
        handed_back.append(conversation.id)
        record_audit(session, username, "conversation.handed_back", "conversation", str(conversation.id))
    return handed_back
