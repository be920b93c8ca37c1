"""The bot's explanations (issue 18): where a payment went, why a fee, why the payment changed, why late.

The core builds each explanation from the ledger (servicing.explanations); the bot speaks it in the borrower's
language as one reply, a sentence a line, which SMS pages with MORE when it is longer than three segments.
These run only once the borrower is verified and a loan is chosen (they are account intents in bot.flows).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from dateutil.relativedelta import relativedelta

from bot.turn import Reply, Turn
from servicing.explanations import EXPLAINED_NOTE, Explanation, Question, explain_loan
from servicing.speaking import say
from servicing.store.models import Loan

# Translators: offered after a fee is explained; YES opens a notice of error naming that fee.
FEE_DISPUTE_OFFER = say("If you think this fee is wrong, reply YES and I will record a notice of error about it.")
FEE_DISPUTE_DROPPED = say("OK, no notice of error was recorded.")


def explain(turn: Turn, question: Question) -> Explanation:
    """Build the explanation of the conversation's loan, say it in one reply, and note it for the console."""
    loan = turn.session.get(Loan, turn.conversation.loan_id)
    assert loan is not None
    explanation = explain_loan(
        turn.session, loan.loan_number, question, today=turn.today, received_on=_payment_day(turn),
        amount=_payment_amount(turn),
    )  # fmt: skip
    turn.replies.append(Reply(explanation.text(turn.speaker)))
    asked = [q for q in turn.remembered(EXPLAINED_NOTE) or [] if q != question.value]
    turn.remember(**{EXPLAINED_NOTE: [*asked, question.value]})
    return explanation


def _payment_day(turn: Turn) -> date | None:
    """Return the day a payment question names ("my payment of March 3"): a day past, so last year's when ahead."""
    asked = turn.remembered("day_asked")
    turn.remember(day_asked=None)
    if not asked:
        return None
    day = date.fromisoformat(asked)
    return day - relativedelta(years=1) if day > turn.today else day


def _payment_amount(turn: Turn) -> Decimal | None:
    """Return the amount a payment question named ("where did my 500 go"), kept as a note until verified."""
    asked = turn.remembered("amount_asked")
    turn.remember(amount_asked=None)
    try:
        return Decimal(asked) if asked else None
    except InvalidOperation:
        return None
