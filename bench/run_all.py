"""Run every benchmark, one after the other, and print a summary of their figures and goals.

    .venv/bin/python bench/run_all.py [--loans N] [--postgres URL]

`--loans` scales the boarding and end-of-day benchmarks (default 100,000 each) and the statements benchmark
(at most 10,000, its default); the payoff benchmark keeps its own default. `--postgres` also runs end of day
and the SMS webhook on that database.
A benchmark whose tool is missing (the webhook's `wrk`: `make bench` installs it when it may) is skipped
with a message saying how to install it; the others still run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# The programs a benchmark drives besides Python, and how to install them.
TOOLS = {"webhook.py": {"wrk": "apt-get install wrk"}}
GOALS = (
    ("boarding", "boarding_rows_per_s", "boarding rows/s", lambda v: v >= 20_000, ">= 20,000"),
    ("boarding", "posting_payments_per_s", "posting payments/s", lambda v: v >= 10_000, ">= 10,000"),
    ("eod", "sqlite_eod_s", "end of day, SQLite (s)", lambda v: v < 3.0, "< 3"),
    ("eod", "postgresql_eod_s", "end of day, PostgreSQL (s)", lambda v: v < 3.0, "< 3"),
    ("payoff", "quote_p99_ms", "payoff quote p99 (ms)", lambda v: v < 5.0, "< 5"),
    ("classify", "texts_per_s", "classify texts/s", lambda v: v > 5_000, "> 5,000"),
    ("engine", "p50_ms", "verified answer p50 (ms)", lambda v: v < 5.0, "< 5"),
    ("webhook", "sqlite_ratio", "SMS webhook, SQLite / floor", lambda v: v >= 0.5, ">= 0.5"),
    ("webhook", "sqlite_p99_ms", "SMS webhook, SQLite p99 (ms)", lambda v: v < 20.0, "< 20"),
    ("webhook", "postgresql_ratio", "SMS webhook, PG / floor", lambda v: v >= 0.5, ">= 0.5"),
    ("webhook", "postgresql_p99_ms", "SMS webhook, PG p99 (ms)", lambda v: v < 20.0, "< 20"),
    ("console_pages", "sqlite_queue_p99_ms", "console queue p99, SQLite (ms)", lambda v: v < 100.0, "< 100"),
    ("console_pages", "sqlite_conversation_long_p99_ms", "conversation p99, SQLite (ms)", lambda v: v < 100.0, "< 100"),
    ("console_pages", "postgresql_queue_p99_ms", "console queue p99, PG (ms)", lambda v: v < 100.0, "< 100"),
    ("console_pages", "postgresql_conversation_long_p99_ms", "conversation p99, PG (ms)", lambda v: v < 100.0, "< 100"),
    ("statements", "statements_per_s", "statements/s (all cores)", lambda v: v >= 56, ">= 56"),
)


def missing_tools(script: str) -> dict[str, str]:
    """Return the tools a benchmark needs that are not on the PATH, each with how to install it."""
    return {tool: install for tool, install in TOOLS.get(script, {}).items() if shutil.which(tool) is None}


def run(script: str, arguments: list[str]) -> dict[str, Any]:
    """Run one benchmark script, echo its output and return the figures from its RESULT line.

    A benchmark whose tools are missing is skipped with a message and gives no figures.
    """
    missing = missing_tools(script)
    if missing:
        how = "; ".join(f"{tool} ({install})" for tool, install in missing.items())
        print(f"skipped bench/{script}: not installed: {how}", flush=True)
        return {}
    print(f"$ {Path(sys.executable).name} bench/{script} {' '.join(arguments)}".rstrip(), flush=True)
    process = subprocess.run(
        [sys.executable, str(HERE / script), *arguments], capture_output=True, text=True, check=False
    )
    print(process.stdout, end="")
    if process.returncode != 0:
        print(process.stderr, end="", file=sys.stderr)
        raise SystemExit(f"bench/{script} failed with exit code {process.returncode}")
    lines = [line for line in process.stdout.splitlines() if line.startswith("RESULT ")]
    return dict(json.loads(lines[-1].removeprefix("RESULT "))) if lines else {}


def summary(results: dict[str, dict[str, Any]]) -> None:
    """Print each goal with its figure."""
    print("\nsummary")
    for bench, key, label, met, goal in GOALS:
        value = results.get(bench, {}).get(key)
        if value is None:
            continue
        print(f"  {label:<28} {value:>10,}   goal {goal:<9} {'met' if met(value) else 'NOT MET'}")


def main() -> None:
    """Parse the options and run the benchmarks."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loans", type=int, help="loans for the boarding and end-of-day benchmarks")
    parser.add_argument("--postgres", metavar="URL", help="also run end of day and the webhook on this PostgreSQL")
    args = parser.parse_args()
    scale = ["--loans", str(args.loans)] if args.loans else []
    results = {
        "boarding": run("boarding.py", scale),
        "eod": run("eod.py", scale + (["--postgres", args.postgres] if args.postgres else [])),
        "payoff": run("payoff.py", []),
        "classify": run("classify.py", []),
        "engine": run("engine.py", []),
        "webhook": run("webhook.py", ["--postgres", args.postgres] if args.postgres else []),
        "console_pages": run("console_pages.py", ["--postgres", args.postgres] if args.postgres else []),
        "statements": run("statements.py", ["--loans", str(min(args.loans, 10_000))] if args.loans else []),
    }
    summary(results)


if __name__ == "__main__":
    main()
