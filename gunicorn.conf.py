"""Gunicorn settings for the console and webhooks: `gunicorn 'console:create_app()'` from the project folder reads this.

Each worker builds the app, then moves everything built so far into the garbage collector's permanent
generation, so that full collections no longer walk the libraries' objects (docs/console-performance.md).
"""

import gc
from typing import Any

bind = "127.0.0.1:8000"
workers = 2


def post_worker_init(worker: Any) -> None:
    """Freeze the objects of the freshly loaded app."""
    gc.collect()
    gc.freeze()
