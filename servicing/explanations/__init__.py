"""Explanations of a loan's money (issue 18): where a payment went, why a fee, why the payment changed, why late.

Each question has one function that reads the ledger and returns an `Explanation`: sentences of the bot's catalogs
with exact Decimal figures in the loan's currency and dates, spoken in any language by `Explanation.lines`. The bot
reads it to a verified borrower; the console shows the same explanation to a specialist (docs/explanations.md).
"""

from servicing.explanations.changes import explain_payment_change
from servicing.explanations.entries import ExplainedEntry, explain_entry, explain_loan
from servicing.explanations.fees import explain_fees, fee_label
from servicing.explanations.lateness import Arrears, arrears_of, explain_late
from servicing.explanations.payments import explain_payment
from servicing.explanations.wording import EXPLAINED_NOTE, Explanation, Money, Percent, Question, Sentence

__all__ = [
    "EXPLAINED_NOTE",
    "Arrears",
    "ExplainedEntry",
    "Explanation",
    "Money",
    "Percent",
    "Question",
    "Sentence",
    "arrears_of",
    "explain_entry",
    "explain_fees",
    "explain_late",
    "explain_loan",
    "explain_payment",
    "explain_payment_change",
    "fee_label",
]
