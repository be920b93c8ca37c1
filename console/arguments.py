"""What a page reads from the request and the settings: today's date, dates and page numbers in the query string."""

from __future__ import annotations

from datetime import date

from flask import current_app, flash, request
from flask_babel import gettext as _

from servicing.config import Settings

MAX_PAGE = 100_000


def settings() -> Settings:
    """Return the app's settings."""
    found: Settings = current_app.extensions["loanline.settings"]
    return found


def servicer_today() -> date:
    """Return today in the servicer's time zone (LOANLINE_TODAY pins it for demos and tests)."""
    return settings().today()


def date_argument(name: str) -> date | None:
    """Return a YYYY-MM-DD query argument, or None when absent; a malformed one is flashed and ignored."""
    value = request.args.get(name, "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        flash(_("%(value)s is not a date (YYYY-MM-DD); it was ignored.", value=value[:20]), "error")
        return None


def page_argument(name: str = "page") -> int:
    """Return a positive page number from the query string (1 when absent or not a number)."""
    value = request.args.get(name, "1")
    return max(1, min(int(value), MAX_PAGE)) if value.isdigit() else 1
