"""Promises to pay on the console's pages: their labels, and what the loan page's promises section shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from console.loans.forms import PromiseForm
from servicing.outreach.promises import latest_promise_date, promises_of
from servicing.queries import current_date
from servicing.store.models import Loan

PROMISE_STATUSES = {
    "open": _l("open"),
    "kept": _l("kept"),
    "broken": _l("broken"),
    "cancelled": _l("cancelled"),
}
PROMISE_CHANNELS = {
    "phone": _l("Phone call"),
    "mail": _l("Letter"),
    "email": _l("Email"),
    "in_person": _l("In person"),
    "sms": _l("SMS"),
    "telegram": _l("Telegram"),
    "chat": _l("Terminal chat"),
    "simulator": _l("Simulator"),
}


def promise_day(session: Session, today: date) -> date:
    """Return the day a promise made now is made on: today, or the business date when end of day ran ahead."""
    return max(today, current_date(session, today))


@dataclass(frozen=True)
class PromiseLabels:
    """The words the promises tables use, translated once per page."""

    statuses: dict[str, str]
    channels: dict[str, str]

    @classmethod
    def now(cls) -> PromiseLabels:
        """Return the labels in the page's language."""
        return cls({k: str(v) for k, v in PROMISE_STATUSES.items()}, {k: str(v) for k, v in PROMISE_CHANNELS.items()})

    def status(self, status: str) -> str:
        """Return a promise's status in the page's language."""
        return self.statuses.get(status, status)

    def channel(self, channel: str) -> str:
        """Return how a promise was made, in the page's language."""
        return self.channels.get(channel, channel)


def promises_section(session: Session, loan_number: str, today: date) -> dict[str, Any]:
    """Return what the loan page's promises section needs: the promises, the form and the dates it allows."""
    day = promise_day(session, today)
    grace_days = session.scalar(select(Loan.late_fee_grace_days).where(Loan.loan_number == loan_number))
    return {
        "promises": promises_of(session, loan_number),
        "promise_form": PromiseForm(formdata=None, promised_for=day + timedelta(days=7), channel="phone"),
        "promise_first_day": day,
        "promise_last_day": latest_promise_date(day),
        "promise_grace_days": grace_days,
        "promise_labels": PromiseLabels.now(),
    }
