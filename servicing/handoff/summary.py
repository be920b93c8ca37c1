"""What a specialist needs to know before answering a handed-off conversation, as sections of data.

Sections, in order: why it came (the reason and the borrower's own words that triggered it), verification,
what the bot already answered (the figures it quoted, with their dates, from the messages' meta), cases,
promises and workouts, and the canned replies that fit the reason. A builder returns None when it has
nothing to say; the template renders each section by its `kind`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicing.canned import RenderedCanned
from servicing.conversations import (
    EscalationReason,
    borrower_paused_until,
    is_locked,
    is_verified,
)
from servicing.outreach.promises import PromiseLine, promises_of_borrower
from servicing.store.models import Case, Conversation, Loan, Message, Workout

WORDS_SHOWN = 500  # characters of the borrower's words quoted
ANSWERS_SHOWN = 5  # the bot's latest answers with figures
RECENT_MESSAGES = 500  # how far back in a long thread the bot's answers are looked for
CASES_SHOWN = 5
PROMISES_SHOWN = 3
# The canned replies that fit each reason, first to last (those telling figures only once verified).
SUGGESTED_FOR = {
    EscalationReason.ASKED.value: ("greeting", "looking_into_it", "amount_due"),
    EscalationReason.NOT_UNDERSTOOD.value: ("greeting", "looking_into_it"),
    EscalationReason.SENSITIVE.value: ("greeting", "looking_into_it"),
    EscalationReason.HARDSHIP.value: ("greeting", "hardship_documents"),
    EscalationReason.DISPUTE.value: ("greeting", "looking_into_it"),
    EscalationReason.LOCKED_OUT.value: ("greeting",),
}
AFTER_PAYOFF = "payoff_requested"  # suggested too when the bot quoted a payoff


@dataclass(frozen=True)
class Section:
    """One part of the summary: its kind (which template shows it) and its data."""

    kind: str
    data: Any


@dataclass(frozen=True)
class WhyItCame:
    """The escalation: reason, when, and the borrower's words (withheld when they were a verification answer)."""

    reason: str | None
    queued_at: datetime | None
    words: str | None
    words_at: datetime | None
    words_withheld: bool


@dataclass(frozen=True)
class VerificationState:
    """Whether the borrower is known and verified on this conversation, and any lockout."""

    borrower_known: bool
    verified_until: datetime | None
    locked_until: datetime | None
    failed_attempts: int
    borrower_paused_until: datetime | None


@dataclass(frozen=True)
class QuotedFigure:
    """A figure the bot told: its name, and an amount (in `currency`), a date or a count."""

    name: str
    amount: Decimal | None = None
    day: date | None = None
    count: int | None = None


@dataclass(frozen=True)
class BotAnswer:
    """One answer of the bot's that told figures: what was asked, on which loan, as of which day, and when."""

    message_id: int
    at: datetime
    intent: str
    loan: str  # masked: …1005
    currency: str
    as_of: date
    figures: tuple[QuotedFigure, ...]


@dataclass(frozen=True)
class CaseLine:
    """A case of the borrower's or the loan's, open or recently closed."""

    reference: str
    kind: str
    status: str
    opened_on: date
    due_on: date | None
    closed_on: date | None
    source: str


@dataclass(frozen=True)
class WorkoutLine:
    """A workout on one of the borrower's loans."""

    loan_number: str
    kind: str
    status: str
    starts_on: date
    ends_on: date | None


@dataclass(frozen=True)
class Commitments:
    """The borrower's promises to pay and workouts."""

    promises: tuple[PromiseLine, ...]
    workouts: tuple[WorkoutLine, ...]


@dataclass
class SummaryContext:
    """What every builder may read; what two builders need is read once (`recent_floor`, `bot_answers`)."""

    session: Session
    conversation: Conversation
    now: datetime
    canned: Sequence[RenderedCanned]
    _floor: int | None = None
    _answers: list[BotAnswer] | None = None

    @property
    def recent_floor(self) -> int:
        """Return the id of the oldest of the conversation's latest 500 messages (0 for a shorter thread):
        the summary looks no further back, so it costs the same on a thread of 27 messages or of 10,000."""
        if self._floor is None:
            floor = self.session.scalar(
                select(Message.id)
                .where(Message.conversation_id == self.conversation.id)
                .order_by(Message.id.desc())
                .offset(RECENT_MESSAGES - 1)
                .limit(1)
            )
            self._floor = floor or 0
        return self._floor

    @property
    def bot_answers(self) -> list[BotAnswer]:
        """Return the bot's latest answers that quoted figures, newest first."""
        if self._answers is None:
            rows = self.session.execute(
                select(Message.id, Message.created_at, Message.meta)
                .where(Message.conversation_id == self.conversation.id, Message.id >= self.recent_floor,
                       Message.author == "bot", Message.meta.is_not(None))
                .order_by(Message.id.desc())
                .limit(ANSWERS_SHOWN)
            )  # fmt: skip
            self._answers = [answer for row in rows if (answer := bot_answer(row[0], row[1], row[2])) is not None]
        return self._answers


SectionBuilder = Callable[[SummaryContext], Section | None]


def handoff_summary(
    session: Session, conversation: Conversation, *, now: datetime, canned: Sequence[RenderedCanned] = ()
) -> list[Section]:
    """Build the handoff summary of a conversation: every section that has something to say, in order."""
    context = SummaryContext(session, conversation, now, canned)
    return [section for build in SECTIONS if (section := build(context)) is not None]


