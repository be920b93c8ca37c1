"""The contact policy's rules, pure: may a message go to a borrower now, later, or not at all, and why.

Every message the servicer starts (a notice, a reminder, a collection message) is decided here from facts
the caller gathered: the borrower's candidate time zones, what they revoked on the channel, the flags that
silence messages of a purpose, how many collection messages went out lately, whether a payment arrived today.
The rules, their defaults and their sources are in docs/contact-policy.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from babel.core import get_global
from phonenumbers import timezone as phone_timezones

from servicing.errors import InvalidInput


class Purpose(StrEnum):
    """Why a message is sent: consent is given and revoked per purpose (and channel)."""

    SERVICING = "servicing"  # notices about the account: decisions, confirmations, required notices
    REMINDER = "reminder"  # a payment coming due (informational)
    COLLECTION = "collection"  # a payment late: past-due reminders, outreach, broken promises


ALL_PURPOSES = "all"  # an opt-out of everything on an address (the SMS STOP): not even replies go out


class Kind(StrEnum):
    """What a message is; each kind has one purpose."""

    SERVICING_NOTICE = "servicing_notice"
    PAYMENT_RECEIVED = "payment_received"
    PAYMENT_REMINDER = "payment_reminder"
    PAST_DUE = "past_due"
    EARLY_INTERVENTION = "early_intervention"
    BROKEN_PROMISE = "broken_promise"
    SATISFACTION_SURVEY = "satisfaction_survey"  # the one question after a specialist resolved a conversation


PURPOSE_OF = {
    Kind.SERVICING_NOTICE: Purpose.SERVICING,
    Kind.PAYMENT_RECEIVED: Purpose.SERVICING,
    Kind.PAYMENT_REMINDER: Purpose.REMINDER,
    Kind.PAST_DUE: Purpose.COLLECTION,
    Kind.EARLY_INTERVENTION: Purpose.COLLECTION,
    Kind.BROKEN_PROMISE: Purpose.COLLECTION,
    Kind.SATISFACTION_SURVEY: Purpose.REMINDER,  # informational, like a reminder: its consent and its flags
}


class Flag(StrEnum):
    """What silences messages of some purposes: set by a specialist, or read from the account."""

    DECEASED = "deceased"
    BANKRUPTCY = "bankruptcy"
    CEASE_COMMUNICATION = "cease_communication"
    FORBEARANCE = "forbearance"  # an active forbearance (workouts)
    REPAYMENT_PLAN = "repayment_plan"  # a repayment plan being kept (workouts)
    SPECIALIST_CONVERSATION = "specialist_conversation"  # a conversation queued for or held by a specialist
    PROMISE_OPEN = "promise_open"  # a promise to pay not yet kept or broken


SPECIALIST_FLAGS = (Flag.CEASE_COMMUNICATION, Flag.BANKRUPTCY, Flag.DECEASED)  # the ones a person sets
# What each flag silences. Servicing notices (required notices among them) are never silenced by a flag.
SILENCES: dict[Flag, frozenset[Purpose]] = {
    Flag.DECEASED: frozenset({Purpose.REMINDER, Purpose.COLLECTION}),
    Flag.BANKRUPTCY: frozenset({Purpose.REMINDER, Purpose.COLLECTION}),  # 11 U.S.C. 362(a)(6)
    Flag.CEASE_COMMUNICATION: frozenset({Purpose.REMINDER, Purpose.COLLECTION}),  # Reg F 1006.6(c)
    Flag.FORBEARANCE: frozenset({Purpose.COLLECTION}),
    Flag.REPAYMENT_PLAN: frozenset({Purpose.COLLECTION}),
    Flag.SPECIALIST_CONVERSATION: frozenset({Purpose.COLLECTION}),
    Flag.PROMISE_OPEN: frozenset({Purpose.COLLECTION}),
}


class Status(StrEnum):
    """Where a decision stands: queued (in the outbox, due now), deferred (in the outbox, due later), sent,
    suppressed (never queued, or stopped before sending), failed (the provider gave up)."""

    QUEUED = "queued"
    DEFERRED = "deferred"
    SENT = "sent"
    SUPPRESSED = "suppressed"
    FAILED = "failed"


class Reason(StrEnum):
    """Why a message was deferred or suppressed (the flags' values are reasons too)."""

    QUIET_HOURS = "quiet_hours"
    NO_CHANNEL = "no_channel"
    OPTED_OUT = "opted_out"
    PAYMENT_TODAY = "payment_today"
    FREQUENCY_CAP = "frequency_cap"
    AUTOPAY = "autopay"
    NO_LONGER_DUE = "no_longer_due"
    DELIVERY_FAILED = "delivery_failed"


@dataclass(frozen=True)
class ContactRules:
    """A portfolio's contact rules (Settings.contact_rules): the hours, the cap, the reminders' lead time."""

    contact_from: time = time(8, 0)
    contact_until: time = time(21, 0)
    collection_cap: int = 3
    cap_days: int = 7
    collection_per_day: int = 1  # and no more than this in one of the servicer's days
    reminder_days_before_due: int = 5
    servicer_timezone: str = "America/New_York"

    def __post_init__(self) -> None:
        """Refuse hours that leave no window and caps that mean nothing."""
        if not self.contact_from < self.contact_until:
            raise InvalidInput("contact hours: the window must start before it ends, within one day")
        if min(self.collection_cap, self.collection_per_day, self.reminder_days_before_due) < 0 or self.cap_days < 1:
            raise InvalidInput("contact rules: the cap, its days and the reminder lead time must be positive")


DEFAULT_RULES = ContactRules()


@dataclass(frozen=True)
class Facts:
    """What the policy knows about one message's borrower, loan and channel at the moment of deciding."""

    zones: tuple[str, ...]
    revoked: frozenset[str] = frozenset()  # purposes revoked on the channel's address ("all" for everything)
    flags: frozenset[Flag] = frozenset()
    collection_recent: int = 0  # collection messages queued, deferred or sent in the rolling window
    collection_today: int = 0  # ... of which in the servicer's day
    payment_today: bool = False


@dataclass(frozen=True)
class Verdict:
    """Send now (queued), later (deferred until `send_after`), or not at all (suppressed), and why."""

    status: Status
    reason: str | None = None
    send_after: datetime | None = None

    @property
    def goes_out(self) -> bool:
        """Tell whether the message is queued (now or later)."""
        return self.status in (Status.QUEUED, Status.DEFERRED)


# The order reasons are looked at: the first that applies is the one recorded.
FLAG_ORDER = (
    Flag.DECEASED,
    Flag.BANKRUPTCY,
    Flag.CEASE_COMMUNICATION,
    Flag.FORBEARANCE,
    Flag.REPAYMENT_PLAN,
    Flag.SPECIALIST_CONVERSATION,
    Flag.PROMISE_OPEN,
)


def decide(kind: Kind, facts: Facts, now: datetime, rules: ContactRules = DEFAULT_RULES, *,
           count_cap: bool = True) -> Verdict:  # fmt: skip
    """Decide one message: consent, then the flags of its purpose, then collection limits, then the hours.

    `count_cap` is off when a message already counted (queued earlier) is checked again before it is sent.
    """
    purpose = PURPOSE_OF[kind]
    if ALL_PURPOSES in facts.revoked or purpose.value in facts.revoked:
        return Verdict(Status.SUPPRESSED, Reason.OPTED_OUT.value)
    for flag in FLAG_ORDER:
        if flag in facts.flags and purpose in SILENCES[flag]:
            return Verdict(Status.SUPPRESSED, flag.value)
    if purpose is Purpose.COLLECTION:
        if facts.payment_today:
            return Verdict(Status.SUPPRESSED, Reason.PAYMENT_TODAY.value)
        if count_cap and (
            facts.collection_recent >= rules.collection_cap or facts.collection_today >= rules.collection_per_day
        ):
            return Verdict(Status.SUPPRESSED, Reason.FREQUENCY_CAP.value)
    allowed = next_allowed_moment(facts.zones, now, rules.contact_from, rules.contact_until)
    if allowed > now:
        return Verdict(Status.DEFERRED, Reason.QUIET_HOURS.value, allowed)
    return Verdict(Status.QUEUED)


# -- time zones and hours --------------------------------------------------------------------------------


def next_allowed_moment(zones: Sequence[str], now: datetime, start: time, end: time) -> datetime:
    """Return `now` if it is within [start, end) in every zone, else the earliest later moment that is.

    Where the zones share no hour at all (more than 11 hours apart for 8:00-21:00), the first zone decides.
    """
    return _next_allowed_moment(tuple(zones) or ("UTC",), now, start, end)


@lru_cache(maxsize=4096)
def _next_allowed_moment(zones: tuple[str, ...], now: datetime, start: time, end: time) -> datetime:
    """Compute `next_allowed_moment` once per set of zones and moment (end of day asks it for thousands)."""
    allowed = _earliest_in_all(zones, now, start, end)
    if allowed is None:
        allowed = _earliest_in_all(zones[:1], now, start, end)
    assert allowed is not None  # one zone always has its window within a day
    return allowed


def _earliest_in_all(zones: Sequence[str], now: datetime, start: time, end: time) -> datetime | None:
    """Return the first moment from `now` inside the window in every zone, looking three days ahead.

    The allowed moments are an intersection of daily intervals: its earliest point is `now` or the start of
    one zone's window, so those are the only candidates.
    """
    infos = [ZoneInfo(zone) for zone in zones]
    candidates = {now}
    for info in infos:
        today = now.astimezone(info).date()
        candidates.update(datetime.combine(today + timedelta(days=n), start, tzinfo=info) for n in range(3))
    for moment in sorted(c for c in candidates if c >= now):
        if all(start <= moment.astimezone(info).time() < end for info in infos):
            return moment
    return None


@lru_cache(maxsize=1024)
def is_zone(name: str | None) -> bool:
    """Tell whether a name is an IANA time zone this machine knows."""
    if not name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


_PREFIX_ZONES: dict[tuple[str, int], tuple[str, ...]] = {}
PREFIXES_KEPT = 200_000


def phone_zones(e164: str | None) -> tuple[str, ...]:
    """Return the time zones a phone number's prefix places it in (libphonenumber's geocoding); none if unknown.

    Looked up once per prefix: numbers that differ only in their last 4 digits share their zones (the geocoding
    goes by prefix, and validity by length and leading digits), so end of day checks a few hundred prefixes, not
    100,000 numbers (a lookup with its validity check costs about 0.1 ms).
    """
    if not e164:
        return ()
    key = (e164[:-4], len(e164))
    zones = _PREFIX_ZONES.get(key)
    if zones is None:
        if len(_PREFIX_ZONES) >= PREFIXES_KEPT:
            _PREFIX_ZONES.clear()
        zones = _PREFIX_ZONES[key] = _zones_of_number(e164)
    return zones


def _zones_of_number(e164: str) -> tuple[str, ...]:
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return ()
    if not phonenumbers.is_valid_number(number):
        return ()
    return tuple(zone for zone in phone_timezones.time_zones_for_number(number) if is_zone(zone))


@lru_cache(maxsize=256)
def country_zones(country: str | None) -> tuple[str, ...]:
    """Return every time zone of a country (CLDR), none for an unknown country."""
    zones = get_global("territory_zones").get((country or "").upper(), [])
    return tuple(zone for zone in zones if is_zone(zone))


def candidate_zones(
    zone: str | None, zone_given: bool, phones: Sequence[str | None], country: str | None
) -> tuple[str, ...]:
    """Return the zones a borrower may be in: the zone on file and their phones'; when the zone on file is not
    known (missing, or only the country's main zone), their phones' zones, else every zone of the country.

    A message goes out only at an hour inside the window in every one (Reg F 1006.6(b)(1)(i), comment
    6(b)(1)(i)-2: with conflicting or missing information about where the consumer is, a time convenient in
    every location the information points to).
    """
    from_phones = tuple(z for phone in phones for z in phone_zones(phone))
    if zone_given and is_zone(zone):
        assert zone is not None
        return _unique((zone, *from_phones))
    if from_phones:
        return _unique(from_phones)
    return country_zones(country) or ((zone,) if zone and is_zone(zone) else ("UTC",))


def _unique(zones: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(zones))


def servicer_day(now: datetime, rules: ContactRules) -> date:
    """Return the servicer's date at a moment (a payment received "today" is judged on it)."""
    return now.astimezone(ZoneInfo(rules.servicer_timezone)).date()


def start_of_servicer_day(now: datetime, rules: ContactRules) -> datetime:
    """Return when the servicer's day of a moment began (the daily collection limit counts from it)."""
    zone = ZoneInfo(rules.servicer_timezone)
    return datetime.combine(now.astimezone(zone).date(), time(0, 0), tzinfo=zone)


@dataclass
class CapCounter:
    """Collection messages per borrower in the rolling window and in the day, counting this run's too."""

    counts: dict[int, int] = field(default_factory=dict)
    today: dict[int, int] = field(default_factory=dict)

    def recent(self, borrower_id: int) -> int:
        """Return how many collection messages the borrower got in the window so far."""
        return self.counts.get(borrower_id, 0)

    def of_today(self, borrower_id: int) -> int:
        """Return how many collection messages the borrower got in the servicer's day so far."""
        return self.today.get(borrower_id, 0)

    def add(self, borrower_id: int) -> None:
        """Count one more collection message queued for the borrower."""
        self.counts[borrower_id] = self.counts.get(borrower_id, 0) + 1
        self.today[borrower_id] = self.today.get(borrower_id, 0) + 1
