"""Twilio's HTTP seam for tests: the real `twilio.rest.Client` talks to this instead of api.twilio.com."""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from twilio.http import HttpClient
from twilio.http.response import Response

ACCOUNT_SID = "AC" + "0" * 32


class RecordingHttpClient(HttpClient):  # type: ignore[misc]
    """Records each REST call and answers like Twilio (201, a queued message), or with the queued errors.

    `sids` makes each message's id (default: SM00...1, SM00...2, ...); tests that share one database across
    fixtures pass a generator of unique ones, since the database keeps provider ids unique.
    """

    def __init__(
        self,
        errors: list[tuple[int, dict[str, Any]] | Exception] | None = None,
        *,
        account_sid: str = ACCOUNT_SID,
        sids: Callable[[], str] | None = None,
    ) -> None:
        super().__init__(logging.getLogger("recording-twilio"), is_async=False)
        self.calls: list[dict[str, Any]] = []
        self.errors = list(errors or [])
        self.account_sid = account_sid
        counter = itertools.count(1)
        self.next_sid = sids or (lambda: f"SM{next(counter):032d}")

    def request(
        self,
        method: str,
        uri: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        """Record the call; answer with the next queued error or a Twilio-shaped message resource."""
        self.calls.append({"method": method, "url": uri, "data": dict(data or {}), "auth": auth})
        if self.errors:
            error = self.errors.pop(0)
            if isinstance(error, Exception):
                raise error
            status, body = error
            return Response(status, json.dumps(body))
        sid = self.next_sid()
        body = {
            "sid": sid, "account_sid": self.account_sid, "status": "queued", "to": (data or {}).get("To"),
            "from": (data or {}).get("From"), "body": (data or {}).get("Body"), "num_segments": "1",
            "direction": "outbound-api", "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }  # fmt: skip
        return Response(201, json.dumps(body))

    @property
    def sent_bodies(self) -> list[str]:
        """Return the text of every message sent, in order."""
        return [str(call["data"]["Body"]) for call in self.calls]


class FakeTwilioAPI:
    """Twilio's REST API on 127.0.0.1 for processes a test starts (they reach it through TWILIO_API_URL).

    `POST /2010-04-01/Accounts/{sid}/Messages.json` is recorded (`To`, `Body`, when it arrived) and answered
    with a queued message after `delay` seconds, so that a test can kill a sender while a send is in flight.
    """

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.sent: list[tuple[str, str, float]] = []  # (To, Body, time.monotonic() on arrival)
        self._sids = itertools.count(1)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-twilio", daemon=True)

    def __enter__(self) -> FakeTwilioAPI:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _record(self, to: str, body: str) -> str:
        with self._lock:
            self.sent.append((to, body, time.monotonic()))
            return f"SM{next(self._sids):032d}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = {key: values[0] for key, values in parse_qs(self.rfile.read(length).decode()).items()}
                if not self.path.endswith("/Messages.json"):
                    self._answer(404, {"code": 20404, "message": "not found", "status": 404})
                    return
                sid = api._record(form.get("To", ""), form.get("Body", ""))
                time.sleep(api.delay)
                self._answer(201, {"sid": sid, "status": "queued", "to": form.get("To"), "from": form.get("From"),
                                   "body": form.get("Body"), "num_segments": "1"})  # fmt: skip

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                """Stay quiet: the test reads what was sent, not a log."""

        return Handler
