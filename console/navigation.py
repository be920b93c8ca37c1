"""The navigation bar every page shares: its entries, each with the least role that sees it."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from console import desk
from console.queue.forms import PRESENCE_CHOICES
from console.security import sessions
from servicing.approvals.requests import pending_count
from servicing.conversations import held_count
from servicing.specialists import Role

# (endpoint, label, least role); later pages add their entry here.
NAV = (
    ("home.index", _l("Home"), Role.SPECIALIST),
    ("queue.index", _l("Queue"), Role.SPECIALIST),
    ("queue.mine", _l("My conversations"), Role.SPECIALIST),
    ("loans.index", _l("Loans"), Role.SPECIALIST),
    ("approvals.index", _l("Approvals"), Role.SPECIALIST),
    ("worklists.index", _l("Worklists"), Role.SPECIALIST),
    ("reports.index", _l("Reports"), Role.SPECIALIST),
    ("audit.index", _l("Audit log"), Role.SUPERVISOR),
    ("queue.team", _l("Team"), Role.SUPERVISOR),
    ("admin.users", _l("Users"), Role.ADMIN),
    ("desk.macros", _l("Macros"), Role.SUPERVISOR),
    ("search.index", _l("Search"), Role.SPECIALIST),
)
COUNTED = {"approvals.index": "approvals_waiting", "queue.mine": "conversations_held"}  # endpoint: its count in g
ROLE_NAMES = {Role.SPECIALIST: _l("Specialist"), Role.SUPERVISOR: _l("Supervisor"), Role.ADMIN: _l("Administrator")}


def navigation() -> dict[str, Any]:
    """Give templates the nav entries the specialist may see, the role names, the page's language and the
    header's presence choices (the status form on every page, docs/console-assignment.md)."""
    role = current_user.role if current_user.is_authenticated else None
    items = [
        (endpoint, _counted(endpoint, label))
        for endpoint, label, least in NAV
        if role is not None and role.includes(least) and endpoint in current_app.view_functions
    ]
    return {"nav_items": items, "role_names": ROLE_NAMES, "current_locale": str(get_locale() or "en"),
            "presence_choices": PRESENCE_CHOICES}  # fmt: skip


def _counted(endpoint: str, label: object) -> object:
    """Return a nav label with its count when the entry counts something: the requests waiting for approval, and
    the conversations the specialist holds (so one assigned while they read another page shows on the next)."""
    counter = COUNTED.get(endpoint)
    count = g.get(counter) if counter else None
    return f"{label} ({count})" if count else label


def read_page_header() -> None:
    """Read what a page's header shows before its view runs, in one transaction: the requests waiting for
    approval and the conversations the specialist holds (the nav), and their unread notifications, with a
    conversation page's macros (`desk`).

    Before the view, not while its template renders: a view may render inside its own transaction, and on
    SQLite a second transaction in the same thread would wait for the first one's write lock. One transaction
    for both, not one each: a round trip or two fewer on every page (docs/console-performance.md).
    """
    if request.method != "GET" or not current_user.is_authenticated:
        return
    counts_approvals = request.blueprint not in (None, "static")
    with_desk = desk.shows_desk()
    if not counts_approvals and not with_desk:
        return
    with sessions()() as session:
        if counts_approvals:
            g.approvals_waiting = pending_count(session)
            g.conversations_held = held_count(session, current_user.username)
        if with_desk:
            desk.load_desk(session)
