"""The queue of conversations waiting for a person, and the specialist's own."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers.response import Response

from console.queue.labels import template_helpers
from console.security import audits_view, requires_role, sessions, user
from servicing.conversations import (
    AlreadyClaimed,
    ConversationError,
    claim_conversation,
    conversations_of,
    queue_length,
    sla_state,
    waiting_for,
    waiting_queue,
)
from servicing.specialists import Role

bp = Blueprint("queue", __name__, url_prefix="/console/queue")
bp.context_processor(template_helpers)
SHOWN = 100


@bp.get("/")
@requires_role(Role.SPECIALIST)
@audits_view("queue")
def index() -> str:
    """Show the conversations waiting for a person, highest priority and longest wait first."""
    now = datetime.now(UTC)
    with sessions()() as session:
        entries = waiting_queue(session, SHOWN)
        total = queue_length(session) if len(entries) == SHOWN else len(entries)
    return render_template("queue/index.html", entries=entries, total=total, now=now, mine=False,
                           sla_state=sla_state, waiting_for=waiting_for)  # fmt: skip


@bp.get("/mine")
@requires_role(Role.SPECIALIST)
@audits_view("queue")
def mine() -> str:
    """Show the conversations the logged-in specialist holds."""
    now = datetime.now(UTC)
    with sessions()() as session:
        entries = conversations_of(session, user().username, SHOWN)
    return render_template("queue/index.html", entries=entries, total=len(entries), now=now, mine=True,
                           sla_state=sla_state, waiting_for=waiting_for)  # fmt: skip


@bp.post("/<int:conversation_id>/claim")
@requires_role(Role.SPECIALIST)
def claim(conversation_id: int) -> Response:
    """Claim a waiting conversation; when someone else was quicker, say so and go back to the queue."""
    try:
        with sessions().begin() as session:
            claim_conversation(session, conversation_id, user().username, datetime.now(UTC))
    except AlreadyClaimed:
        flash(_("Too late: someone else claimed it first."), "warning")
        return redirect(url_for("queue.index"))
    except ConversationError:
        flash(_("That conversation cannot be claimed."), "error")
        return redirect(url_for("queue.index"))
    return redirect(url_for("conversations.show", conversation_id=conversation_id))
