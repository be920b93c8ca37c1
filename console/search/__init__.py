"""Search (`/console/search?q=`): loans, borrowers, phones, emails, case references and words in messages, grouped
by kind with links (docs/console-search.md). The core use case audits every search with its query masked."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l

from console.arguments import settings
from console.queue.labels import template_helpers
from console.security import requires_role, sessions, user
from servicing.rules.searching import MAX_QUERY_LENGTH
from servicing.search.find import SearchResults, search_console
from servicing.specialists import Role

bp = Blueprint("search", __name__, url_prefix="/console/search")
bp.context_processor(template_helpers)
FOUND_BY = {"name_or_email": _l("name or email"), "phone": _l("phone"), "phone_last4": _l("last 4 digits of a phone")}


@bp.get("/")
@requires_role(Role.SPECIALIST)
def index() -> str:
    """Search everything for `q` (messages page back with `before`); an empty query shows the form alone."""
    typed = request.args.get("q", "")[:MAX_QUERY_LENGTH]
    before = request.args.get("before", type=int)
    results = SearchResults(typed.strip())
    if typed.strip():
        with sessions().begin() as session:
            results = search_console(session, typed, region=settings().country, actor=user().username,
                                     before_message=before)  # fmt: skip
    return render_template("search/index.html", results=results, paged=before is not None, found_by=FOUND_BY)
