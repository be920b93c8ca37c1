"""How big a request may be, and how long it may wait for the database, on every route of the web app.

- A request body is at most `MAX_REQUEST_BYTES` (1 MB: the webhooks and the console's forms): werkzeug
  compares Content-Length with it before reading the body (a chunked body is cut off at the limit) and
  answers 413. No route takes uploads (MMS media arrive as URLs); a route that does would raise its own
  `request.max_content_length`.
- A request waits at most `LOCK_WAIT_SECONDS` for SQLite's write lock, then as long again for the lock
  itself (`make_engine`), and is answered 503 with Retry-After instead of 500 when another writer still
  holds it; the same when the database server dropped the connection under a page (the webhooks run
  their transaction again first, `retried_when_disconnected`).
"""

from __future__ import annotations

import logging

from flask import Flask, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import ServiceUnavailable
from werkzeug.wrappers.response import Response

from servicing.store.db import connection_dropped, database_busy

log = logging.getLogger(__name__)
MAX_REQUEST_BYTES = 1024 * 1024
LOCK_WAIT_SECONDS = 4.0  # for the turn, and as long again for the lock: 8 s at worst, under Twilio's 15 s
RETRY_AFTER_SECONDS = 5


def init_app(app: Flask) -> None:
    """Refuse oversized bodies and answer 503 when the database cannot serve the request in time."""
    if app.config.get("MAX_CONTENT_LENGTH") is None:  # Flask's default is no limit at all
        app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    app.register_error_handler(OperationalError, database_unavailable)


def database_unavailable(error: OperationalError) -> Response:
    """Answer 503 with Retry-After when the database was busy or went away; any other error stays a 500."""
    if not (database_busy(error) or connection_dropped(error)):
        raise error
    log.warning("%s %s: the database is busy or unreachable; answered 503", request.method, request.path)
    return ServiceUnavailable(retry_after=RETRY_AFTER_SECONDS).get_response()
