"""The queue's filters (channel, language, reason, SLA state, skill) and each specialist's saved views."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from datetime import datetime

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.orm import Session

from servicing.audit import record_audit
from servicing.conversations import AT_RISK_SHARE, SLA_TARGETS, EscalationReason, SlaState
from servicing.staffing.presence import StaffingError
from servicing.staffing.skills import LANGUAGES, SKILL_OF_REASON, Skill
from servicing.store.models import Conversation, SavedQueueView

CHANNELS = ("sms", "telegram", "chat", "simulator")
MAX_VIEWS = 20
MAX_NAME = 60


@dataclass(frozen=True)
class QueueFilter:
    """Which waiting conversations to list; an empty field does not filter."""

    channel: str = ""
    language: str = ""
    reason: str = ""
    sla: str = ""
    skill: str = ""

    @classmethod
    def from_arguments(cls, arguments: Mapping[str, str]) -> QueueFilter:
        """Read a filter from query arguments, refusing a value the queue does not know."""
        chosen = cls(**{field.name: str(arguments.get(field.name, "")).strip() for field in fields(cls)})
        chosen.check()
        return chosen

    def check(self) -> None:
        """Refuse a value that names no channel, language, reason, SLA state or skill."""
        allowed = {
            "channel": CHANNELS,
            "language": LANGUAGES,
            "reason": tuple(reason.value for reason in EscalationReason),
            "sla": tuple(state.value for state in SlaState),
            "skill": tuple(skill.value for skill in Skill),
        }
        for name, value in asdict(self).items():
            if value and value not in allowed[name]:
                raise StaffingError(f"unknown {name} {value!r}")

    def arguments(self) -> dict[str, str]:
        """Return the filter as query arguments, the empty fields left out."""
        return {name: value for name, value in asdict(self).items() if value}

    def conditions(self, now: datetime) -> list[ColumnElement[bool]]:
        """Return the SQL conditions a waiting conversation meets to be listed."""
        found: list[ColumnElement[bool]] = []
        if self.channel:
            found.append(Conversation.channel == self.channel)
        if self.language:
            found.append(
                or_(Conversation.locale == self.language, Conversation.locale.like(f"{self.language}\\_%", escape="\\"))
            )
        if self.reason:
            found.append(Conversation.escalation_reason == self.reason)
        if self.sla:
            found.append(sla_condition(SlaState(self.sla), now))
        if self.skill:
            found.append(skill_condition(Skill(self.skill)))
        return found


def _reason_is(reason: EscalationReason) -> ColumnElement[bool]:
    if reason is EscalationReason.ASKED:  # no reason counts as asked, like `sla_target`
        return or_(Conversation.escalation_reason == reason.value, Conversation.escalation_reason.is_(None))
    return Conversation.escalation_reason == reason.value


def sla_condition(state: SlaState, now: datetime) -> ColumnElement[bool]:
    """Return the condition of waiting conversations in an SLA state now (the same bounds as `sla_state`)."""
    per_reason = []
    for reason, target in SLA_TARGETS.items():
        at_risk_from = now - target * AT_RISK_SHARE
        breached_before = now - target
        if state is SlaState.BREACHED:
            waited = Conversation.queued_at < breached_before
        elif state is SlaState.AT_RISK:
            waited = and_(Conversation.queued_at <= at_risk_from, Conversation.queued_at >= breached_before)
        else:
            waited = or_(Conversation.queued_at > at_risk_from, Conversation.queued_at.is_(None))
        per_reason.append(and_(_reason_is(reason), waited))
    return or_(false(), *per_reason)


def skill_condition(skill: Skill) -> ColumnElement[bool]:
    """Return the condition of conversations that need a skill: sent to its queue, or escalated for its reasons."""
    reasons = [reason for reason, needed in SKILL_OF_REASON.items() if needed is skill]
    by_reason: ColumnElement[bool] = Conversation.escalation_reason.in_(reasons)
    if skill is Skill.GENERAL:
        by_reason = or_(by_reason, Conversation.escalation_reason.is_(None))
    return or_(Conversation.skill == skill.value, and_(Conversation.skill.is_(None), by_reason))


def saved_views(session: Session, specialist_id: int) -> list[SavedQueueView]:
    """Return a specialist's saved views by name."""
    query = select(SavedQueueView).where(SavedQueueView.specialist_id == specialist_id).order_by(SavedQueueView.name)
    return list(session.scalars(query))


def save_view(session: Session, specialist_id: int, username: str, name: str, chosen: QueueFilter) -> SavedQueueView:
    """Keep a named set of filters for a specialist; the same name again replaces its filters."""
    name = " ".join(name.split())
    if not 1 <= len(name) <= MAX_NAME:
        raise StaffingError(f"a view's name has 1 to {MAX_NAME} characters")
    chosen.check()
    if not chosen.arguments():
        raise StaffingError("choose at least one filter before saving a view")
    view = session.scalar(
        select(SavedQueueView).where(SavedQueueView.specialist_id == specialist_id, SavedQueueView.name == name)
    )
    if view is None:
        if len(saved_views(session, specialist_id)) >= MAX_VIEWS:
            raise StaffingError(f"at most {MAX_VIEWS} saved views: delete one first")
        view = SavedQueueView(specialist_id=specialist_id, name=name)
        session.add(view)
    view.filters = chosen.arguments()
    session.flush()
    record_audit(session, username, "queue_view.saved", "queue_view", str(view.id), {"filters": view.filters})
    return view


def delete_view(session: Session, specialist_id: int, username: str, view_id: int) -> None:
    """Delete one of the specialist's own saved views."""
    view = session.get(SavedQueueView, view_id)
    if view is None or view.specialist_id != specialist_id:
        raise StaffingError("no such saved view")
    session.delete(view)
    record_audit(session, username, "queue_view.deleted", "queue_view", str(view_id))
