"""Macros: a supervisor's canned reply plus actions, applied to a conversation in one click or with Alt+digit.

A macro holds any of: a canned response (servicing.canned: rendered from its key in the borrower's language when
applied), an internal note (its @mentions notify, as any note's), a reason the conversation is filed under (its
priority follows), and then one of: a transfer to a skill queue (general, loss mitigation, disputes, payoffs: the
conversation waits there for the assignment, as the conversation page's transfer picker sends it), or resolve
(hand back to the assistant) and, with resolve, the satisfaction survey. Applying it
is one transaction on a conversation the specialist holds: every step or none (a canned reply the loan cannot
fill, a borrower who opted out or has not verified for figures refuse the whole macro), and one audit entry
says which macro did what. Macros are retired, never deleted, so the audit's names stay meaningful.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicing.audit import record_audit
from servicing.canned import BY_KEY, reply_with_canned
from servicing.conversations import PRIORITY, ConversationError, EscalationReason, conversation_held_by
from servicing.desk.mentions import note_with_mentions
from servicing.desk.satisfaction import resolve_with_survey
from servicing.errors import InvalidInput
from servicing.staffing.skills import Skill
from servicing.staffing.team import transfer_to_skill_queue
from servicing.store.models import Macro

SHORTCUTS = tuple("123456789")
MAX_NAME = 80
MAX_NOTE = 2000


class MacroError(InvalidInput):
    """A macro that cannot be defined as given; the reason is the message."""


@dataclass(frozen=True)
class MacroDraft:
    """What a supervisor typed into the macro form."""

    name: str
    shortcut: str | None = None
    canned_key: str | None = None
    note: str | None = None
    reason: str | None = None
    resolve: bool = False
    survey: bool = False
    transfer_to: str | None = None  # a skill queue

    def checked(self) -> MacroDraft:
        """Return the draft trimmed, or raise MacroError saying what is wrong with it."""
        name, note = self.name.strip(), (self.note or "").strip() or None
        shortcut, canned, reason, queue = (value.strip() if value else None for value in
                                           (self.shortcut, self.canned_key, self.reason, self.transfer_to))  # fmt: skip
        if not 1 <= len(name) <= MAX_NAME:
            raise MacroError(f"a macro needs a name of 1 to {MAX_NAME} characters")
        if shortcut and shortcut not in SHORTCUTS:
            raise MacroError("a shortcut is one digit from 1 to 9 (pressed with Alt)")
        if canned and canned not in BY_KEY:
            raise MacroError(f"no canned response {canned!r}")
        if reason and reason not in {r.value for r in EscalationReason}:
            raise MacroError(f"no reason {reason!r}")
        if note and len(note) > MAX_NOTE:
            raise MacroError(f"a macro's note is at most {MAX_NOTE} characters")
        if self.survey and not self.resolve:
            raise MacroError("the satisfaction survey goes out only when the macro resolves the conversation")
        if queue and queue not in {skill.value for skill in Skill}:
            raise MacroError(f"no skill queue {queue!r}")
        if queue and self.resolve:
            raise MacroError("a macro either transfers the conversation to a queue or resolves it, not both")
        if not (canned or note or reason or queue or self.resolve):
            raise MacroError("a macro needs at least one action: a canned reply, a note, a reason, a transfer or "
                             "resolve")  # fmt: skip
        return MacroDraft(name, shortcut or None, canned or None, note, reason or None, self.resolve, self.survey,
                          queue or None)  # fmt: skip


@dataclass(frozen=True)
class AppliedMacro:
    """What applying a macro did."""

    macro: str
    steps: tuple[str, ...]
    resolved: bool
    transferred_to: str | None = None  # the skill queue the conversation now waits in

    @property
    def handed_on(self) -> bool:
        """Tell whether the specialist no longer holds the conversation (resolved, or sent to a queue)."""
        return self.resolved or self.transferred_to is not None


def active_macros(session: Session) -> list[Macro]:
    """Return the macros in use, by shortcut then name."""
    query = select(Macro).where(Macro.active.is_(True)).order_by(Macro.shortcut.is_(None), Macro.shortcut, Macro.name)
    return list(session.scalars(query))


def define_macro(session: Session, draft: MacroDraft, actor: str, now: datetime) -> Macro:
    """Define a macro; refuse a taken name or shortcut and a macro that does nothing (audited)."""
    good = draft.checked()
    _refuse_taken(session, good, None)
    macro = Macro(created_by=actor, created_at=now, changed_at=now, active=True)
    _fill(macro, good)
    session.add(macro)
    session.flush()
    record_audit(session, actor, "macro.defined", "macro", str(macro.id), _described(good))
    return macro


def change_macro(session: Session, macro_id: int, draft: MacroDraft, actor: str, now: datetime) -> Macro:
    """Change a macro in use; refuse what `define_macro` refuses (audited)."""
    macro = _in_use(session, macro_id)
    good = draft.checked()
    _refuse_taken(session, good, macro.id)
    _fill(macro, good)
    macro.changed_at = now
    record_audit(session, actor, "macro.changed", "macro", str(macro.id), _described(good))
    return macro


def retire_macro(session: Session, macro_id: int, actor: str, now: datetime) -> None:
    """Stop offering a macro (kept on file for the audit); its shortcut is free again."""
    macro = _in_use(session, macro_id)
    macro.active, macro.shortcut, macro.changed_at = False, None, now
    macro.name = f"{macro.name[: MAX_NAME - 12]} (retired {macro.id})"  # the name is free for a new macro
    record_audit(session, actor, "macro.retired", "macro", str(macro.id))


def apply_macro(
    session: Session, conversation_id: int, macro_id: int, specialist: str, now: datetime, *,
    specialist_name: str, today: date, disclosure_confirmed: bool = False,
) -> AppliedMacro:  # fmt: skip
    """Apply a macro to a conversation the specialist holds: reply, note, reason, then a transfer to a skill queue
    or resolve and the survey; all or none."""
    macro = _in_use(session, macro_id)
    conversation = conversation_held_by(session, conversation_id, specialist)
    steps: list[str] = []
    if macro.canned_key:
        reply_with_canned(session, conversation_id, specialist, macro.canned_key, now, specialist_name=specialist_name,
                          today=today, disclosure_confirmed=disclosure_confirmed)  # fmt: skip
        steps.append(f"reply:{macro.canned_key}")
    if macro.note:
        note_with_mentions(session, conversation_id, specialist, macro.note, now)
        steps.append("note")
    if macro.reason:
        conversation.escalation_reason = macro.reason
        conversation.priority = PRIORITY[EscalationReason(macro.reason)]
        steps.append(f"reason:{macro.reason}")
    if macro.transfer_to:  # last: the reply and the note above are the holder's, written before it leaves them
        transfer_to_skill_queue(session, conversation_id, specialist, macro.transfer_to)
        steps.append(f"transfer:{macro.transfer_to}")
    if macro.resolve:
        survey = resolve_with_survey(session, conversation_id, specialist, now, survey=macro.survey)
        steps.append("resolve")
        if survey is not None:
            steps.append(f"survey:{survey.status}")
    record_audit(session, specialist, "macro.applied", "conversation", str(conversation_id),
                 {"macro": macro.id, "name": macro.name, "steps": steps})  # fmt: skip
    return AppliedMacro(macro.name, tuple(steps), macro.resolve, macro.transfer_to)


def _in_use(session: Session, macro_id: int) -> Macro:
    macro = session.get(Macro, macro_id)
    if macro is None or not macro.active:
        raise ConversationError(f"no macro {macro_id} in use")
    return macro


def _fill(macro: Macro, draft: MacroDraft) -> None:
    macro.name, macro.shortcut, macro.canned_key, macro.note = draft.name, draft.shortcut, draft.canned_key, draft.note
    macro.reason, macro.resolve, macro.survey = draft.reason, draft.resolve, draft.survey
    macro.transfer_to = draft.transfer_to


def _refuse_taken(session: Session, draft: MacroDraft, macro_id: int | None) -> None:
    for column, value, what in ((Macro.name, draft.name, "name"), (Macro.shortcut, draft.shortcut, "shortcut")):
        if value is None:
            continue
        query = select(Macro.id).where(column == value, Macro.id != (macro_id or 0))
        if session.scalar(query.limit(1)) is not None:
            raise MacroError(f"another macro has this {what}")


def _described(draft: MacroDraft) -> dict[str, object]:
    return {"name": draft.name, "shortcut": draft.shortcut, "canned": draft.canned_key, "note": bool(draft.note),
            "reason": draft.reason, "transfer_to": draft.transfer_to, "resolve": draft.resolve,
            "survey": draft.survey}  # fmt: skip
