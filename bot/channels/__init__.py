"""Channel adapters around the conversation engine: SMS (Twilio), Telegram and the simulator; the outbox's senders."""

from __future__ import annotations

import logging
from typing import Any

from bot.channels.simulator import simulator_sender
from servicing.config import Settings
from servicing.outbox import Sender

log = logging.getLogger(__name__)


def configured_senders(settings: Settings, http_client: Any = None) -> dict[str, Sender]:
    """Return the outbox senders this deployment can use; say in the log why a channel is missing.

    Without Twilio credentials no SMS is sent: the outbox keeps the messages until a worker with
    credentials delivers them. The simulator's sender needs nothing and is always there: messages on
    its channel exist only where the simulator was used, and the worker (which reads the environment)
    must deliver them when `loanline run` turns the simulator on through the app's config.
    """
    # Imported here, not at the top: the web app mounts the channel blueprints and never needs aiogram or
    # twilio.rest (175k objects that every full garbage collection would walk); only the worker sends.
    from bot.channels.telegram import telegram_sender  # noqa: PLC0415

    candidates: dict[str, Sender | None] = {
        "sms": sms_sender(settings, http_client),
        "telegram": telegram_sender(settings),
        "simulator": simulator_sender(),
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
    from twilio.rest import Client  # noqa: PLC0415 (see configured_senders)

    from bot.channels.twilio_sender import TwilioSender  # noqa: PLC0415

    client = Client(settings.twilio_account_sid, settings.twilio_auth_token, http_client=http_client)
    if settings.twilio_api_url:  # a stand-in for api.twilio.com (TWILIO_API_URL), as TELEGRAM_API_URL is for Telegram
        client.api.base_url = settings.twilio_api_url.rstrip("/")
    callback = f"{settings.public_url.rstrip('/')}/sms/twilio/status" if settings.public_url else None
    assert settings.twilio_from_number is not None
    return TwilioSender(client, settings.twilio_from_number, status_callback=callback)
