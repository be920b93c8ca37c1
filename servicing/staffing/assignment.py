"""Offering waiting conversations to available specialists.

Waiting conversations are taken in the queue's order (most urgent, then the longest wait). Each goes to an
available, active specialist who speaks the borrower's language, has the skill the conversation needs and
room under their capacity; among those, the least loaded, and on a tie the one whose last assignment is the
oldest. Runs of the assignment never overlap (a transaction-level advisory lock on PostgreSQL; SQLite
transactions already begin IMMEDIATE, one writer at a time), and each hand-over is a conditional UPDATE
(`state = 'queued'`), so a conversation claimed by hand at the same moment still has exactly one owner.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from servicing.audit import record_audit
from servicing.conversations import ConversationState
from servicing.staffing.presence import Presence
from servicing.staffing.skills import language_of, needed_skill
from servicing.store.db import IN_THIS_SCHEMA
from servicing.store.models import Conversation, Specialist

ASSIGNMENT_LOCK = 15_0001  # the advisory lock key every run of the assignment takes on PostgreSQL
LOOKED_AT = 500  # waiting conversations considered per run, in queue order
ASSIGNER = "assignment"  # the audit log's actor for automatic assignments


@dataclass
class Candidate:
    """An available specialist as the assignment weighs them."""

    username: str
    capacity: int
    languages: frozenset[str]
    skills: frozenset[str]
    load: int
    last_assigned_at: datetime | None

    def can_take(self, language: str, skill: str) -> bool:
        """Tell whether they have room, the language and the skill."""
        return self.load < self.capacity and language in self.languages and skill in self.skills

    def fairness(self) -> tuple[int, datetime]:
        """Return the order of preference: least loaded, then longest since their last assignment."""
        return self.load, _aware(self.last_assigned_at) if self.last_assigned_at else datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Offer:
    """A conversation the assignment gave to a specialist."""

    conversation_id: int
    username: str
    skill: str


def assign_waiting_conversations(session: Session, now: datetime) -> list[Offer]:
    """Give waiting conversations to available specialists with the language, skill and room; return who got what."""
    take_assignment_turn(session)
    candidates = available_candidates(session)
    if not any(candidate.load < candidate.capacity for candidate in candidates):
        return []
    offers = []
    for row in session.execute(_WAITING.limit(LOOKED_AT)):
        skill = needed_skill(row.skill, row.escalation_reason).value
        able = [c for c in candidates if c.can_take(language_of(row.locale), skill)]
        if not able:
            continue
        chosen = min(able, key=Candidate.fairness)
        if hand_over(session, row.id, chosen.username, now):
            chosen.load += 1
            chosen.last_assigned_at = now
            offers.append(Offer(row.id, chosen.username, skill))
            record_audit(
                session,
                ASSIGNER,
                "conversation.assigned",
                "conversation",
                str(row.id),
                {"to": chosen.username, "skill": skill},
            )
        if not any(candidate.load < candidate.capacity for candidate in candidates):
            break
    for offer in offers:
        session.execute(update(Specialist).where(Specialist.username == offer.username).values(last_assigned_at=now))
    return offers


_WAITING = (
    select(Conversation.id, Conversation.locale, Conversation.escalation_reason, Conversation.skill)
    .where(Conversation.state == ConversationState.QUEUED.value)
    .order_by(Conversation.priority.desc(), Conversation.queued_at, Conversation.id)
)


def someone_on_shift_for(session: Session, conversation: Conversation) -> bool:
    """Tell whether an available specialist speaks the conversation's language and has the skill it needs.

    Their load does not matter: a person at work frees a place as they resolve. Out of business hours the bot
    then tells the borrower a person replies shortly, not at the next opening (docs/conversation.md).
    """
    language = language_of(conversation.locale)
    skill = needed_skill(conversation.skill, conversation.escalation_reason).value
    return any(language in c.languages and skill in c.skills for c in available_candidates(session))


def take_assignment_turn(session: Session) -> None:
    """Wait until no other run of the assignment is under way (PostgreSQL; SQLite has one writer at a time)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SELECT pg_advisory_xact_lock({IN_THIS_SCHEMA})"), {"key": ASSIGNMENT_LOCK})


def available_candidates(session: Session) -> list[Candidate]:
    """Return the active, available specialists with their current load."""
    load = dict(
        session.execute(
            select(Conversation.assigned_to, func.count())
            .where(Conversation.state == ConversationState.ASSIGNED.value, Conversation.assigned_to.is_not(None))
            .group_by(Conversation.assigned_to)
        )
        .tuples()
        .all()
    )
    people = session.scalars(
        select(Specialist).where(Specialist.active.is_(True), Specialist.presence == Presence.AVAILABLE.value)
    )
    return [
        Candidate(
            person.username,
            person.capacity,
            frozenset(person.languages or ()),
            frozenset(person.skills or ()),
            load.get(person.username, 0),
            person.last_assigned_at,
        )
        for person in people
    ]


def hand_over(session: Session, conversation_id: int, username: str, now: datetime) -> bool:
    """Assign a conversation that is still waiting; False when someone claimed it meanwhile."""
    result = session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.state == ConversationState.QUEUED.value)
        .values(state=ConversationState.ASSIGNED.value, assigned_to=username, assigned_at=now)
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
