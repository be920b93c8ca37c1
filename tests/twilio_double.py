"""Twilio's HTTP seam for tests: the real `twilio.rest.Client` talks to this instead of api.twilio.com."""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Callable
from typing import Any

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
