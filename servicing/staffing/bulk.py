"""Assigning or resolving several conversations at once, from the queue's checkboxes.

The page sends, with each ticked conversation, the version it showed (`seen_version`: who held it, when it
started waiting, its last message). A conversation whose version changed since (someone claimed it, the
borrower wrote again) is skipped and reported, never overwritten. Each one done is audited on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from servicing.audit import record_audit
from servicing.conversations import ConversationState, claim_conversation, hand_back_to_bot
from servicing.staffing.presence import active_specialist
from servicing.store.models import Conversation

MAX_BULK = 100


@dataclass
class BulkOutcome:
    """What a bulk action did: the conversations done, and those skipped with why."""

    done: list[int] = field(default_factory=list)
    skipped: dict[int, str] = field(default_factory=dict)


def seen_version(assigned_to: str | None, queued_at: datetime | None, last_message_at: datetime | None) -> str:
    """Return the version of a conversation a page shows: it changes when anyone acts on it or the borrower writes."""
    return "|".join((assigned_to or "", _moment(queued_at), _moment(last_message_at)))


def version_of(conversation: Conversation) -> str:
    """Return a stored conversation's version as `seen_version` computes it."""
    return seen_version(conversation.assigned_to, conversation.queued_at, conversation.last_message_at)


def resolve_many(session: Session, seen: Sequence[tuple[int, str]], specialist: str, now: datetime) -> BulkOutcome:
    """Resolve waiting conversations and those the specialist holds, each handed back to the bot with its notice."""
    outcome = BulkOutcome()
    for conversation_id, version in _bounded(seen):
        conversation = _unchanged(session, conversation_id, version, outcome)
        if conversation is None:
            continue
        if conversation.state == ConversationState.ASSIGNED.value and conversation.assigned_to != specialist:
            outcome.skipped[conversation_id] = "held by someone else"
            continue
        if conversation.state == ConversationState.QUEUED.value:
            claim_conversation(session, conversation_id, specialist, now)
        hand_back_to_bot(session, conversation_id, specialist, now)
        outcome.done.append(conversation_id)
    return outcome


def assign_many(
    session: Session, seen: Sequence[tuple[int, str]], actor: str, to: str, now: datetime, *, may_assign_others: bool
) -> BulkOutcome:
    """Assign conversations to one active specialist (to someone else only with `may_assign_others`, a supervisor)."""
    target = active_specialist(session, to).username
    outcome = BulkOutcome()
    for conversation_id, version in _bounded(seen):
        conversation = _unchanged(session, conversation_id, version, outcome)
        if conversation is None:
            continue
        if conversation.assigned_to == target:
            outcome.skipped[conversation_id] = f"already with {target}"
            continue
        held_by_other = conversation.assigned_to not in (None, actor)
        if (target != actor or held_by_other) and not may_assign_others:
            outcome.skipped[conversation_id] = "only a supervisor assigns to someone else"
            continue
        previous = conversation.assigned_to
        conversation.state = ConversationState.ASSIGNED.value
        conversation.assigned_to = target
        conversation.assigned_at = now
        record_audit(session, actor, "conversation.assigned", "conversation", str(conversation_id),
                     {"to": target, "from": previous, "bulk": True})  # fmt: skip
        outcome.done.append(conversation_id)
    return outcome


def _bounded(seen: Sequence[tuple[int, str]]) -> list[tuple[int, str]]:
    unique = dict(seen)
    return sorted(unique.items())[:MAX_BULK]


def _unchanged(session: Session, conversation_id: int, version: str, outcome: BulkOutcome) -> Conversation | None:
    conversation = session.get(Conversation, conversation_id, with_for_update=True, populate_existing=True)
    if conversation is None:
        outcome.skipped[conversation_id] = "no such conversation"
        return None
    waiting = conversation.state in (ConversationState.QUEUED.value, ConversationState.ASSIGNED.value)
    if not waiting or version_of(conversation) != version:
        outcome.skipped[conversation_id] = "changed since the page was shown"
        return None
    return conversation


def _moment(moment: datetime | None) -> str:
    if moment is None:
        return ""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return str(int(aware.timestamp() * 1_000_000))
