"""The console's home page: the queue count and the portfolio's delinquency buckets."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, render_template
from sqlalchemy import func, select

from console.arguments import settings
from console.queue.labels import CHANNELS
from console.security import audits_view, requires_role, sessions
from servicing.conversations import ConversationState
from servicing.outbox import outbox_state
from servicing.reports import delinquency_report
from servicing.specialists import Role
from servicing.store.accounts import business_date
from servicing.store.models import Case, Conversation, Loan

bp = Blueprint("home", __name__, url_prefix="/console")


@bp.get("/")
@requires_role(Role.SPECIALIST)
@audits_view("portfolio")
def index() -> str:
    """Show the business date, the queue count, open cases and the delinquency buckets."""
    with sessions()() as session:
        day = business_date(session)
        queued = session.scalar(
            select(func.count()).select_from(Conversation).where(Conversation.state == ConversationState.QUEUED.value)
        )
        loans = session.scalar(select(func.count()).select_from(Loan))
        open_cases = session.scalar(select(func.count()).select_from(Case).where(Case.closed_on.is_(None)))
        buckets = delinquency_report(session, day or date.today())
        outbox = outbox_state(session)
    unconfigured = settings().unconfigured_channels()
    return render_template(
        "home/index.html", business_date=day, queued=queued or 0, loans=loans or 0, open_cases=open_cases or 0,
        buckets=buckets, outbox=outbox, held=[channel for channel in unconfigured if outbox.waiting.get(channel)],
        channel_names={channel: str(name) for channel, name in CHANNELS.items()},
    )  # fmt: skip
