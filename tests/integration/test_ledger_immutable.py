"""The ledger cannot be edited or deleted, even by SQL that bypasses the application."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, update
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session, sessionmaker

from servicing.store.models import LedgerEntry
from tests.integration.helpers import board


@pytest.mark.parametrize("change", ["update", "delete"])
def test_the_database_refuses_to_change_or_delete_a_ledger_entry(sessions: sessionmaker[Session], change: str) -> None:
    with sessions.begin() as session:
        board(session)
    statement = update(LedgerEntry).values(memo="edited") if change == "update" else delete(LedgerEntry)
    with sessions() as session, pytest.raises(DatabaseError, match="immutable"):
        session.execute(statement)
