"""What operations sees of the web process: request ids, request metrics and logs, /metrics and /readyz.

Every request gets an id (the proxy's X-Request-Id when well formed, a new one otherwise) that its log lines
carry and its answer returns. Each answer is counted by route (the URL rule, so /console/loans/<loan_number>
is one route, and no loan number reaches a label) and timed; the webhooks' answers also by channel.

`/metrics` is for Prometheus: with LOANLINE_METRICS_TOKEN set it wants `Authorization: Bearer <token>`; without
it, it answers only to the loopback address (a Prometheus on the same host, or one scraping through an SSH
tunnel). `/readyz` tells a load balancer whether this process can serve: the database answers and its schema
is the one the code expects (503 otherwise, with the reason). `/healthz` only says the process is alive.
docs/operations.md.
"""

from __future__ import annotations

import hmac
import logging
import time

from flask import Flask, Response, abort, current_app, g, request
from sqlalchemy.exc import SQLAlchemyError

from console.security import public, sessions
from servicing.operations.logs import REQUEST_ID, request_id_from
from servicing.operations.metrics import exposition, record_request
from servicing.store.migrate import schema_revisions

log = logging.getLogger("loanline.requests")
REQUEST_ID_HEADER = "X-Request-Id"
WEBHOOK_CHANNELS = {"sms": "sms", "telegram": "telegram"}  # blueprint -> channel
LOOPBACK = {"127.0.0.1", "::1"}


def init_app(app: Flask, metrics_token: str | None) -> None:
    """Install the request hooks and the operations endpoints (first, so every request has its id)."""
    app.config["METRICS_TOKEN"] = metrics_token
    app.before_request(start_request)
    app.after_request(finish_request)
    app.teardown_request(forget_request)

    @app.get("/metrics")
    @public
    def metrics() -> Response:
        refuse_unless_allowed_to_scrape()
        body, content_type = exposition(sessions())
        return Response(body, content_type=content_type)

    @app.get("/readyz")
    @public
    def readyz() -> tuple[str, int]:
        try:
            current, heads = schema_revisions(sessions().kw["bind"])
        except SQLAlchemyError:
            return "database unreachable\n", 503
        if current != heads:
            have, want = ", ".join(sorted(current)) or "none", ", ".join(sorted(heads))
            return f"migrations not current: database at {have}, code expects {want}\n", 503
        return "ready\n", 200


def start_request() -> None:
    """Give the request its id and start its clock."""
    g.loanline_request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
    g.loanline_request_token = REQUEST_ID.set(g.loanline_request_id)
    g.loanline_started = time.perf_counter()


def finish_request(response: Response) -> Response:
    """Return the request id, count and time the answer, and log one line (the route, never the raw path)."""
    request_id = g.get("loanline_request_id")
    if request_id:
        response.headers[REQUEST_ID_HEADER] = request_id
    started = g.get("loanline_started")
    if started is None:
        return response
    seconds = time.perf_counter() - started
    route = request.url_rule.rule if request.url_rule is not None else "unmatched"
    channel = WEBHOOK_CHANNELS.get(request.blueprint or "")
    record_request(route, request.method, response.status_code, seconds, channel)
    if route != "/metrics":
        log.info("%s %s %s", request.method, route, response.status_code,
                 extra={"route": route, "method": request.method, "status": response.status_code,
                        "duration_ms": round(seconds * 1000, 2)})  # fmt: skip
    return response


def forget_request(_error: BaseException | None) -> None:
    """Clear the request id from the log context once the request is over."""
    token = g.pop("loanline_request_token", None)
    if token is not None:
        try:
            REQUEST_ID.reset(token)
        except ValueError:  # set in another context (a test client's nested request): nothing of ours is left
            REQUEST_ID.set(None)


def refuse_unless_allowed_to_scrape() -> None:
    """Let the bearer of the metrics token in, or (no token configured) only the loopback address."""
    token = current_app.config.get("METRICS_TOKEN")
    if token:
        offered = request.headers.get("Authorization", "")
        if not hmac.compare_digest(offered.encode(), f"Bearer {token}".encode()):
            abort(401)
        return
    if request.remote_addr not in LOOPBACK:
        abort(403)
