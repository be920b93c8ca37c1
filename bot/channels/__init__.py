"""Channel adapters around the conversation engine: SMS (Twilio) and Telegram; and the senders the outbox uses."""

from __future__ import annotations

import logging
from typing import Any

from twilio.rest import Client

from bot.channels.telegram import telegram_sender
from bot.channels.twilio_sender import TwilioSender
from servicing.config import Settings
from servicing.outbox import Sender

log = logging.getLogger(__name__)


def configured_senders(settings: Settings, http_client: Any = None) -> dict[str, Sender]:
    """Return the outbox senders this deployment can use; say in the log why a channel is missing.

    Without Twilio credentials no SMS is sent: the outbox keeps the messages until a worker with
    credentials delivers them.
    """
    candidates: dict[str, Sender | None] = {
        "sms": sms_sender(settings, http_client),
        "telegram": telegram_sender(settings),
    }
    return {channel: sender for channel, sender in candidates.items() if sender is not None}


def sms_sender(settings: Settings, http_client: Any = None) -> Sender | None:
    """Return the Twilio sender, or None (logged) when TWILIO_ACCOUNT_SID, _AUTH_TOKEN or _FROM_NUMBER is unset."""
    missing = [
        name
        for name, value in (
            ("TWILIO_ACCOUNT_SID", settings.twilio_account_sid),
            ("TWILIO_AUTH_TOKEN", settings.twilio_auth_token),
            ("TWILIO_FROM_NUMBER", settings.twilio_from_number),
        )
        if not value
    ]
    if missing:
        log.warning("SMS is not sent: %s not set; outbound SMS stays in the outbox", ", ".join(missing))
        return None
    client = Client(settings.twilio_account_sid, settings.twilio_auth_token, http_client=http_client)
    callback = f"{settings.public_url.rstrip('/')}/sms/twilio/status" if settings.public_url else None
    assert settings.twilio_from_number is not None
    return TwilioSender(client, settings.twilio_from_number, status_callback=callback)
