"""The Twilio SMS webhook under load: gunicorn (1, then 2 workers) serving the whole app, driven by `wrk`.

Every request is a properly signed `POST /sms/twilio` with its own MessageSid, asking "balance" from a
conversation verified beforehand, so each one is stored, understood and answered with the balance.
Floor, measured in the same run with the same gunicorn and wrk settings: a bare Flask app answering a
fixed TwiML document. Goal: at least half the floor's throughput, p99 under 20 ms, every message stored;
on PostgreSQL at least 800 answers per second with 2 workers on 2 cores, and more with 2 workers than with 1
(both measured in the same run: `*_1w` figures are one worker's, the others two workers').

    .venv/bin/python bench/webhook.py [--duration 10] [--connections 4] [--postgres URL] [--gunicorn-config FILE]
                                      [--workers 1,2] [--web-threads N] [--skip-sqlite] [--db-floor]

`--db-floor` (with `--postgres`) also serves the database floor: the statements a verified answer must send, in
plain SQL on psycopg, after the signature check (`DB_FLOOR_SQL`), and prints the app's answers against it.
The project's `gunicorn.conf.py` (the default `--gunicorn-config`) freezes each worker's start-up objects
out of the garbage collector's reach, as a deployment should, and serves on 4 threads per worker (gthread);
`--web-threads 1` measures sync workers, as served before 2026-12-05 (docs/performance.md).
`bench/webhook_inprocess.py` measures one request in one process, with its SQL statements.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from flask import Flask, Response, abort, request  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402

from bench.measure import SECRET, Database, Figures, fresh_sqlite, header, postgres_schema, verdict  # noqa: E402
from bot.engine import Engine, InboundMessage  # noqa: E402
from servicing.config import Settings  # noqa: E402
from servicing.demo.portfolio import BORROWERS as DEMO_BORROWERS  # noqa: E402
from servicing.demo.portfolio import load_demo  # noqa: E402
from servicing.store.models import Conversation, Message  # noqa: E402

TWILIO_TOKEN = "bench-twilio-auth-token"
# Each benchmark borrower sends hundreds of messages a second: lift the per-sender flood limit (bot/flood.py) so
# the bot answers them all, while every request still pays for counting them.
BENCH_FLOOD_LIMIT = "100000/second"
# Demo borrowers in English with one active loan and no conversation waiting for a person (docs/demo.md):
# the load comes from several of them, as real traffic does; one borrower's messages are answered in order
# (each locks its conversation), so a single borrower would measure that queue rather than the server.
BORROWERS = ("whitaker", "moore", "brooks", "patel", "kim", "mitchell", "turner", "foster")
SERVICER_NUMBER = "+15550001111"
WORKERS = (1, 2)  # gunicorn workers, each count measured in the same run; the last is the deployment's
PG_GOAL_PER_S = 800  # verified answers per second on PostgreSQL, 2 workers on 2 cores (issue 17)
FIXED_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Your balance is $1.00</Message></Response>'
ERROR_LINES = ("sqlalchemy.exc.", "sqlite3.", "psycopg.")  # how a failed request shows in the server's log
EXPECTED = "principal balance"  # what every answer to a verified "balance" contains
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'

LUA = r"""
-- Signed requests are read from a file, one "body<TAB>signature" per line; each wrk thread takes every
-- n-th one, so no MessageSid is sent twice while the file lasts. Answers lacking `expected` are counted.
local path, expected = "%(path)s", "%(expected)s"
local threads, next_id = {}, 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  threads[#threads + 1] = thread
end

function init(args)
  step, position, wrong, wrapped = tonumber(args[1]), id, 0, 0
  items = {}
  for line in io.lines(path) do
    local tab = line:find("\t", 1, true)
    items[#items + 1] = {line:sub(1, tab - 1), line:sub(tab + 1)}
  end
end

function request()
  if position >= #items then wrapped = wrapped + 1 end
  local item = items[(position %% #items) + 1]
  position = position + step
  return wrk.format("POST", "/sms/twilio", {
    ["Content-Type"] = "application/x-www-form-urlencoded", ["X-Twilio-Signature"] = item[2],
  }, item[1])
end

function response(status, headers, body)
  if expected ~= "" and (status ~= 200 or not body:find(expected, 1, true)) then wrong = wrong + 1 end
end

function done(summary, latency, requests)
  local wrong_total, wrapped_total = 0, 0
  for _, thread in ipairs(threads) do
    wrong_total = wrong_total + thread:get("wrong")
    wrapped_total = wrapped_total + thread:get("wrapped")
  end
  local errors = summary.errors
  io.write(string.format(
    'WRK {"requests": %%d, "duration_us": %%d, "mean_us": %%.1f, "p50_us": %%d, "p99_us": %%d, "max_us": %%d, ' ..
    '"non_2xx": %%d, "socket_errors": %%d, "wrong": %%d, "wrapped": %%d}\n',
    summary.requests, summary.duration, latency.mean, latency:percentile(50), latency:percentile(99),
    latency.max, errors.status, errors.connect + errors.read + errors.write + errors.timeout,
    wrong_total, wrapped_total))
end
"""


@dataclass(frozen=True)
class Load:
    """One wrk run's figures."""

    requests: int
    seconds: float
    mean_ms: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    wrong: int
    wrapped: int

    @property
    def per_second(self) -> float:
        """Return the throughput: completed requests per second."""
        return self.requests / self.seconds

    def line(self) -> str:
        """Return the figures as one line."""
        return (f"{self.per_second:,.0f} req/s, mean {self.mean_ms:.2f} ms, p50 {self.p50_ms:.2f} ms, "
                f"p99 {self.p99_ms:.2f} ms ({self.requests:,} requests, {self.non_2xx} non-2xx, "
                f"{self.socket_errors} socket errors)")  # fmt: skip


@dataclass(frozen=True)
class Served:
    """A running gunicorn: its base URL and its master's process id."""

    base: str
    pid: int


def server_cpu_seconds(master: int) -> float:
    """Return the CPU time gunicorn's master and its workers have used so far (all their threads; Linux's /proc)."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # a process that ended meanwhile
            continue
        fields = text[text.rfind(")") + 2 :].split()  # after the name: state, ppid, ... utime (12th), stime
        if master in (int(stat.parent.name), int(fields[1])):
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def floor_app() -> Flask:
    """Return the floor: a bare Flask app answering every webhook with the same TwiML (gunicorn's entry point)."""
    app = Flask("floor")

    @app.post("/sms/twilio")
    def fixed_reply() -> Response:
        return Response(FIXED_TWIML, content_type="application/xml")

    @app.get("/healthz")
    def healthz() -> str:
        return "ok\n"

    return app


# The database floor: what every verified answer must do in the database, as plain SQL on one psycopg connection per
# thread, with no ORM, no understanding and no formatting (`--db-floor`): lock the conversation (reading its
# opt-out), record the provider's id once, store the message, read the loan and its open fees, store the reply,
# move the conversation's times, commit. What the app adds on top of it is the app's own cost.
DB_FLOOR_SQL = (
    "SELECT c.id, c.borrower_id, EXISTS (SELECT 1 FROM opt_outs o WHERE o.channel = c.channel AND o.address = c.address"
    " AND o.opted_out) FROM conversations c WHERE c.channel = %s AND c.address = %s FOR UPDATE OF c",
    "INSERT INTO inbound_receipts (channel, provider_id, received_at) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING"
    " RETURNING provider_id",
    "INSERT INTO messages (conversation_id, channel, direction, author, body, provider_id, status, attachments,"
    " internal, created_at) VALUES (%s, 'sms', 'in', 'borrower', %s, %s, 'received', '[]', false, %s) RETURNING id",
    "SELECT l.id, l.principal_balance, l.accrued_interest, l.fees_balance, l.currency, f.seq, f.outstanding"
    " FROM loans l LEFT JOIN fees f ON f.loan_id = l.id AND f.outstanding > 0"
    " WHERE l.borrower_id = %s AND l.status = 'active' ORDER BY l.id, f.seq",
    "INSERT INTO messages (conversation_id, channel, direction, author, body, status, attachments, internal,"
    " created_at, sent_at, meta) VALUES (%s, 'sms', 'out', 'bot', %s, 'sent', '[]', false, %s, %s, %s)",
    "UPDATE conversations SET last_message_at = %s, verified_until = %s WHERE id = %s",
)


def db_floor_app() -> Flask:
    """Return the database floor: the signature checked, then the statements of DB_FLOOR_SQL (gunicorn's entry)."""
    app = Flask("db_floor")
    conninfo = make_url(os.environ["LOANLINE_DATABASE_URL"]).set(drivername="postgresql")
    url, public = conninfo.render_as_string(hide_password=False), os.environ["LOANLINE_PUBLIC_URL"]
    validator, local = RequestValidator(TWILIO_TOKEN), threading.local()

    def connection() -> psycopg.Connection[Any]:
        if getattr(local, "connection", None) is None:
            local.connection = psycopg.connect(url)
        return local.connection  # type: ignore[no-any-return]

    @app.post("/sms/twilio")
    def answer() -> Response:
        form = request.form.to_dict()
        if not validator.validate(f"{public}/sms/twilio", form, request.headers.get("X-Twilio-Signature", "")):
            abort(403)
        now, db = datetime.now(UTC), connection()
        lock, receipt, inbound, account, reply, times = DB_FLOOR_SQL
        with db.transaction():
            conversation = db.execute(lock, ("sms", form["From"])).fetchone()
            assert conversation is not None
            if db.execute(receipt, ("sms", form["MessageSid"], now)).fetchone() is None:
                return Response(EMPTY_TWIML, content_type="application/xml")
            db.execute(inbound, (conversation[0], form["Body"], form["MessageSid"], now)).fetchone()
            rows = db.execute(account, (conversation[1],)).fetchall()
            text = f"Your principal balance is {rows[0][1]} {rows[0][4]}."
            db.execute(reply, (conversation[0], text, now, now, json.dumps({"quoted": "balance"})))
            db.execute(times, (now, now + timedelta(minutes=15), conversation[0]))
        return Response(f"<Response><Message>{text}</Message></Response>", content_type="application/xml")

    @app.get("/healthz")
    def healthz() -> str:
        return "ok\n"

    return app


def free_port() -> int:
    """Return a port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def gunicorn(
    app: str,
    env: dict[str, str],
    port: int,
    log: Path,
    config: str | None = None,
    workers: int = WORKERS[-1],
    threads: int | None = None,
) -> Iterator[Served]:
    """Serve `app` with gunicorn (`workers` workers) on 127.0.0.1:port until the block ends; yield the server.

    `threads` per worker: 1 is a sync worker, more a threaded one (gthread); none leaves it to the config.
    What the server writes on stderr goes to `log`; the number of errors it logged is printed at the end.
    """
    per_worker = [] if threads is None else ["--threads", str(threads), "--worker-class",
                                            "sync" if threads == 1 else "gthread"]  # fmt: skip
    command = [str(Path(sys.executable).parent / "gunicorn"), "--workers", str(workers), *per_worker, "--bind",
               f"127.0.0.1:{port}", "--chdir", str(ROOT), "--log-level", "warning",
               *(["--config", config] if config else []), app]  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    with log.open("w") as stderr:
        process = subprocess.Popen(command, env=env, stderr=stderr)
        try:
            wait_until_healthy(base, process)
            yield Served(base, process.pid)
        finally:
            process.terminate()
            process.wait(timeout=30)
    errors = [line for line in log.read_text().splitlines() if line.startswith(ERROR_LINES)]
    if errors:
        print(f"    the server logged {len(errors)} errors, the first: {errors[0][:160]}")


def wait_until_healthy(base: str, process: subprocess.Popen[bytes]) -> None:
    """Wait until the server answers /healthz."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not start")


def phones(borrowers: int) -> list[str]:
    """Return the phones of the first `borrowers` benchmark borrowers."""
    return [DEMO_BORROWERS[key].phone for key in BORROWERS[:borrowers]]


def signed_requests(url: str, count: int, prefix: str, senders: list[str]) -> list[tuple[str, str]]:
    """Return `count` webhook bodies asking for the balance, each with its own MessageSid, and their signatures.

    The senders take turns, one request each.
    """
    validator = RequestValidator(TWILIO_TOKEN)
    signed = []
    for number in range(count):
        sender = senders[number % len(senders)]
        form = {"MessageSid": f"SM{prefix}{number:030d}", "AccountSid": "AC" + "0" * 32, "From": sender,
                "To": SERVICER_NUMBER, "Body": "balance", "NumMedia": "0"}  # fmt: skip
        signed.append((urllib.parse.urlencode(form), validator.compute_signature(url, form)))
    return signed


def send(url: str, body: str, signature: str) -> str:
    """Post one signed webhook and return the answer."""
    request = urllib.request.Request(url, data=body.encode(), headers={"X-Twilio-Signature": signature})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return str(answer.read().decode())


def run_wrk(base: str, requests_file: Path, folder: Path, args: argparse.Namespace, expected: str) -> Load:
    """Run wrk against the webhook and return its figures."""
    script = folder / "webhook.lua"
    script.write_text(LUA % {"path": str(requests_file), "expected": expected})
    command = ["wrk", "--threads", str(args.threads), "--connections", str(args.connections), "--duration",
               f"{args.duration}s", "--timeout", "5s", "--script", str(script), f"{base}/sms/twilio", "--",
               str(args.threads)]  # fmt: skip
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("WRK "))
    raw: dict[str, Any] = json.loads(line.removeprefix("WRK "))
    return Load(raw["requests"], raw["duration_us"] / 1e6, raw["mean_us"] / 1000, raw["p50_us"] / 1000,
                raw["p99_us"] / 1000, raw["non_2xx"], raw["socket_errors"], raw["wrong"], raw["wrapped"])  # fmt: skip


def prepare(db: Database, folder: str, today: date, borrowers: int) -> None:
    """Load the demo and verify the benchmark's borrowers, as borrowers texting would."""
    load_demo(db.sessions, secret=SECRET, as_of=today)
    settings = Settings.from_env({"LOANLINE_SECRET_KEY": SECRET, "LOANLINE_TODAY": today.isoformat(),
                                  "LOANLINE_INSTANCE_PATH": folder})  # fmt: skip
    engine = Engine(db.sessions, settings)
    for key in BORROWERS[:borrowers]:
        borrower = DEMO_BORROWERS[key]
        birth = date.fromisoformat(borrower.date_of_birth).strftime("%m/%d/%Y")
        engine.handle(InboundMessage("sms", borrower.phone, "balance", provider_id=f"bench-warm-{key}-1"))
        verified = engine.handle(InboundMessage("sms", borrower.phone, birth, provider_id=f"bench-warm-{key}-2"))
        assert "verified" in verified[0].text, (key, verified)


def stored_inbound(db: Database, senders: list[str]) -> int:
    """Return how many messages from the benchmark's borrowers are stored."""
    with db.sessions() as session:
        query = (select(func.count()).select_from(Message).join(Conversation)
                 .where(Message.direction == "in", Conversation.address.in_(senders)))  # fmt: skip
        return int(session.scalar(query) or 0)


def measure_app(db: Database, label: str, args: argparse.Namespace, folder: Path, figures: Figures) -> dict[int, Load]:
    """Serve the whole app on `db` with each number of workers and load its webhook; check each request was stored."""
    today = datetime.now(UTC).date()
    prepare(db, str(folder), today, args.borrowers)
    senders = phones(args.borrowers)
    loads = {}
    for workers in args.workers:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "LOANLINE_DATABASE_URL": db.url, "LOANLINE_SECRET_KEY": SECRET,
               "LOANLINE_INSTANCE_PATH": str(folder), "LOANLINE_TODAY": today.isoformat(),
               "LOANLINE_PUBLIC_URL": base, "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
               "LOANLINE_FLOOD_LIMIT": BENCH_FLOOD_LIMIT}  # fmt: skip
        for name in ("TWILIO_ACCOUNT_SID", "TWILIO_FROM_NUMBER", "TELEGRAM_BOT_TOKEN", "LOANLINE_REDIS_URL"):
            env.pop(name, None)
        run = f"{label}{suffix(workers, args)}"
        signed = signed_requests(f"{base}/sms/twilio", args.requests + 20, f"{label[:2]}{workers}", senders)
        requests_file = folder / f"{run}.requests"
        requests_file.write_text("".join(f"{body}\t{signature}\n" for body, signature in signed[20:]))
        with gunicorn("console:create_app()", env, port, folder / f"{run}.log", args.gunicorn_config, workers,
                      args.web_threads) as server:  # fmt: skip
            for body, signature in signed[:20]:  # every worker imports, connects and warms its caches
                answer = send(f"{base}/sms/twilio", body, signature)
                assert EXPECTED in answer, f"the warm-up is answered with the balance: {answer}"
            before, cpu = stored_inbound(db, senders), server_cpu_seconds(server.pid)
            load = run_wrk(base, requests_file, folder, args, EXPECTED)
            cpu = server_cpu_seconds(server.pid) - cpu
            time.sleep(1.0)  # requests in flight when wrk stopped finish
            stored = stored_inbound(db, senders) - before
        in_flight = stored - load.requests  # sent before wrk stopped, answered after it stopped counting
        complete = 0 <= in_flight <= args.connections and load.wrapped == 0
        figures.add(f"{run}_per_s", round(load.per_second, 1), f"{label}, {workers} worker(s): {load.line()}")
        figures.add(f"{run}_p99_ms", round(load.p99_ms, 2),
                    f"  stored {stored:,} of {load.requests:,} completed (+{in_flight} in flight at the end), "
                    f"{load.wrong} answers without the balance -- {verdict(complete and load.wrong == 0)}")  # fmt: skip
        figures.values[f"{run}_mean_ms"] = round(load.mean_ms, 2)
        figures.values[f"{run}_all_stored"] = complete
        server_cpu(figures, run, cpu, load)
        loads[workers] = load
    return loads


def measure_db_floor(db: Database, args: argparse.Namespace, folder: Path, figures: Figures) -> dict[int, Load]:
    """Serve the database floor on the app's database (its borrowers verified) and load it the same way."""
    senders = phones(args.borrowers)
    loads = {}
    for workers in args.workers:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "LOANLINE_DATABASE_URL": db.url, "LOANLINE_PUBLIC_URL": base}
        run = f"db_floor{suffix(workers, args)}"
        signed = signed_requests(f"{base}/sms/twilio", args.requests, f"df{workers}", senders)
        requests_file = folder / f"{run}.requests"
        requests_file.write_text("".join(f"{body}\t{signature}\n" for body, signature in signed))
        with gunicorn("bench.webhook:db_floor_app()", env, port, folder / f"{run}.log", args.gunicorn_config,
                      workers, args.web_threads) as server:  # fmt: skip
            before, cpu = stored_inbound(db, senders), server_cpu_seconds(server.pid)
            load = run_wrk(base, requests_file, folder, args, EXPECTED)
            cpu = server_cpu_seconds(server.pid) - cpu
            time.sleep(1.0)
            stored = stored_inbound(db, senders) - before
        figures.add(f"{run}_per_s", round(load.per_second, 1),
                    f"database floor (the statements in plain SQL), {workers} worker(s): {load.line()}; "
                    f"stored {stored:,} of {load.requests:,}")  # fmt: skip
        figures.values[f"{run}_p99_ms"] = round(load.p99_ms, 2)
        server_cpu(figures, run, cpu, load)
        loads[workers] = load
    return loads


def suffix(workers: int, args: argparse.Namespace) -> str:
    """Return the figures' suffix for a number of workers: none for the most (the deployment's), `_1w` for one."""
    return "" if workers == max(args.workers) else f"_{workers}w"


def measure_floor(args: argparse.Namespace, folder: Path, figures: Figures) -> dict[int, Load]:
    """Serve the floor app with each number of workers and load it the same way."""
    loads = {}
    for workers in args.workers:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        signed = signed_requests(f"{base}/sms/twilio", args.requests, f"fl{workers}", phones(args.borrowers))
        requests_file = folder / f"floor{workers}.requests"
        requests_file.write_text("".join(f"{body}\t{signature}\n" for body, signature in signed))
        with gunicorn("bench.webhook:floor_app()", dict(os.environ), port, folder / f"floor{workers}.log",
                      args.gunicorn_config, workers, args.web_threads) as server:  # fmt: skip
            cpu = server_cpu_seconds(server.pid)
            load = run_wrk(base, requests_file, folder, args, "")
            cpu = server_cpu_seconds(server.pid) - cpu
        run = f"floor{suffix(workers, args)}"
        figures.add(
            f"{run}_per_s", round(load.per_second, 1), f"floor (fixed TwiML), {workers} worker(s): {load.line()}"
        )
        figures.values[f"{run}_p99_ms"] = round(load.p99_ms, 2)
        server_cpu(figures, run, cpu, load)
        loads[workers] = load
    return loads


def server_cpu(figures: Figures, run: str, seconds: float, load: Load) -> None:
    """Print the server's CPU per request while wrk ran, and how much of the 2 cores it kept busy.

    Near the cores' worth with requests waiting is a server bound by CPU; well below, one waiting (on the database,
    on a lock). The database server's own CPU is not counted (at 800 answers a second on 2 cores, every process
    together has 2.5 ms per answer).
    """
    per_request, cores = seconds / max(load.requests, 1) * 1000, seconds / load.seconds
    figures.add(f"{run}_server_cpu_ms", round(per_request, 2),
                f"  gunicorn's CPU: {per_request:.2f} ms per request, {cores:.2f} cores busy")  # fmt: skip


def compare(label: str, loads: dict[int, Load], floors: dict[int, Load], figures: Figures) -> None:
    """Print the ratios to the floor and between worker counts, and the verdicts."""
    most = max(loads)
    load, floor = loads[most], floors[most]
    ratio = load.per_second / floor.per_second
    figures.add(f"{label}_ratio", round(ratio, 3),
                f"{label}: {ratio:.2f} of the floor's throughput -- {verdict(ratio >= 0.5)} (>= 0.5); "
                f"p99 {load.p99_ms:.2f} ms -- {verdict(load.p99_ms < 20)} (< 20 ms)")  # fmt: skip
    if label == "postgresql" and most == 2:
        figures.add("postgresql_goal", load.per_second >= PG_GOAL_PER_S,
                    f"postgresql: {load.per_second:,.0f} answers/s with 2 workers -- "
                    f"{verdict(load.per_second >= PG_GOAL_PER_S)} (>= {PG_GOAL_PER_S}/s)")  # fmt: skip
    fewest = min(loads)
    if fewest != most:
        scaling, floor_scaling = (loads[most].per_second / loads[fewest].per_second,
                                  floors[most].per_second / floors[fewest].per_second)  # fmt: skip
        figures.add(f"{label}_scaling", round(scaling, 2),
                    f"{label}: {most} workers serve {scaling:.2f}x what {fewest} serves (the floor: "
                    f"{floor_scaling:.2f}x) -- {verdict(scaling > 1.0)} (grows with workers)")  # fmt: skip


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per server (default 10)")
    parser.add_argument("--connections", type=int, default=4, help="wrk connections (default 4)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--requests", type=int, default=20_000, help="distinct signed requests (default 20,000)")
    parser.add_argument("--postgres", metavar="URL", help="also serve the app on this PostgreSQL database")
    parser.add_argument(
        "--borrowers",
        type=int,
        default=len(BORROWERS),
        choices=range(1, len(BORROWERS) + 1),
        metavar=f"1-{len(BORROWERS)}",
        help="verified borrowers the load comes from (default: all)",
    )
    parser.add_argument("--gunicorn-config", metavar="FILE", default=str(ROOT / "gunicorn.conf.py"),
                        help="a gunicorn config file (default: the project's, as deployed)")  # fmt: skip
    parser.add_argument("--workers", type=lambda text: sorted({int(n) for n in text.split(",")}),
                        default=list(WORKERS), help="gunicorn worker counts, as 1,2 (the default)")  # fmt: skip
    parser.add_argument("--web-threads", type=int, metavar="N",
                        help="threads per gunicorn worker, floor and app: 1 is a sync worker (before 2026-12-05), "
                             "more a gthread worker (default: the config's, LOANLINE_WEB_THREADS or 4)")  # fmt: skip
    parser.add_argument("--skip-sqlite", action="store_true", help="measure only the floor and PostgreSQL")
    parser.add_argument("--db-floor", action="store_true",
                        help="PostgreSQL: also serve the database floor (the statements in plain SQL)")  # fmt: skip
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    header(f"webhook (gunicorn, {' and '.join(map(str, args.workers))} workers, wrk)", 64)
    print(f"  uptime: {uptime()}")
    print(f"  wrk: {args.threads} threads, {args.connections} connections, {args.duration} s per server; "
          f"gunicorn config: {args.gunicorn_config or 'none'}; threads per worker: "
          f"{args.web_threads or 'as configured'}")  # fmt: skip
    figures = Figures("webhook")
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        floor = measure_floor(args, folder, figures)
        if not args.skip_sqlite:
            db = fresh_sqlite(folder)
            try:
                sqlite = measure_app(db, "sqlite", args, folder, figures)
            finally:
                db.engine.dispose()
            compare("sqlite", sqlite, floor, figures)
        if args.postgres:
            with postgres_schema(args.postgres) as pg:
                postgresql = measure_app(pg, "postgresql", args, folder, figures)
                db_floor = measure_db_floor(pg, args, folder, figures) if args.db_floor else None
            compare("postgresql", postgresql, floor, figures)
            if db_floor is not None:
                compare("database floor", db_floor, floor, figures)
                most = max(args.workers)
                figures.add("postgresql_to_db_floor", round(postgresql[most].per_second / db_floor[most].per_second, 2),
                            f"postgresql: {postgresql[most].per_second / db_floor[most].per_second:.2f} of the "
                            f"database floor's answers a second with {most} workers")  # fmt: skip
    print(f"  uptime: {uptime()}")
    figures.finish()


def uptime() -> str:
    """Return what `uptime` says: the machine is shared, and other work changes every figure but the ratios."""
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


if __name__ == "__main__":
    main()
