"""The audit log for supervisors: who saw or changed what, newest first, filtered by person or action."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from sqlalchemy import select

from console.security import audits_view, requires_role, sessions
from servicing.models import AuditEntry
from servicing.specialists import Role

bp = Blueprint("audit", __name__, url_prefix="/console/audit")
PAGE_SIZE = 100


@bp.get("/")
@requires_role(Role.SUPERVISOR)
@audits_view("audit_log")
def index() -> str:
    """Show the latest audit entries, optionally of one actor and one action."""
    actor = request.args.get("actor", "").strip()[:64]
    action = request.args.get("action", "").strip()[:64]
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(PAGE_SIZE)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if action:
        query = query.where(AuditEntry.action == action)
    with sessions()() as session:
        entries = list(session.scalars(query))
    return render_template("audit/index.html", entries=entries, actor=actor, action=action)
