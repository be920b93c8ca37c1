"""A loan: balances, schedule, ledger, escrow, cases, conversations, payoff and servicing actions."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("loans", __name__, url_prefix="/console/loans")
