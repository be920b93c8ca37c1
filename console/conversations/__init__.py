"""One conversation: transcript, verification state, replies, notes, resolve."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("conversations", __name__, url_prefix="/console/conversations")
