"""Reports with charts and CSV export."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/console/reports")
