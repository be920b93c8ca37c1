"""The queue of conversations waiting for a person, and the specialist's own."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("queue", __name__, url_prefix="/console/queue")
