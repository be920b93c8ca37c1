"""Verifying a caller: the specialist types what the caller says; the answer is match or no match, never which.

The factors are the bot's strongest set (the one a loan number needs): date of birth and the tax ID's last 4
digits. A failure counts against the borrower's claimed identity, the counter the bot's chats count on, so
three failures between the phone and the chats pause the borrower's self-service for 30 minutes; while paused,
no check is made (the caller could be the one guessing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from servicing.audit import record_audit
from servicing.conversations import (
    borrower_claim,
    borrower_paused_until,
    clear_failed_verifications,
    failed_attempts_of,
    record_failed_claim,
)
from servicing.errors import InvalidInput, ServicingError
from servicing.rules.factors import Factor, factor_matches
from servicing.store.models import Borrower


class BorrowerNotFound(ServicingError):
    """No borrower with that id."""


class CallerCheck(StrEnum):
    """What a caller verification found."""

    MATCH = "match"
    NO_MATCH = "no_match"
    LOCKED = "locked"  # this failure was the third: the borrower's self-service is paused
    PAUSED = "paused"  # already paused by earlier failures: nothing was checked


@dataclass(frozen=True)
class CallerAnswers:
    """What the caller said, as the specialist typed it."""

    date_of_birth: date
    tax_id_last4: str


@dataclass(frozen=True)
class CallerVerification:
    """The outcome, the failures now counted against the borrower, and until when they are paused."""

    outcome: CallerCheck
    failed_attempts: int
    paused_until: datetime | None


def read_caller_answers(date_of_birth: str, tax_id_last4: str, today: date) -> CallerAnswers:
    """Read the form's answers; refuse a missing or impossible date, or a last 4 that is not 4 digits."""
    try:
        born = date.fromisoformat(date_of_birth.strip())
    except ValueError as error:
        raise InvalidInput("date of birth: enter a date (YYYY-MM-DD)") from error
    if born >= today or born.year < 1900:
        raise InvalidInput("date of birth: not a possible date of birth")
    digits = tax_id_last4.strip()
    if not re.fullmatch(r"[0-9]{4}", digits):
        raise InvalidInput("tax ID: enter its last 4 digits")
    return CallerAnswers(born, digits)


def verify_caller(
    session: Session, borrower_id: int, answers: CallerAnswers, *, secret: str, actor: str, now: datetime
) -> CallerVerification:
    """Check a caller's answers against the borrower's factors; count a failure with the bot's, or clear them."""
    borrower = session.get(Borrower, borrower_id, with_for_update=True)
    if borrower is None:
        raise BorrowerNotFound(f"no borrower {borrower_id}")
    claim = borrower_claim(borrower_id)
    paused = borrower_paused_until(session, borrower_id, now)
    if paused is not None:
        _audit(session, actor, borrower_id, CallerCheck.PAUSED)
        return CallerVerification(CallerCheck.PAUSED, failed_attempts_of(session, claim), paused)
    born = factor_matches(secret, borrower.factor_salt, Factor.DATE_OF_BIRTH, answers.date_of_birth.isoformat(),
                          borrower.date_of_birth_hash)  # fmt: skip
    tax = factor_matches(secret, borrower.factor_salt, Factor.TAX_ID_LAST4, answers.tax_id_last4,
                         borrower.tax_id_last4_hash)  # fmt: skip
    if born and tax:
        clear_failed_verifications(session, [claim])
        _audit(session, actor, borrower_id, CallerCheck.MATCH)
        return CallerVerification(CallerCheck.MATCH, 0, None)
    outcome = CallerCheck.LOCKED if record_failed_claim(session, claim, now) else CallerCheck.NO_MATCH
    _audit(session, actor, borrower_id, outcome)
    return CallerVerification(
        outcome, failed_attempts_of(session, claim), borrower_paused_until(session, borrower_id, now)
    )


def _audit(session: Session, actor: str, borrower_id: int, outcome: CallerCheck) -> None:
    """Audit the check: its outcome only (never the answers)."""
    record_audit(session, actor, "verification.caller", "borrower", str(borrower_id), {"outcome": outcome.value})
    if outcome is CallerCheck.LOCKED:
        record_audit(session, actor, "verification.locked", "borrower", str(borrower_id), {"by": "caller"})
