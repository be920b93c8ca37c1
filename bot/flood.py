"""The flood limit of the channels: a sender who floods is answered once, then not answered for a while.

Every message is still stored: the engine stores it first and only then asks the flood limit whether to
answer. The counts live in the rate-limit storage every worker shares (Redis when LOANLINE_REDIS_URL is set,
otherwise this process's memory), through the `limits` library Flask-Limiter is built on, so two gunicorn
workers, or a webhook and a poller, count one sender once. Addresses are kept there only as keyed hashes.
See docs/sms.md and docs/telegram.md ("Flood limit").
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from typing import cast

from limits import RateLimitItem, RateLimitItemPerMinute, parse
from limits.errors import StorageError
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter, RateLimiter

from servicing.config import Settings

log = logging.getLogger(__name__)
QUIET_FOR = timedelta(minutes=10)  # after the one warning, how long a flooding sender is not answered


class Admission(Enum):
    """What the engine does with a sender's message, beyond storing it."""

    ANSWER = "answer"  # within the limit
    WARN = "warn"  # the message that crossed the limit: one reply saying so, then quiet
    IGNORE = "ignore"  # the sender is in their quiet period: stored, not answered


@dataclass(frozen=True)
class FloodLimit:
    """At most `rate` messages per sender on a channel; past it, one warning, then `quiet` without answers."""

    limiter: RateLimiter
    rate: RateLimitItem
    quiet: RateLimitItem
    prefix: str
    secret: str

    def admit(self, channel: str, address: str) -> Admission:
        """Count one message from `address` on `channel` and say whether to answer it, warn, or stay quiet.

        When the shared storage cannot be reached, the message is answered (logged): the limit is a defence
        against floods, not a reason to leave a borrower unanswered.
        """
        sender = self._sender(channel, address)
        try:
            if not self.limiter.test(self.quiet, self.prefix, "flood-quiet", sender):
                return Admission.IGNORE
            if self.limiter.hit(self.rate, self.prefix, "flood", sender):
                return Admission.ANSWER
            # Only one of the workers that see the crossing message at once wins the quiet period's one hit.
            return (
                Admission.WARN if self.limiter.hit(self.quiet, self.prefix, "flood-quiet", sender) else Admission.IGNORE
            )
        except StorageError as error:
            log.warning("flood limit storage unreachable (%s): answering", type(error.storage_error).__name__)
            return Admission.ANSWER

    @property
    def quiet_minutes(self) -> int:
        """Return how long the quiet period lasts, in whole minutes (at least 1), as the warning tells it."""
        return max(1, self.quiet.get_expiry() // 60)

    def _sender(self, channel: str, address: str) -> str:
        """Return the sender's key: a hash keyed with the instance secret, so the storage holds no phone number."""
        return hmac.new(self.secret.encode(), f"{channel}:{address}".encode(), hashlib.sha256).hexdigest()[:32]


def quiet_period(minutes: int) -> RateLimitItem:
    """Return the quiet period as a limit: one warning per `minutes`."""
    return RateLimitItemPerMinute(1, minutes)


def flood_limit(settings: Settings, *, quiet: RateLimitItem | None = None) -> FloodLimit:
    """Return the flood limit the settings describe, on Redis (LOANLINE_REDIS_URL) or this process's memory."""
    try:
        rate = parse(settings.flood_limit)
    except ValueError as error:
        raise ValueError(f"LOANLINE_FLOOD_LIMIT {settings.flood_limit!r} is not a rate like 20/minute") from error
    storage = (
        cast(Storage, storage_from_string(settings.redis_url, wrap_exceptions=True))
        if settings.redis_url
        else MemoryWithoutTimers()
    )
    return FloodLimit(
        limiter=MovingWindowRateLimiter(storage),
        rate=rate,
        quiet=quiet or quiet_period(int(QUIET_FOR.total_seconds() // 60)),
        prefix=settings.rate_limit_prefix,
        secret=settings.secret_key,
    )


class MemoryWithoutTimers(MemoryStorage):
    """`limits`' memory storage that drops expired counts while counting, at most once a second, in the caller's thread.

    The library's own starts a timer thread 10 ms after a count whenever none is running: under a steady flow of
    webhooks that is a thread started for nearly every message, and a second thread taking the interpreter's lock
    from the request 10 ms later (docs/performance.md, "The webhook towards 800 answers a second"). The counts are
    the same: the moving window compares each entry's time itself, and dropping expired entries only frees memory.

    Counting and sweeping take one lock: a gunicorn worker answers on several threads (gunicorn.conf.py), and the
    library's per-key locks are dropped by its sweep and by `get` while another thread may hold or wait for them,
    after which two threads could count the same sender at once and both pass the limit's last place.
    """

    EXPIRE_EVERY = 1.0  # seconds between sweeps of the expired counts

    def __init__(self) -> None:
        super().__init__(wrap_exceptions=True)
        self._swept_at = time.monotonic()
        self._counting = threading.RLock()  # the sweep runs inside a count, in the same thread

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        """Take `amount` places in the moving window of `key` if there is room (the moving window's count)."""
        with self._counting:
            return super().acquire_entry(key, limit, expiry, amount)

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        """Add to the fixed-window counter of `key` (the other strategies' count)."""
        with self._counting:
            return super().incr(key, expiry, amount)

    def clear(self, key: str) -> None:
        """Forget the counts of `key`."""
        with self._counting:
            super().clear(key)

    def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802 (the library's private name, mangled)
        now = time.monotonic()
        if now - self._swept_at >= self.EXPIRE_EVERY:
            self._swept_at = now
            with self._counting:
                self._MemoryStorage__expire_events()  # type: ignore[attr-defined]
