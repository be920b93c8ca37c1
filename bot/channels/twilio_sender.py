"""Sending SMS through Twilio's REST API for the outbox, with Twilio's errors turned into the outbox's terms."""

from __future__ import annotations

import logging
from typing import Any

from twilio.base.exceptions import TwilioException, TwilioRestException

from servicing.outbox import DeliveryFailed

log = logging.getLogger(__name__)

# Twilio error codes that no retry will cure.
PERMANENT_CODES = frozenset({
    21211,  # invalid 'To' number
    21408,  # permission to send to this region not enabled
    21610,  # the recipient replied STOP (unsubscribed)
    21614,  # 'To' is not a mobile number
    21612,  # cannot route between these numbers
    30003, 30005, 30006,  # unreachable, unknown or landline destination
})  # fmt: skip
TOO_MANY_REQUESTS = 429
WAIT_AFTER_429 = 60.0  # seconds; Twilio's 429 carries no Retry-After through the client


class TwilioSender:
    """The outbox's SMS sender: one `Messages.create` per message, from the servicer's number."""

    def __init__(self, client: Any, from_number: str, status_callback: str | None = None) -> None:
        self.client = client
        self.from_number = from_number
        self.status_callback = status_callback

    def send(self, address: str, body: str) -> str:
        """Send one SMS and return Twilio's MessageSid; raise DeliveryFailed when Twilio refuses or is unreachable."""
        extra = {"status_callback": self.status_callback} if self.status_callback else {}
        try:
            message = self.client.messages.create(to=address, from_=self.from_number, body=body, **extra)
        except TwilioRestException as error:
            raise delivery_failure(error) from error
        except (TwilioException, OSError) as error:  # network trouble: the requests library's errors are OSErrors
            raise DeliveryFailed(f"Twilio unreachable: {type(error).__name__}", code="network") from error
        return str(message.sid)


def delivery_failure(error: TwilioRestException) -> DeliveryFailed:
    """Return how the outbox should treat a refusal from Twilio: wait, give up, or retry with backoff."""
    code = str(error.code or error.status)
    reason = f"Twilio HTTP {error.status}"
    if error.status == TOO_MANY_REQUESTS or error.code == 20429:
        return DeliveryFailed(reason, code=code, retry_after=WAIT_AFTER_429)
    if error.code in PERMANENT_CODES:
        return DeliveryFailed(reason, code=code, permanent=True)
    if error.status >= 500:
        return DeliveryFailed(reason, code=code)
    # any other 4xx is a request Twilio will refuse again: say so instead of retrying for a quarter hour
    return DeliveryFailed(reason, code=code, permanent=True)
