"""The satisfaction survey: one question after a specialist resolved a conversation, answered with 1 to 5.

The question goes in the borrower's language on the conversation's channel, through the contact policy as an
informational message (`Kind.SATISFACTION_SURVEY`, the purpose of reminders: a borrower who revoked reminders,
or is flagged deceased, bankrupt or cease-communication, is not asked; outside their hours it waits for the
morning) and the outbox. A borrower asked in the last `NOT_ASKED_AGAIN_FOR` is not asked again. The bot takes
a digit or a word (bot/satisfaction.py) as the answer within `ANSWER_WINDOW` of the question going out, and
the score counts for the specialist who resolved the conversation (`satisfaction_report`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicing.audit import record_audit
from servicing.canned import conversation_loan
from servicing.conversations import hand_back_to_bot, record_outbound
from servicing.errors import InvalidInput
from servicing.notices import OPT_OUT_LINE
from servicing.outreach.policy import (
    Decided,
    Recipient,
    Wanted,
    decide_all,
    link_outbox,
    recipients,
    record_decisions,
    situation,
)
from servicing.rules.contact import DEFAULT_RULES, ContactRules, Kind, servicer_day
from servicing.speaking import Speaker, say
from servicing.store.models import Conversation, Message, SatisfactionSurvey

QUESTION = say(
    "How satisfied are you with the help you received today? Reply with a number from 1 (very dissatisfied) "
    "to 5 (very satisfied)."
)
THANKS = say("Thank you for your rating. It helps us serve you better.")
ANSWER_WINDOW = timedelta(hours=48)
NOT_ASKED_AGAIN_FOR = timedelta(days=7)
SCORES = range(1, 6)
SATISFIED_FROM = 4  # a 4 or a 5 counts as satisfied (the usual CSAT share)


class SurveyStatus(StrEnum):
    """Where a survey stands."""

    ASKED = "asked"  # queued (now, or for the borrower's morning)
    ANSWERED = "answered"
    SUPPRESSED = "suppressed"  # the contact policy said no, or the borrower was asked recently


ASKED_RECENTLY = "asked_recently"


def resolve_with_survey(
    session: Session, conversation_id: int, specialist: str, now: datetime, *, survey: bool,
    rules: ContactRules = DEFAULT_RULES,
) -> SatisfactionSurvey | None:  # fmt: skip
    """Resolve a conversation (the assistant is back, the borrower is told) and, if asked for, send the survey."""
    hand_back_to_bot(session, conversation_id, specialist, now)
    if not survey:
        return None
    return ask_for_satisfaction(session, conversation_id, specialist, now, rules)


def ask_for_satisfaction(
    session: Session, conversation_id: int, specialist: str, now: datetime, rules: ContactRules = DEFAULT_RULES
) -> SatisfactionSurvey | None:
    """Ask the borrower of a just-resolved conversation to rate it, if the contact policy lets it go out.

    Returns the survey on file (asked or suppressed, with the reason), or None for a conversation with no known
    borrower or loan (nobody to ask on the servicer's behalf).
    """
    conversation = session.get_one(Conversation, conversation_id)
    loan = conversation_loan(session, conversation)
    if conversation.borrower_id is None or loan is None:
        return None
    survey = SatisfactionSurvey(conversation_id=conversation.id, specialist=specialist,
                                borrower_id=conversation.borrower_id, channel=conversation.channel,
                                locale=conversation.locale, resolved_at=now)  # fmt: skip
    if asked_recently(session, conversation.borrower_id, now):
        return _suppressed(session, survey, ASKED_RECENTLY)
    wanted = Wanted(Kind.SATISFACTION_SURVEY, loan.id, conversation.borrower_id)
    recipient = _on_this_conversation(session, conversation)
    facts = situation(session, [wanted], {recipient.borrower_id: recipient}, servicer_day(now, rules), now, rules)
    decided = decide_all([wanted], {recipient.borrower_id: recipient}, facts, now, rules)[0]
    [recorded] = record_decisions(session, [decided], now)
    survey.decision_id = recorded.decision_id
    if not decided.verdict.goes_out:
        return _suppressed(session, survey, decided.verdict.reason)
    message = _queue_question(session, conversation, decided, now)
    link_outbox(session, recorded.decision_id, message.id)
    survey.status, survey.message_id = SurveyStatus.ASKED.value, message.id
    survey.message_created_at = message.created_at
    survey.asked_at = decided.verdict.send_after or now
    session.add(survey)
    session.flush()
    record_audit(session, specialist, "survey.asked", "conversation", str(conversation.id),
                 {"survey": survey.id, "at": survey.asked_at.isoformat()})  # fmt: skip
    return survey


def asked_recently(session: Session, borrower_id: int, now: datetime) -> bool:
    """Tell whether the borrower was asked the survey within `NOT_ASKED_AGAIN_FOR`."""
    query = select(SatisfactionSurvey.id).where(
        SatisfactionSurvey.borrower_id == borrower_id,
        SatisfactionSurvey.status != SurveyStatus.SUPPRESSED.value,
        SatisfactionSurvey.resolved_at > now - NOT_ASKED_AGAIN_FOR,
    )
    return session.scalar(query.limit(1)) is not None


def _on_this_conversation(session: Session, conversation: Conversation) -> Recipient:
    """Return the recipient the policy decides for: this conversation's channel and address, the borrower's zones."""
    assert conversation.borrower_id is not None
    known = recipients(session, [conversation.borrower_id])[conversation.borrower_id]
    return Recipient(conversation.borrower_id, conversation.channel, conversation.address, conversation.id,
                     conversation.locale, known.zones, known.specialist_open)  # fmt: skip


def _queue_question(session: Session, conversation: Conversation, decided: Decided, now: datetime) -> Message:
    speaker = Speaker(conversation.locale)
    text = speaker.say(QUESTION)
    if conversation.channel == "sms":
        text = f"{text} {speaker.say(OPT_OUT_LINE)}"
    return record_outbound(session, conversation, text, author="servicer", now=now, deliver_later=True,
                           proactive=True, send_after=decided.verdict.send_after)  # fmt: skip


def _suppressed(session: Session, survey: SatisfactionSurvey, reason: str | None) -> SatisfactionSurvey:
    survey.status, survey.reason = SurveyStatus.SUPPRESSED.value, reason
    session.add(survey)
    session.flush()
    record_audit(session, survey.specialist, "survey.suppressed", "conversation", str(survey.conversation_id),
                 {"survey": survey.id, "reason": reason})  # fmt: skip
    return survey


# -- the answer ------------------------------------------------------------------------------------------------


def open_survey(session: Session, conversation_id: int, now: datetime) -> SatisfactionSurvey | None:
    """Return the survey a conversation's borrower may be answering now: asked, gone out, within the window."""
    query = (
        select(SatisfactionSurvey)
        .where(
            SatisfactionSurvey.conversation_id == conversation_id,
            SatisfactionSurvey.status == SurveyStatus.ASKED.value,
            SatisfactionSurvey.asked_at <= now,
            SatisfactionSurvey.asked_at > now - ANSWER_WINDOW,
        )
        .order_by(SatisfactionSurvey.id.desc())
        .limit(1)
    )
    return session.scalar(query)


def record_satisfaction(
    session: Session, survey: SatisfactionSurvey, score: int, answer: Message | None, now: datetime
) -> None:
    """Record the borrower's score (1 to 5) against the specialist who resolved the conversation."""
    if score not in SCORES:
        raise InvalidInput("a satisfaction score is a whole number from 1 to 5")
    survey.status, survey.score, survey.answered_at = SurveyStatus.ANSWERED.value, score, now
    survey.answer_message_id = answer.id if answer is not None else None
    survey.answer_message_created_at = answer.created_at if answer is not None else None
    record_audit(session, "bot", "survey.answered", "conversation", str(survey.conversation_id),
                 {"survey": survey.id, "specialist": survey.specialist, "score": score})  # fmt: skip


# -- the report ------------------------------------------------------------------------------------------------


@dataclass
class _Tally:
    asked: int = 0
    suppressed: int = 0
    scores: list[int] = field(default_factory=list)


def satisfaction_report(
    session: Session, today: date, since: date | None = None, until: date | None = None
) -> list[dict[str, Any]]:
    """Return one row per specialist (and one for everyone): surveys asked, answered, the average score and the
    share of satisfied answers (4 or 5), for conversations resolved in the period."""
    query = select(SatisfactionSurvey.specialist, SatisfactionSurvey.status, SatisfactionSurvey.score)
    if since is not None:
        query = query.where(SatisfactionSurvey.resolved_at >= datetime.combine(since, time.min, tzinfo=UTC))
    if until is not None:
        query = query.where(
            SatisfactionSurvey.resolved_at < datetime.combine(until + timedelta(days=1), time.min, tzinfo=UTC)
        )
    tallies: dict[str, _Tally] = defaultdict(_Tally)
    for specialist, status, score in session.execute(query):
        for name in (specialist, ""):
            tally = tallies[name]
            if status == SurveyStatus.SUPPRESSED.value:
                tally.suppressed += 1
                continue
            tally.asked += 1
            if score is not None:
                tally.scores.append(score)
    return [_row(name, tallies[name]) for name in sorted(tallies, key=lambda name: (name == "", name))]


def _row(name: str, tally: _Tally) -> dict[str, Any]:
    scores = tally.scores
    answered = len(scores)
    return {
        "specialist": name or "all",
        "asked": tally.asked,
        "not_asked": tally.suppressed,
        "answered": answered,
        "response_rate_percent": _percent(answered, tally.asked),
        "average_score": _two_places(Decimal(sum(scores)) / answered) if answered else None,
        "satisfied_percent": _percent(sum(1 for s in scores if s >= SATISFIED_FROM), answered),
    }


def _percent(part: int, whole: int) -> Decimal | None:
    return _two_places(Decimal(100 * part) / whole) if whole else None


def _two_places(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