def why_it_came(context: SummaryContext) -> Section | None:
    """The reason and the borrower's own words that triggered the handoff (none while the bot has it)."""
    conversation = context.conversation
    if conversation.queued_at is None:
        return None
    withheld = conversation.escalation_reason == EscalationReason.LOCKED_OUT.value  # the words were a factor answer
    trigger = context.session.execute(
        select(Message.body, Message.created_at)
        .where(Message.conversation_id == conversation.id, Message.id >= context.recent_floor,
               Message.direction == "in", Message.created_at <= conversation.queued_at)
        .order_by(Message.id.desc())
        .limit(1)
    ).first()  # fmt: skip
    words = None if withheld or trigger is None else trigger[0][:WORDS_SHOWN]
    return Section("why", WhyItCame(conversation.escalation_reason, conversation.queued_at, words,
                                    trigger[1] if trigger else None, withheld and trigger is not None))  # fmt: skip


def verification_state(context: SummaryContext) -> Section:
    """Verified or not on this conversation, locked, and paused by failures in other chats or calls."""
    conversation, now = context.conversation, context.now
    borrower_id = conversation.borrower_id
    return Section("verification", VerificationState(
        borrower_id is not None,
        conversation.verified_until if is_verified(conversation, now) else None,
        conversation.locked_until if is_locked(conversation, now) else None,
        conversation.failed_attempts,
        borrower_paused_until(context.session, borrower_id, now) if borrower_id is not None else None,
    ))  # fmt: skip


def what_the_bot_answered(context: SummaryContext) -> Section | None:
    """The bot's latest answers that quoted figures, newest first, read from the recent messages' meta."""
    answers = context.bot_answers
    return Section("bot_answers", tuple(answers)) if answers else None


def bot_answer(message_id: int, at: datetime, meta: dict[str, Any] | None) -> BotAnswer | None:
    """Read one message's quoted figures (None when it quoted none)."""
    quoted = (meta or {}).get("quoted")
    if not isinstance(quoted, dict):
        return None
    figures = tuple(_figure(name, value) for name, value in dict(quoted.get("figures") or {}).items())
    return BotAnswer(message_id, at, str(quoted.get("intent", "")), str(quoted.get("loan", "")),
                     str(quoted.get("currency", "")), date.fromisoformat(str(quoted["as_of"])), figures)  # fmt: skip


def _figure(name: str, value: object) -> QuotedFigure:
    text = str(value)
    if name == "days_past_due":
        return QuotedFigure(name, count=int(text))
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        return QuotedFigure(name, day=date.fromisoformat(text))
    return QuotedFigure(name, amount=Decimal(text))


def cases_opened(context: SummaryContext) -> Section | None:
    """The borrower's cases (of the conversation's loan when the borrower is unknown): open first, then latest."""
    conversation = context.conversation
    if conversation.borrower_id is not None:
        which = Case.borrower_id == conversation.borrower_id
    elif conversation.loan_id is not None:
        which = Case.loan_id == conversation.loan_id
    else:
        return None
    rows = context.session.scalars(
        select(Case).where(which).order_by(Case.closed_on.is_not(None), Case.id.desc()).limit(CASES_SHOWN)
    )
    cases = tuple(CaseLine(c.reference, c.kind, c.status, c.opened_on, c.due_on, c.closed_on, c.source) for c in rows)
    return Section("cases", cases) if cases else None


def promises_and_workouts(context: SummaryContext) -> Section | None:
    """The borrower's latest promises to pay and their loans' active workouts."""
    borrower_id = context.conversation.borrower_id
    if borrower_id is None:
        return None
    promises = tuple(promises_of_borrower(context.session, borrower_id, limit=PROMISES_SHOWN))
    rows = context.session.execute(
        select(Loan.loan_number, Workout.kind, Workout.status, Workout.starts_on, Workout.ends_on)
        .join(Loan, Loan.id == Workout.loan_id)
        .where(Loan.borrower_id == borrower_id, Workout.status == "active")
        .order_by(Workout.starts_on.desc())
    )
    workouts = tuple(WorkoutLine(*row) for row in rows)
    return Section("commitments", Commitments(promises, workouts)) if promises or workouts else None


def suggested_replies(context: SummaryContext) -> Section | None:
    """The canned replies that fit the reason (and a payoff the bot quoted); with figures only once verified."""
    wanted = list(SUGGESTED_FOR.get(context.conversation.escalation_reason or "", ("greeting", "looking_into_it")))
    verified = is_verified(context.conversation, context.now)
    by_key = {canned.key: canned for canned in context.canned}
    if AFTER_PAYOFF in by_key and _quoted_a_payoff(context):
        wanted.append(AFTER_PAYOFF)
    suggested = tuple(by_key[key] for key in wanted if key in by_key and (verified or not by_key[key].tells_figures))
    return Section("suggested", suggested) if suggested else None


def _quoted_a_payoff(context: SummaryContext) -> bool:
    return any(answer.intent == "payoff" for answer in context.bot_answers)


SECTIONS: list[SectionBuilder] = [
    why_it_came,
    verification_state,
    what_the_bot_answered,
    cases_opened,
    promises_and_workouts,
    suggested_replies,
]
