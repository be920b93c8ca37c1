"""The borrower simulator: a chat page on the real engine, off unless enabled (filled in by the simulator work)."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Mount the simulator when it is enabled (nothing yet)."""
