"""@mentions in internal notes: the specialist named is notified; a name that is no active login stays text.

A mention is `@` followed by a username (letters, digits, dots, dashes, underscores) not preceded by a letter or
digit, so an e-mail address in a note ("jo@example.com") mentions nobody. The writer is never notified of their
own note, and a note that names someone twice notifies them once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from servicing.audit import record_audit
from servicing.conversations import note_on_conversation
from servicing.store.models import Message, Notification, Specialist

MENTION = re.compile(r"(?<![\w@.])@([A-Za-z0-9_][A-Za-z0-9_.-]{0,63})")
KIND_MENTION = "mention"
NOTIFICATIONS_SHOWN = 100


@dataclass(frozen=True)
class NotificationLine:
    """One notification as the specialist's list shows it: who mentioned them, where, and the note."""

    id: int
    kind: str
    conversation_id: int
    by: str
    note: str
    created_at: datetime
    read: bool


def mentioned_names(text: str) -> list[str]:
    """Return the usernames a text mentions, lower case, each once, in the order they appear."""
    names: list[str] = []
    for match in MENTION.finditer(text):
        name = match.group(1).rstrip(".-").lower()
        if name and name not in names:
            names.append(name)
    return names


@dataclass(frozen=True)
class NoteKept:
    """A note on file and the specialists it notified."""

    note: Message
    notified: tuple[str, ...]


def note_with_mentions(session: Session, conversation_id: int, specialist: str, body: str, now: datetime) -> NoteKept:
    """Keep an internal note and notify each active specialist it mentions (audited); other names stay text."""
    note = note_on_conversation(session, conversation_id, specialist, body, now)
    notified = [name for name in known_specialists(session, mentioned_names(note.body)) if name != specialist]
    for username in notified:
        notify_mention(session, username, note, specialist, now)
    return NoteKept(note, tuple(notified))


def known_specialists(session: Session, names: list[str]) -> list[str]:
    """Return which of these usernames are active logins, in the order given."""
    if not names:
        return []
    active = set(
        session.scalars(select(Specialist.username).where(Specialist.username.in_(names), Specialist.active.is_(True)))
    )
    return [name for name in names if name in active]


def notify_mention(session: Session, username: str, note: Message, by: str, now: datetime) -> None:
    """Notify a specialist that a note mentions them, and audit it."""
    session.add(Notification(specialist=username, kind=KIND_MENTION, conversation_id=note.conversation_id,
                             message_id=note.id, message_created_at=note.created_at, by=by,
                             created_at=now))  # fmt: skip
    record_audit(session, by, "specialist.mentioned", "conversation", str(note.conversation_id),
                 {"message": note.id, "mentioned": username})  # fmt: skip


def unread_notifications(session: Session, username: str) -> int:
    """Return how many notifications a specialist has not read."""
    query = select(func.count()).where(Notification.specialist == username, Notification.read_at.is_(None))
    return session.scalar(query) or 0


def notifications_of(session: Session, username: str, limit: int = NOTIFICATIONS_SHOWN) -> list[NotificationLine]:
    """Return a specialist's notifications, the newest first, with the note each one is about."""
    query = (
        select(Notification, Message.body)
        .join(Message, Message.id == Notification.message_id)
        .where(Notification.specialist == username)
        .order_by(Notification.id.desc())
        .limit(limit)
    )
    return [
        NotificationLine(n.id, n.kind, n.conversation_id, n.by, body, n.created_at, n.read_at is not None)
        for n, body in session.execute(query)
    ]


def mark_notifications_read(session: Session, username: str, now: datetime) -> int:
    """Mark every unread notification of a specialist read; return how many were."""
    result = session.execute(
        update(Notification)
        .where(Notification.specialist == username, Notification.read_at.is_(None))
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    if count:
        record_audit(session, username, "notifications.read", "specialist", username, {"count": count})
    return count
