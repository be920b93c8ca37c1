"""An explanation as data: sentences (a msgid of the bot catalogs and typed values), spoken in any language.

The same `Explanation` is read to the borrower by the bot and shown to a specialist by the console: the figures
are Decimal amounts in the loan's currency and dates, formatted by Babel only when spoken (`Explanation.lines`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from servicing.rules.formatting import rate_text
from servicing.speaking import Speaker

# The conversation note (its flow's `notes`) listing the questions the bot explained there: the console shows the
# same explanations beside the conversation when a specialist takes it over.
EXPLAINED_NOTE = "explained"


class Question(StrEnum):
    """What the borrower asked: where a payment went, why a fee, why the payment changed, why late."""

    PAYMENT = "payment"
    FEE = "fee"
    PAYMENT_CHANGE = "payment_change"
    LATE = "late"


@dataclass(frozen=True)
class Money:
    """An amount in the loan's currency, spoken in the reader's locale."""

    amount: Decimal
    currency: str


@dataclass(frozen=True)
class Percent:
    """A rate (0.05) spoken as a percentage in the reader's locale ("5%", "5 %")."""

    rate: Decimal


@dataclass(frozen=True)
class Sentence:
    """One sentence of an explanation: a catalog msgid and the values its placeholders take."""

    msgid: str
    values: tuple[tuple[str, Any], ...] = ()

    def spoken(self, speaker: Speaker) -> str:
        """Return the sentence in the speaker's language, money and dates formatted for their locale."""
        return speaker.say(self.msgid, **{name: _spoken(value, speaker) for name, value in self.values})


def sentence(msgid: str, **values: Any) -> Sentence:
    """Return a sentence with its values (Money, date, int or str)."""
    return Sentence(msgid, tuple(values.items()))


def _spoken(value: Any, speaker: Speaker) -> Any:
    if isinstance(value, Money):
        return speaker.money(value.amount, value.currency)
    if isinstance(value, Percent):
        return rate_text(value.rate, speaker.format_locale)
    if isinstance(value, date):
        return speaker.day(value)
    if isinstance(value, Sentence):
        return value.spoken(speaker)
    return value


@dataclass(frozen=True)
class Explanation:
    """The answer to one question about a loan, with the ledger entries and fees it rests on."""

    question: Question
    loan_number: str
    currency: str
    sentences: tuple[Sentence, ...]
    entry_ids: tuple[int, ...] = ()  # the ledger entries the figures come from
    fee_ids: tuple[int, ...] = ()  # the fees explained, newest first (a notice of error names the first)
    figures: dict[str, Any] = field(default_factory=dict)  # the main figures, for tests and the console

    def lines(self, speaker: Speaker) -> list[str]:
        """Return each sentence in the speaker's language."""
        return [s.spoken(speaker) for s in self.sentences]

    def text(self, speaker: Speaker) -> str:
        """Return the explanation as one message, a sentence per line (SMS pages it with MORE when long)."""
        return "\n".join(self.lines(speaker))


def money(amount: Decimal, currency: str) -> Money:
    """Return an amount of the loan's currency to speak."""
    return Money(amount, currency)
