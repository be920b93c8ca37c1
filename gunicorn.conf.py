"""Gunicorn settings for the console and webhooks: `gunicorn 'console:create_app()'` from the project folder reads this.

Each worker serves several requests at once on threads (`gthread`, LOANLINE_WEB_THREADS, default 4): a webhook
spends part of its time waiting for PostgreSQL (its round trips, the commit's flush to disk), and another request
uses the core meanwhile (docs/performance.md, "Threads in the workers"). Everything a worker keeps is safe to share
between its threads: the database pool (5 connections kept, 10 more opened and closed when more threads need one),
the flood limit's memory counts (one lock, bot/flood.py), the metrics. One borrower's messages still wait for each
other on their conversation's row lock. LOANLINE_WEB_THREADS=1 serves with one sync worker per process as before.

Each worker builds the app, then moves everything built so far into the garbage collector's permanent
generation, so that full collections no longer walk the libraries' objects (docs/console-performance.md).
With more than one worker, the rate limits (logins, the webhooks' flood limit) hold across workers only on
Redis (LOANLINE_REDIS_URL); without it each worker counts alone, and the server says so when it starts.

Metrics (docs/operations.md): with PROMETHEUS_MULTIPROC_DIR set (deploy/ sets it), every worker writes its
counters to files there and /metrics adds them up; a worker that exits has its live gauges dropped. Gunicorn's
own lines are JSON like the app's (LOANLINE_LOG_FORMAT=text for people at a terminal).
"""

import gc
import os
from typing import Any

bind = os.environ.get("LOANLINE_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("LOANLINE_WEB_WORKERS", "2"))
threads = int(os.environ.get("LOANLINE_WEB_THREADS", "4"))
worker_class = "gthread" if threads > 1 else "sync"
# A threaded worker keeps a connection open between requests (a sync one closes it): longer than nginx keeps an idle
# one to reuse (deploy/nginx: 60 s), so nginx never sends a webhook on a connection gunicorn is closing
keepalive = 75
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

_FORMATTER = (
    "servicing.operations.logs.JsonFormatter"
    if os.environ.get("LOANLINE_LOG_FORMAT", "json") == "json"
    else "servicing.operations.logs.TextFormatter"
)
# LOANLINE_GUNICORN_OWN_LOGS=1 leaves gunicorn its own plain logging to the files its command line names (the
# rate-limit tests read its error and access logs to see both workers answer)
if os.environ.get("LOANLINE_GUNICORN_OWN_LOGS") != "1":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"loanline": {"()": _FORMATTER}},
        # the names of gunicorn's own defaults, which its root logger's settings refer to
        "handlers": {
            name: {"class": "logging.StreamHandler", "formatter": "loanline", "stream": "ext://sys.stderr"}
            for name in ("console", "error_console")
        },
        "root": {"level": "INFO", "handlers": []},  # the app installs its own handler (servicing/operations/logs.py)
        "loggers": {
            "gunicorn.error": {"handlers": ["error_console"], "level": "INFO", "propagate": False},
            "gunicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},  # the app logs each request
        },
    }


def on_starting(server: Any) -> None:
    """Make the metrics folder when one is named (the processes of a host share it)."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        os.makedirs(folder, exist_ok=True)


def post_worker_init(worker: Any) -> None:
    """Freeze the objects of the freshly loaded app."""
    gc.collect()
    gc.freeze()


def child_exit(server: Any, worker: Any) -> None:
    """Drop a dead worker's live gauges from the metrics folder (its counters stay: they only ever add up)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess  # noqa: PLC0415 (only when metrics are kept)

        multiprocess.mark_process_dead(worker.pid)


def when_ready(server: Any) -> None:
    """Warn when several workers would each count the rate limits on their own (no LOANLINE_REDIS_URL)."""
    if server.cfg.workers > 1 and not os.environ.get("LOANLINE_REDIS_URL"):
        server.log.warning(
            "LOANLINE_REDIS_URL is not set: each of the %s workers counts login attempts and message floods on "
            "its own, so the limits are %s times looser (docs/console.md, Rate limits)",
            server.cfg.workers,
            server.cfg.workers,
        )
