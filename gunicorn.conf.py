"""Gunicorn settings for the console and webhooks: `gunicorn 'console:create_app()'` from the project folder reads this.

Each worker builds the app, then moves everything built so far into the garbage collector's permanent
generation, so that full collections no longer walk the libraries' objects (docs/console-performance.md).
With more than one worker, the rate limits (logins, the webhooks' flood limit) hold across workers only on
Redis (LOANLINE_REDIS_URL); without it each worker counts alone, and the server says so when it starts.
"""

import gc
import os
from typing import Any

bind = "127.0.0.1:8000"
workers = 2


def post_worker_init(worker: Any) -> None:
    """Freeze the objects of the freshly loaded app."""
    gc.collect()
    gc.freeze()


def when_ready(server: Any) -> None:
    """Warn when several workers would each count the rate limits on their own (no LOANLINE_REDIS_URL)."""
    if server.cfg.workers > 1 and not os.environ.get("LOANLINE_REDIS_URL"):
        server.log.warning(
            "LOANLINE_REDIS_URL is not set: each of the %s workers counts login attempts and message floods on "
            "its own, so the limits are %s times looser (docs/console.md, Rate limits)",
            server.cfg.workers,
            server.cfg.workers,
        )
