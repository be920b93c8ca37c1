"""Specialists with presence, languages and skills, and conversations waiting in the queue, for staffing tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from servicing.conversations import EscalationReason, escalate, record_inbound
from servicing.specialists import Role, add_specialist
from servicing.store.models import Specialist

PASSWORD = "correct horse battery"


def staff(
    sessions: sessionmaker[Session],
    username: str,
    *,
    presence: str = "available",
    capacity: int = 3,
    languages: Sequence[str] = ("en",),
    skills: Sequence[str] = ("general",),
    role: Role = Role.SPECIALIST,
) -> None:
    """Create an active specialist with a presence, a capacity, languages and skills."""
    with sessions.begin() as session:
        person = add_specialist(session, username, PASSWORD, role, actor="test")
        person.presence, person.capacity = presence, capacity
        person.languages, person.skills = list(languages), list(skills)


def waiting(
    sessions: sessionmaker[Session],
    address: str,
    reason: EscalationReason = EscalationReason.ASKED,
    *,
    minutes_ago: float = 5,
    locale: str = "en",
    channel: str = "sms",
) -> int:
    """Put a conversation in the queue as if the bot escalated it `minutes_ago`; return its id."""
    at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    with sessions.begin() as session:
        inbound = record_inbound(session, channel, address, "I need a person", provider_id=f"P-{address}", now=at)
        inbound.conversation.locale = locale
        escalate(session, inbound.conversation, reason, at)
        return inbound.conversation.id


def specialist(session: Session, username: str) -> Specialist:
    """Return a specialist's row."""
    return session.scalars(select(Specialist).where(Specialist.username == username)).one()
