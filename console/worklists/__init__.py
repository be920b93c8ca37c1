"""Worklists of cases with their business-day deadlines, and the decisions on them."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("worklists", __name__, url_prefix="/console/worklists")
