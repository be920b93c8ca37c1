"""Explanations on the console's pages (issue 18): their titles, and the same sentences the bot tells borrowers.

The core builds each explanation once (servicing.explanations); the console speaks it in the specialist's
language and, when the borrower reads another one, in the borrower's as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from servicing.explanations import EXPLAINED_NOTE, Explanation, Question, explain_loan
from servicing.speaking import Speaker, catalog_locale
from servicing.store.models import Conversation, Loan

QUESTION_LABELS = {
    Question.PAYMENT: _l("Where the payment went"),
    Question.FEE: _l("Why the fee was charged"),
    Question.PAYMENT_CHANGE: _l("Why the payment changed"),
    Question.LATE: _l("Why the loan is late"),
}


def question_label(question: Question | str) -> str:
    """Return an explanation's title in the console's language."""
    return str(QUESTION_LABELS[Question(question)])


def explanation_helpers() -> dict[str, Any]:
    """Give templates the explanations' titles."""
    return {"question_label": question_label}


def spoken_both_ways(explanation: Explanation, borrower_locale: str) -> tuple[list[str], list[str] | None]:
    """Return the explanation in the console's language, and in the borrower's when that is another one."""
    console = str(get_locale() or "en")
    mine = explanation.lines(Speaker(console))
    if catalog_locale(borrower_locale) == catalog_locale(console):
        return mine, None
    return mine, explanation.lines(Speaker(borrower_locale))


@dataclass(frozen=True)
class AskedExplanation:
    """An explanation the borrower asked for in a conversation, as the specialist reads it on that page."""

    question: Question
    loan_number: str
    lines: list[str]
    borrower_lines: list[str] | None


def asked_in_conversation(session: Session, conversation: Conversation, today: date) -> list[AskedExplanation]:
    """Return, built afresh from the ledger, each explanation the bot gave in this conversation (newest last)."""
    notes = (conversation.flow or {}).get("notes", {})
    asked = [q for q in notes.get(EXPLAINED_NOTE) or [] if q in {question.value for question in Question}]
    if not asked or conversation.loan_id is None:
        return []
    loan = session.get(Loan, conversation.loan_id)
    if loan is None:
        return []
    found = []
    for question in asked:
        explanation = explain_loan(session, loan.loan_number, question, today=today)
        mine, theirs = spoken_both_ways(explanation, conversation.locale or "en")
        found.append(AskedExplanation(Question(question), loan.loan_number, mine, theirs))
    return found
