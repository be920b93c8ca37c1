"""The Twilio SMS webhook in one process: what one signed "balance" request costs, without HTTP or a second worker.

The app (`console.create_app()`) answers through Flask's test client, signed as Twilio signs, from the verified
demo borrower of `bench/webhook.py`. Printed: wall and CPU time per request, and the SQL statements and
commits one request sends. `--profile` writes a pyinstrument profile (pyinstrument is not a dependency:
`.venv/bin/pip install pyinstrument`).

    .venv/bin/python bench/webhook_inprocess.py [--requests 1000] [--postgres URL] [--calls] [--profile FILE]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask.testing import FlaskClient  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402

from bench.measure import SECRET, Database, Figures, counting, fresh_sqlite, header, percentile, postgres_schema  # noqa: E402
from bench.webhook import BENCH_FLOOD_LIMIT, EXPECTED, SERVICER_NUMBER, TWILIO_TOKEN, phones, prepare  # noqa: E402

PHONE = phones(1)[0]  # one verified borrower: the cost of one request, nothing queued behind another

URL = "http://localhost/sms/twilio"


def post(client: FlaskClient, validator: RequestValidator, number: int) -> None:
    """Post one signed "balance" with its own MessageSid and check the answer."""
    form = {"MessageSid": f"SMI{number:030d}", "AccountSid": "AC" + "0" * 32, "From": PHONE,
            "To": SERVICER_NUMBER, "Body": "balance", "NumMedia": "0"}  # fmt: skip
    answer = client.post(
        "/sms/twilio", data=form, headers={"X-Twilio-Signature": validator.compute_signature(URL, form)}
    )
    assert answer.status_code == 200 and EXPECTED in answer.get_data(as_text=True), answer.data


def python_calls(client: FlaskClient, validator: RequestValidator, requests: int) -> int:
    """Return the Python calls one request makes, on average over `requests` (a count the load does not change)."""
    profile = cProfile.Profile()
    profile.enable()
    for number in range(900_000, 900_000 + requests):
        post(client, validator, number)
    profile.disable()
    return round(pstats.Stats(profile).total_calls / requests)  # type: ignore[attr-defined]


def measure(db: Database, label: str, folder: str, args: argparse.Namespace, figures: Figures) -> None:
    """Serve the app on `db` in this process and time its webhook."""
    today = datetime.now(UTC).date()
    prepare(db, folder, today, 1)
    os.environ.update({"LOANLINE_DATABASE_URL": db.url, "LOANLINE_SECRET_KEY": SECRET,
                       "LOANLINE_INSTANCE_PATH": folder, "LOANLINE_TODAY": today.isoformat(),
                       "LOANLINE_PUBLIC_URL": "http://localhost", "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
                       "LOANLINE_FLOOD_LIMIT": BENCH_FLOOD_LIMIT})  # fmt: skip
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_FROM_NUMBER", "TELEGRAM_BOT_TOKEN"):
        os.environ.pop(name, None)
    from console import create_app

    app = create_app()
    client, validator = app.test_client(), RequestValidator(TWILIO_TOKEN)
    app_db = Database(db.url, app.extensions["loanline.sessions"].kw["bind"], app.extensions["loanline.sessions"])
    for number in range(30):  # caches, prepared statements, the pool
        post(client, validator, number)
    with counting(app_db) as counts:
        post(client, validator, 100)
    profiler = None
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0002)
        profiler.start()
    samples, cpu = [], time.process_time()
    for number in range(1000, 1000 + args.requests):
        start = time.perf_counter()
        post(client, validator, number)
        samples.append(time.perf_counter() - start)
    cpu = time.process_time() - cpu
    if profiler is not None:
        profiler.stop()
        Path(f"{args.profile}.{label}.txt").write_text(profiler.output_text(unicode=False, color=False))
    if args.calls:  # after the timed requests: the profiler slows what it watches
        calls = python_calls(client, validator, 300)
        figures.add(
            f"{label}_calls", calls, f"{label}: {calls:,} Python calls per request (cProfile, 300 more requests)"
        )
    app_db.engine.dispose()
    mean, p50, p99 = (
        sum(samples) / len(samples) * 1000,
        percentile(samples, 0.5) * 1000,
        percentile(samples, 0.99) * 1000,
    )
    figures.add(f"{label}_cpu_ms", round(cpu / args.requests * 1000, 2),
                f"{label}: {len(samples):,} requests: mean {mean:.2f} ms, p50 {p50:.2f} ms, p99 {p99:.2f} ms, "
                f"CPU {cpu / args.requests * 1000:.2f} ms per request")  # fmt: skip
    figures.add(
        f"{label}_statements",
        counts["statements"],
        f"{label}: one request sends {counts['statements']} SQL statements in {counts['commits']} commit(s)",
    )
    figures.values[f"{label}_p50_ms"] = round(p50, 2)
    figures.values[f"{label}_commits"] = counts["commits"]


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--postgres", metavar="URL", help="measure on this PostgreSQL database instead of SQLite")
    parser.add_argument("--calls", action="store_true", help="also count the Python calls of a request (cProfile)")
    parser.add_argument("--profile", metavar="FILE", help="write a pyinstrument profile to FILE.<database>.txt")
    args = parser.parse_args()
    header("webhook in one process (Flask test client)", 64)
    figures = Figures("webhook_inprocess")
    with tempfile.TemporaryDirectory() as folder:
        if args.postgres:
            with postgres_schema(args.postgres) as pg:
                measure(pg, "postgresql", folder, args, figures)
        else:
            db = fresh_sqlite(Path(folder))
            try:
                measure(db, "sqlite", folder, args, figures)
            finally:
                db.engine.dispose()
    figures.finish()


if __name__ == "__main__":
    main()
