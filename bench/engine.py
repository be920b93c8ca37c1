"""End-to-end `Engine.handle` for a verified balance question with the demo portfolio, on SQLite (and PostgreSQL).

Floor, measured in the same run: an engine whose answer only stores the message and echoes it
(the same transaction, no understanding, no loan). Goal: a verified answer under 5 ms p50 on SQLite.
Also printed: the CPU time per answer, and the SQL statements and commits one answer takes.

    .venv/bin/python bench/engine.py [--messages 2000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from bench.measure import (
    SECRET,
    Database,
    Figures,
    counting,
    fresh_sqlite,
    header,
    percentile,
    postgres_schema,
    verdict,
)
from bot.engine import Engine, InboundMessage, Reply, Turn
from servicing.config import Settings
from servicing.demo.portfolio import load_demo

AS_OF = date(2026, 11, 2)
PHONE, BIRTH = "+12025550101", "04/12/1981"  # LN-1001, Emily Carter (docs/demo.md)


def echo(turn: Turn) -> None:
    """Answer with the text itself: the floor."""
    turn.replies.append(Reply(turn.text))


def timings(engine: Engine, address: str, count: int, prefix: str) -> tuple[list[float], float]:
    """Return the seconds each of `count` balance questions took, and the CPU seconds they took in all."""
    samples = []
    cpu = time.process_time()
    for n in range(count):
        start = time.perf_counter()
        replies = engine.handle(InboundMessage("sms", address, "balance", provider_id=f"{prefix}-{n}"))
        samples.append(time.perf_counter() - start)
        assert replies, "every question gets an answer"
    return samples, time.process_time() - cpu


def measure(db: Database, label: str, folder: str, messages: int, figures: Figures) -> None:
    """Load the demo, verify Emily Carter, then time her balance questions and the floor's echoes."""
    load_demo(db.sessions, secret=SECRET, as_of=AS_OF)
    settings = Settings.from_env({"LOANLINE_SECRET_KEY": SECRET, "LOANLINE_TODAY": AS_OF.isoformat(),
                                  "LOANLINE_INSTANCE_PATH": folder})  # fmt: skip
    now = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
    engine = Engine(db.sessions, settings, clock=lambda: now)
    engine.handle(InboundMessage("sms", PHONE, "balance", provider_id="warm-1"))
    verified = engine.handle(InboundMessage("sms", PHONE, BIRTH, provider_id="warm-2"))
    assert "verified" in verified[0].text, verified
    with counting(db) as counts:
        engine.handle(InboundMessage("sms", PHONE, "balance", provider_id="counted"))
    answers, cpu = timings(engine, PHONE, messages, "q")
    floor, _ = timings(Engine(db.sessions, settings, clock=lambda: now, respond=echo), "+10000000000", messages, "f")
    p50, p99 = percentile(answers, 0.5) * 1000, percentile(answers, 0.99) * 1000
    floor_p50 = percentile(floor, 0.5) * 1000
    rate, floor_rate = len(answers) / sum(answers), len(floor) / sum(floor)
    prefix = "" if label == "sqlite" else f"{label}_"
    figures.add(f"{prefix}p50_ms", round(p50, 2), f"{label}: verified balance answer: p50 {p50:.2f} ms, p99 "
                f"{p99:.2f} ms ({rate:,.0f} answers/s), CPU {cpu / messages * 1000:.2f} ms per answer"
                + (f" -- {verdict(p50 < 5)} (p50 < 5 ms)" if label == "sqlite" else ""))  # fmt: skip
    figures.add(f"{prefix}p99_ms", round(p99, 2), f"{label}: floor (store and echo): p50 {floor_p50:.2f} ms "
                f"({floor_rate:,.0f}/s); throughput ratio to the floor: {rate / floor_rate:.2f}")  # fmt: skip
    statements, commits = counts["statements"], counts["commits"]
    figures.add(f"{prefix}statements", statements, f"{label}: one answer sends {statements} SQL statements "
                f"in {commits} commit(s)")  # fmt: skip
    figures.values[f"{prefix}ratio"] = round(rate / floor_rate, 3)
    figures.values[f"{prefix}cpu_ms"] = round(cpu / messages * 1000, 2)
    figures.values[f"{prefix}commits"] = counts["commits"]


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--postgres", metavar="URL", help="also measure on this PostgreSQL database")
    args = parser.parse_args()
    header("engine.handle", 64)
    figures = Figures("engine")
    with tempfile.TemporaryDirectory() as folder:
        db = fresh_sqlite(Path(folder))
        try:
            measure(db, "sqlite", folder, args.messages, figures)
        finally:
            db.engine.dispose()
        if args.postgres:
            with postgres_schema(args.postgres) as pg:
                measure(pg, "postgresql", folder, args.messages, figures)
    figures.finish()


if __name__ == "__main__":
    main()
