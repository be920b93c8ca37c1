"""Monthly partitions of the ledger and the messages (PostgreSQL only): docs/operations.md, "Past one server"."""

from __future__ import annotations

from datetime import date

from sqlalchemy.engine import Engine


def create_partitions_ahead(engine: Engine, today: date, months: int = 2) -> list[str]:
    """Create the partitions of this month and the next `months` (partitioned tables); return their names."""
    return []
