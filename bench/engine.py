"""End-to-end `Engine.handle` for a verified balance question on SQLite with the demo portfolio.

Floor, measured in the same run: an engine whose answer only stores the message and echoes it
(the same two transactions, no understanding, no loan). Goal: a verified answer under 5 ms p50.

    .venv/bin/python bench/engine.py [--messages 2000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.measure import SECRET, Figures, fresh_sqlite, header, percentile, verdict
from bot.engine import Engine, InboundMessage, Reply, Turn
from servicing.config import Settings
from servicing.demo import load_demo

AS_OF = date(2026, 11, 2)
PHONE, BIRTH = "+12025550101", "04/12/1981"  # LN-1001, Emily Carter (docs/demo.md)


def echo(turn: Turn) -> None:
    """Answer with the text itself: the floor."""
    turn.replies.append(Reply(turn.text))


def timings(engine: Engine, address: str, count: int, prefix: str) -> list[float]:
    """Return the seconds each of `count` balance questions took."""
    samples = []
    for n in range(count):
        start = time.perf_counter()
        replies = engine.handle(InboundMessage("sms", address, "balance", provider_id=f"{prefix}-{n}"))
        samples.append(time.perf_counter() - start)
        assert replies, "every question gets an answer"
    return samples


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    args = parser.parse_args()
    header("engine.handle", 64)
    figures = Figures("engine")
    with tempfile.TemporaryDirectory() as folder:
        db = fresh_sqlite(Path(folder))
        load_demo(db.sessions, secret=SECRET, as_of=AS_OF)
        settings = Settings.from_env({"LOANLINE_SECRET_KEY": SECRET, "LOANLINE_TODAY": AS_OF.isoformat(),
                                      "LOANLINE_INSTANCE_PATH": folder})  # fmt: skip
        now = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
        engine = Engine(db.sessions, settings, clock=lambda: now)
        engine.handle(InboundMessage("sms", PHONE, "balance", provider_id="warm-1"))
        verified = engine.handle(InboundMessage("sms", PHONE, BIRTH, provider_id="warm-2"))
        assert "verified" in verified[0].text, verified
        answers = timings(engine, PHONE, args.messages, "q")
        floor = timings(Engine(db.sessions, settings, clock=lambda: now, respond=echo), "+10000000000",
                        args.messages, "f")  # fmt: skip
        db.engine.dispose()
    p50, p99 = percentile(answers, 0.5) * 1000, percentile(answers, 0.99) * 1000
    floor_p50 = percentile(floor, 0.5) * 1000
    rate, floor_rate = len(answers) / sum(answers), len(floor) / sum(floor)
    figures.add("p50_ms", round(p50, 2), f"verified balance answer: p50 {p50:.2f} ms, p99 {p99:.2f} ms "
                f"({rate:,.0f} answers/s) -- {verdict(p50 < 5)} (p50 < 5 ms)")  # fmt: skip
    figures.add("p99_ms", round(p99, 2), f"floor (store and echo): p50 {floor_p50:.2f} ms ({floor_rate:,.0f}/s)")
    figures.add("ratio", round(rate / floor_rate, 3), f"throughput ratio to the floor: {rate / floor_rate:.2f}")
    figures.finish()


if __name__ == "__main__":
    main()
