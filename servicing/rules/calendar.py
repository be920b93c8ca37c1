"""Business days: weekdays that are not public holidays in a country.

In the US a business day under Reg X and Reg Z excludes "the legal public holidays specified in
5 U.S.C. 6103(a)", on the dates they fall: the statute names no "observed" Friday or Monday when
one falls on a weekend (July 4, 2026 is a Saturday; Friday July 3 is a business day). Elsewhere the
substitute days are public holidays in their own right (a UK bank holiday moved to Monday is one).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from servicing.errors import InvalidInput

# Countries whose business days skip a holiday only on its own date, never an observed substitute.
HOLIDAYS_AS_THEY_FALL = frozenset({"US"})  # 5 U.S.C. 6103(a), as Reg X 1024.2 and Reg Z 1026.2(a)(6) read it


@lru_cache(maxsize=32)
def _holidays(country: str) -> holidays.HolidayBase:
    try:
        return holidays.country_holidays(country, observed=country not in HOLIDAYS_AS_THEY_FALL)
    except NotImplementedError as error:
        raise InvalidInput(f"no holiday calendar for country {country!r}") from error


def is_business_day(day: date, country: str) -> bool:
    """Tell whether a date is a business day in the country."""
    return day.weekday() < 5 and day not in _holidays(country)


def add_business_days(start: date, count: int, country: str) -> date:
    """Return the date `count` business days after `start` (start itself not counted)."""
    day = start
    remaining = count
    while remaining > 0:
        day += timedelta(days=1)
        if is_business_day(day, country):
            remaining -= 1
    return day


def business_days_between(start: date, end: date, country: str) -> list[date]:
    """Return the business days after `start` up to and including `end`."""
    days: list[date] = []
    day = start + timedelta(days=1)
    while day <= end:
        if is_business_day(day, country):
            days.append(day)
        day += timedelta(days=1)
    return days


def next_opening(now: datetime, hours: str, timezone: str, country: str) -> datetime | None:
    """Return when the servicer next opens (its calendar, hours and zone), or None when it is open now."""
    opens_text, closes_text = hours.split("-")
    opens, closes = time.fromisoformat(opens_text.strip()), time.fromisoformat(closes_text.strip())
    local = now.astimezone(ZoneInfo(timezone))
    day = local.date()
    if is_business_day(day, country) and opens <= local.time() < closes:
        return None
    if not (is_business_day(day, country) and local.time() < opens):
        day = add_business_days(day, 1, country)
    return datetime.combine(day, opens, tzinfo=ZoneInfo(timezone))
