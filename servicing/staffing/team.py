"""The team as a supervisor sees it, reassigning a conversation, and the transfer picker's choices."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from servicing.audit import record_audit
from servicing.conversations import ConversationError, ConversationState
from servicing.staffing.presence import Presence, StaffingError, active_specialist
from servicing.staffing.skills import Skill
from servicing.store.models import Conversation, Specialist

PRESENCE_ORDER = {Presence.AVAILABLE.value: 0, Presence.AWAY.value: 1, Presence.OFFLINE.value: 2}


@dataclass(frozen=True)
class Member:
    """One active specialist: presence, load against capacity, languages and skills."""

    username: str
    display_name: str
    role: str
    presence: str
    load: int
    capacity: int
    languages: tuple[str, ...]
    skills: tuple[str, ...]

    @property
    def has_room(self) -> bool:
        """Tell whether they hold fewer conversations than their capacity."""
        return self.load < self.capacity


def team_overview(session: Session) -> list[Member]:
    """Return every active specialist, available first, then the least loaded, then by name."""
    load = dict(
        session.execute(
            select(Conversation.assigned_to, func.count())
            .where(Conversation.state == ConversationState.ASSIGNED.value)
            .group_by(Conversation.assigned_to)
        )
        .tuples()
        .all()
    )
    members = [
        Member(
            person.username,
            person.display_name,
            person.role,
            person.presence,
            load.get(person.username, 0),
            person.capacity,
            tuple(person.languages or ()),
            tuple(person.skills or ()),
        )
        for person in session.scalars(select(Specialist).where(Specialist.active.is_(True)))
    ]
    return sorted(members, key=lambda m: (PRESENCE_ORDER.get(m.presence, 3), m.load, m.username))


def held_conversations(session: Session, limit: int = 200) -> list[tuple[int, str, str | None, datetime | None]]:
    """Return the conversations specialists hold: (id, holder, reason, since), the longest held first."""
    query = (
        select(Conversation.id, Conversation.assigned_to, Conversation.escalation_reason, Conversation.assigned_at)
        .where(Conversation.state == ConversationState.ASSIGNED.value)
        .order_by(Conversation.assigned_at, Conversation.id)
        .limit(limit)
    )
    return [(row.id, row.assigned_to or "", row.escalation_reason, row.assigned_at) for row in session.execute(query)]


def reassign_conversation(session: Session, conversation_id: int, supervisor: str, to: str, now: datetime) -> str:
    """Give a waiting or held conversation to another active specialist (a supervisor's decision); return who had it."""
    target = active_specialist(session, to).username
    conversation = session.get(Conversation, conversation_id, with_for_update=True)
    if conversation is None:
        raise StaffingError(f"no conversation {conversation_id}")
    if conversation.state not in (ConversationState.QUEUED.value, ConversationState.ASSIGNED.value):
        raise StaffingError(f"conversation {conversation_id} is with the assistant, not waiting for a person")
    previous = conversation.assigned_to or ""
    if previous == target:
        raise StaffingError(f"conversation {conversation_id} is already with {target}")
    conversation.state = ConversationState.ASSIGNED.value
    conversation.assigned_to = target
    conversation.assigned_at = now
    record_audit(
        session,
        supervisor,
        "conversation.reassigned",
        "conversation",
        str(conversation_id),
        {"from": previous or None, "to": target},
    )
    return previous


def transfer_to_skill_queue(session: Session, conversation_id: int, specialist: str, skill: str) -> None:
    """Put a conversation the specialist holds back in the queue of a skill, for the assignment to offer it there."""
    try:
        chosen = Skill(skill)
    except ValueError as error:
        raise ConversationError(f"no skill queue {skill!r}") from error
    conversation = session.get(Conversation, conversation_id, with_for_update=True)
    if conversation is None:
        raise ConversationError(f"no conversation {conversation_id}")
    if conversation.state != ConversationState.ASSIGNED.value or conversation.assigned_to != specialist:
        raise ConversationError(f"conversation {conversation_id} is not assigned to {specialist}")
    conversation.state = ConversationState.QUEUED.value
    conversation.assigned_to = None
    conversation.assigned_at = None
    conversation.skill = chosen.value
    record_audit(
        session,
        specialist,
        "conversation.transferred",
        "conversation",
        str(conversation_id),
        {"to_queue": chosen.value},
    )
