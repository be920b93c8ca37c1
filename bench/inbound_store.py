"""Storing an inbound message on PostgreSQL, as the webhook does: what the receipt costs, and partitioning.

Each transaction locks the conversation's row, stores one inbound message and commits, as
`record_inbound(..., lock=True)` does on the webhook's path. Four ways, in alternating rounds, each on its own
rows (a new provider id per message):

- `floor`: the lock and the commit, no message (what every way below shares);
- `one_statement`: the statement the receipts replaced, `INSERT INTO messages ... ON CONFLICT (channel,
  direction, provider_id) DO NOTHING RETURNING id` (it needs the unique key of an unpartitioned table);
- `receipt`: today's `record_inbound`: the receipt (`INSERT ... ON CONFLICT DO NOTHING RETURNING`), then
  `INSERT INTO messages ... RETURNING id`;
- `partitioned`: the same, with messages partitioned by month (`partition_messages`) in another schema.

Printed: microseconds per message (median of the rounds) and each way's cost above the floor. The sessions run
with `synchronous_commit = off`, so that the disk's flush at each commit (milliseconds on a shared machine, the
same for every way) does not drown what the statements cost.

    .venv/bin/python bench/inbound_store.py --postgres URL [--messages 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import Table, event  # noqa: E402
from sqlalchemy.dialects import postgresql  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from bench.measure import Database, Figures, header, postgres_schema  # noqa: E402
from servicing.conversations import find_or_open_conversation, record_inbound  # noqa: E402
from servicing.operations.partitions import partition_messages  # noqa: E402
from servicing.store.models import Message  # noqa: E402

ADDRESS = "+15550100001"
_messages = cast(Table, Message.__table__)
ONE_STATEMENT = (
    postgresql.insert(_messages)
    .on_conflict_do_nothing(index_elements=["channel", "direction", "provider_id"])
    .returning(_messages.c.id)
)
Way = Callable[[Session, str, datetime], None]


def floor(session: Session, _provider_id: str, now: datetime) -> None:
    find_or_open_conversation(session, "sms", ADDRESS, now, for_update=True)


def one_statement(session: Session, provider_id: str, now: datetime) -> None:
    conversation = find_or_open_conversation(session, "sms", ADDRESS, now, for_update=True)
    values = {"conversation_id": conversation.id, "channel": "sms", "direction": "in", "author": "borrower",
              "body": "balance", "provider_id": provider_id, "status": "received", "attachments": [],
              "created_at": now}  # fmt: skip
    assert session.execute(ONE_STATEMENT, values).scalar_one_or_none() is not None
    conversation.last_message_at = now


def receipt(session: Session, provider_id: str, now: datetime) -> None:
    stored = record_inbound(session, "sms", ADDRESS, "balance", provider_id=provider_id, now=now, lock=True)
    assert not stored.duplicate


def per_message_us(sessions: sessionmaker[Session], way: Way, label: str, count: int) -> tuple[float, float]:
    """Run `count` transactions of one way; return the microseconds each took, wall and this process's CPU."""
    start, cpu = time.perf_counter(), time.process_time()
    for number in range(count):
        with sessions.begin() as session:
            way(session, f"SM-{label}-{time.perf_counter_ns()}-{number}", datetime.now(UTC))
    return (time.perf_counter() - start) / count * 1e6, (time.process_time() - cpu) / count * 1e6


def without_waiting_for_the_disk(db: Database) -> None:
    """Make every new connection commit without waiting for its WAL flush; drop the connections made before."""

    def _set(connection: object, _record: object) -> None:
        cursor = connection.cursor()  # type: ignore[attr-defined]
        cursor.execute("SET synchronous_commit = off")
        cursor.close()

    event.listen(db.engine, "connect", _set)
    db.engine.dispose()


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="URL", required=True)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    header("inbound message stored (receipt, partitions)", 0)
    figures = Figures("inbound_store")
    with postgres_schema(args.postgres) as plain, postgres_schema(args.postgres) as monthly:
        partition_messages(monthly.engine, datetime.now(UTC).date())
        for db in (plain, monthly):
            without_waiting_for_the_disk(db)
        ways: list[tuple[str, Database, Way]] = [
            ("floor", plain, floor), ("one_statement", plain, one_statement), ("receipt", plain, receipt),
            ("partitioned", monthly, receipt),
        ]  # fmt: skip
        for _name, db, way in ways:  # warm: the conversation, caches, the pool
            per_message_us(db.sessions, way, "warm", 50)
        times: dict[str, list[float]] = {name: [] for name, _, _ in ways}
        cpus: dict[str, list[float]] = {name: [] for name, _, _ in ways}
        for round_ in range(args.rounds):
            for name, db, way in ways if round_ % 2 == 0 else ways[::-1]:
                wall, cpu = per_message_us(db.sessions, way, name, args.messages)
                times[name].append(wall)
                cpus[name].append(cpu)
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, value in medians.items():
        above, cpu = value - medians["floor"], statistics.median(cpus[name])
        figures.add(f"{name}_us", round(value), f"{name}: {value:,.0f} us per message, {above:,.0f} us above the "
                    f"floor, {value / medians['floor']:.2f} x the floor, client CPU {cpu:,.0f} us (rounds: "
                    f"{', '.join(f'{v:,.0f}' for v in times[name])})")  # fmt: skip
        figures.values[f"{name}_cpu_us"] = round(cpu)
    figures.values["receipt_over_one_statement"] = round(medians["receipt"] / medians["one_statement"], 3)
    figures.finish()


if __name__ == "__main__":
    main()
