"""The ledger partitioned by month on PostgreSQL (`loanline partitions enable`, opt-in): rows in the partition of
their month, balances and postings unchanged, the immutable-ledger trigger kept, next months made ahead."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from servicing.eod import run_eod
from servicing.errors import InvalidInput
from servicing.operations.partitions import create_partitions_ahead, month_start, partition_ledger
from servicing.payments import PaymentInstruction, post_payments
from servicing.rules.ledger import Balances
from servicing.store.accounts import ledger_balances
from servicing.store.models import LedgerEntry, Loan
from tests.integration.helpers import board

pytestmark = pytest.mark.postgres
TODAY = datetime.now(UTC).date()


@pytest.fixture
def postgres(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip("declarative partitioning is PostgreSQL's")
    return database_url


def balances(sessions: sessionmaker[Session]) -> dict[int, Balances]:
    """Every loan's balances summed from its ledger lines (across the partitions, once partitioned)."""
    with sessions() as session:
        return ledger_balances(session)


def lines_by_partition(engine: Engine) -> list[tuple[str, date]]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT tableoid::regclass::text, posted_at FROM ledger_entries"))
        return [(str(name), posted.date()) for name, posted in rows]


def test_the_ledger_is_partitioned_by_month_and_keeps_its_rows_balances_and_rules(
    postgres: str, engine: Engine, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        numbers = [board(session, loan_number=f"PT-{n}") for n in range(3)]
    run_eod(sessions, date(2026, 3, 20), country="US")
    with engine.begin() as connection:  # lines posted in earlier months, as a ledger years old holds
        connection.execute(text("ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_immutable"))
        connection.execute(text("UPDATE ledger_entries SET posted_at = posted_at - interval '70 days' "
                                "WHERE id % 2 = 0"))  # fmt: skip
        connection.execute(text("ALTER TABLE ledger_entries ENABLE TRIGGER ledger_entries_immutable"))
    before = balances(sessions)
    assert len(before) == 3
    with sessions() as session:
        count = session.scalar(select(func.count()).select_from(LedgerEntry))
    made = partition_ledger(engine, TODAY)
    assert len(made) >= 4  # from the oldest line's month to two months ahead
    with engine.connect() as connection:
        kind = connection.scalar(text("SELECT relkind FROM pg_class WHERE oid = 'ledger_entries'::regclass"))
    assert kind == "p"
    placed = lines_by_partition(engine)
    assert len(placed) == count
    assert all(name == f"ledger_entries_y{posted.year}m{posted.month:02d}" for name, posted in placed)
    assert len({name for name, _ in placed}) >= 2
    assert balances(sessions) == before
    with sessions.begin() as session:  # a payment lands in this month's partition, through the same code
        loan_id = session.scalar(select(Loan.id).where(Loan.loan_number == numbers[0]))
        assert loan_id is not None
        post_payments(session, [PaymentInstruction(loan_number=numbers[0], amount=Decimal("500.00"),
                                                   received_on=date(2026, 3, 20), reference="PT-PAY-1")],
                      today=date(2026, 3, 20), business_date=date(2026, 3, 20), actor="test")  # fmt: skip
    newest = max(lines_by_partition(engine), key=lambda line: line[1])
    assert newest[0] == f"ledger_entries_y{TODAY.year}m{TODAY.month:02d}"
    with engine.begin() as connection, pytest.raises(DBAPIError, match="immutable"):
        connection.execute(text("UPDATE ledger_entries SET memo = 'changed'"))
    with engine.begin() as connection, pytest.raises(DBAPIError, match="immutable"):
        connection.execute(text("DELETE FROM ledger_entries"))


def test_partitions_are_made_ahead_once_and_enabling_twice_is_refused(postgres: str, engine: Engine) -> None:
    assert create_partitions_ahead(engine, TODAY) == []  # not partitioned yet: nothing to make
    partition_ledger(engine, TODAY)
    later = month_start(TODAY, 5)
    made = create_partitions_ahead(engine, later)
    assert made == [f"ledger_entries_y{m.year}m{m.month:02d}" for m in (later, month_start(later, 1),
                                                                         month_start(later, 2))]  # fmt: skip
    assert create_partitions_ahead(engine, later) == []
    with pytest.raises(InvalidInput, match="already partitioned"):
        partition_ledger(engine, TODAY)
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM ledger_entries_default")) == 0
