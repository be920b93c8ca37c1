"""Fixtures for talking to the bot: settings pinned to one business day."""

from __future__ import annotations

from pathlib import Path

import pytest

from servicing.config import Settings
from tests.conftest import SECRET

BOT_TODAY = "2026-03-20"  # a Friday


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Return settings with the tests' secret and today pinned to a Friday in March 2026."""
    return Settings.from_env(
        {"LOANLINE_SECRET_KEY": SECRET, "LOANLINE_TODAY": BOT_TODAY, "LOANLINE_INSTANCE_PATH": str(tmp_path)}
    )
