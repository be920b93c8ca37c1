"""Canned responses: a few replies specialists send often, in the borrower's language, filled from the loan.

Each is an English msgid marked with `say` (so it lives in the bot catalogs beside everything else a
borrower reads) with placeholders the conversation's loan fills: the borrower's first name, the amount
due, the next due date, the monthly payment, the loan number masked to its last 4 digits, and the
specialist's name. A response whose placeholders the loan cannot fill (no loan known yet, a paid-off
loan with no due date) is not offered. The server renders the text from the key when it is sent, so what
reaches the borrower is always the catalog's wording. A response that tells loan figures (an amount or a
due date) is sent to a conversation that has not verified only with the specialist's explicit confirmation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from string import Formatter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicing.conversations import ConversationError, conversation_by_id, reply_to_borrower
from servicing.queries import current_date, require_account, summarize
from servicing.speaking import Speaker, say
from servicing.store.models import Borrower, Conversation, Loan, Message


@dataclass(frozen=True)
class Canned:
    """A canned response: its key and its English msgid."""

    key: str
    message: str


CANNED = (
    Canned("greeting", say(
        "Hello {first_name}, this is {specialist}. I have read your messages and I am here to help."
    )),
    Canned("payment_received", say(
        "Thank you, {first_name}. We have received your payment on the loan ending in {loan_last4}. "
        "Your next payment of {monthly_payment} is due on {next_due_date}."
    )),
    Canned("amount_due", say(
        "The amount due on the loan ending in {loan_last4} is {amount_due}, due on {next_due_date}."
    )),
    Canned("payoff_requested", say(
        "We have requested a payoff statement for the loan ending in {loan_last4}. "
        "You will receive it within 7 business days."
    )),
    Canned("hardship_documents", say(
        "To review your hardship request on the loan ending in {loan_last4} we need a short letter explaining "
        "what happened, proof of your current income and your last two bank statements. You can reply with photos."
    )),
    Canned("looking_into_it", say(
        "Thank you for your patience, {first_name}. We are looking into this and will get back to you within "
        "one business day."
    )),
)  # fmt: skip
BY_KEY = {canned.key: canned for canned in CANNED}
# Placeholders whose values are the loan's figures: told only to a verified borrower, or with a confirmation.
LOAN_FIGURES = frozenset({"amount_due", "monthly_payment", "next_due_date"})


class UnknownCannedResponse(ConversationError):
    """No canned response has this key, or the conversation's loan cannot fill it."""


@dataclass(frozen=True)
class RenderedCanned:
    """A canned response as the borrower would read it."""

    key: str
    text: str
    tells_figures: bool


def tells_figures(message: str) -> bool:
    """Tell whether a canned message fills in the loan's figures (amounts, due dates)."""
    return bool(placeholders(message) & LOAN_FIGURES)


def placeholders(message: str) -> set[str]:
    """Return the names a message's placeholders use."""
    return {name for _, name, _, _ in Formatter().parse(message) if name}


def conversation_loan(session: Session, conversation: Conversation) -> Loan | None:
    """Return the loan a conversation is about: the one the bot settled on, else the borrower's first."""
    if conversation.loan_id is not None:
        return session.get(Loan, conversation.loan_id)
    if conversation.borrower_id is None:
        return None
    return session.scalar(select(Loan).where(Loan.borrower_id == conversation.borrower_id).order_by(Loan.id).limit(1))


def canned_values(session: Session, conversation: Conversation, specialist_name: str, today: date) -> dict[str, Any]:
    """Return the placeholder values the conversation can fill, formatted for the borrower."""
    speaker = Speaker(conversation.locale)
    values: dict[str, Any] = {"specialist": specialist_name}
    if conversation.borrower_id is not None:
        borrower = session.get(Borrower, conversation.borrower_id)
        if borrower is not None:
            values["first_name"] = borrower.first_name
    loan = conversation_loan(session, conversation)
    if loan is None:
        return values
    summary = summarize(require_account(session, loan.loan_number), current_date(session, today))
    values["loan_last4"] = loan.loan_number[-4:]
    values["amount_due"] = speaker.money(summary.amount_due, summary.currency)
    values["monthly_payment"] = speaker.money(summary.monthly_payment, summary.currency)
    if summary.next_due_date is not None:
        values["next_due_date"] = speaker.day(summary.next_due_date)
    return values


def canned_responses(
    session: Session, conversation: Conversation, specialist_name: str, today: date
) -> list[RenderedCanned]:
    """Return every canned response the conversation's loan can fill, in the borrower's language."""
    values = canned_values(session, conversation, specialist_name, today)
    speaker = Speaker(conversation.locale)
    return [
        RenderedCanned(canned.key, speaker.say(canned.message, **values), tells_figures(canned.message))
        for canned in CANNED
        if placeholders(canned.message) <= values.keys()
    ]


def render_canned(session: Session, conversation: Conversation, key: str, specialist_name: str, today: date) -> str:
    """Return one canned response in the borrower's language, or refuse a key the loan cannot fill."""
    canned = BY_KEY.get(key)
    values = canned_values(session, conversation, specialist_name, today)
    if canned is None or not placeholders(canned.message) <= values.keys():
        raise UnknownCannedResponse(f"no canned response {key!r} for this conversation")
    return Speaker(conversation.locale).say(canned.message, **values)


def reply_with_canned(
    session: Session,
    conversation_id: int,
    specialist: str,
    key: str,
    now: datetime,
    *,
    specialist_name: str,
    today: date,
    disclosure_confirmed: bool = False,
) -> Message:
    """Send a canned response, rendered by the server from its key, as the specialist's reply.

    One with loan figures, to a conversation that has not verified, needs `disclosure_confirmed`.
    """
    conversation = conversation_by_id(session, conversation_id)
    text = render_canned(session, conversation, key, specialist_name, today)
    return reply_to_borrower(session, conversation_id, specialist, text, now, canned=key,
                             tells_figures=tells_figures(BY_KEY[key].message),
                             disclosure_confirmed=disclosure_confirmed)  # fmt: skip
