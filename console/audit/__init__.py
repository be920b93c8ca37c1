"""The audit log for supervisors: who saw or changed what, newest first, searched and exported as CSV."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request, url_for
from werkzeug.wrappers.response import Response

from console.arguments import date_argument, page_argument
from console.security import audits_view, requires_role, sessions
from servicing.reports import AuditFilter, audit_rows, csv_text, search_audit
from servicing.specialists import Role

bp = Blueprint("audit", __name__, url_prefix="/console/audit")
PAGE_SIZE = 100
CSV_LIMIT = 50_000
TEXT_FILTERS = ("actor", "action", "subject_type", "subject_id")


def audit_filter() -> AuditFilter:
    """Return the search the query string asks for."""
    texts = {name: request.args.get(name, "").strip()[:64] for name in TEXT_FILTERS}
    return AuditFilter(**texts, since=date_argument("from"), until=date_argument("to"))


@bp.get("/")
@requires_role(Role.SUPERVISOR)
@audits_view("audit_log")
def index() -> str | Response:
    """Search the audit log by person, action, subject and period; page through it or export it as CSV."""
    where, page = audit_filter(), page_argument()
    if request.args.get("format") == "csv":
        with sessions()() as session:
            entries, _total = search_audit(session, where, limit=CSV_LIMIT)
            text = csv_text(audit_rows(entries))
        response = Response(text, mimetype="text/csv")
        response.headers["Content-Disposition"] = 'attachment; filename="loanline-audit.csv"'
        return response
    with sessions()() as session:
        entries, total = search_audit(session, where, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    kept = (*TEXT_FILTERS, "from", "to")
    args: dict[str, Any] = {name: value for name, value in request.args.items() if name in kept and value}
    pages = max(1, -(-total // PAGE_SIZE))
    return render_template(
        "audit/index.html", entries=entries, where=where, total=total, page=page, pages=pages,
        csv_url=url_for("audit.index", format="csv", **args),
        previous_url=url_for("audit.index", page=page - 1, **args) if page > 1 else None,
        next_url=url_for("audit.index", page=page + 1, **args) if page < pages else None,
    )  # fmt: skip
