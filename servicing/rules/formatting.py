"""Showing money and dates to people: always through Babel, in their locale."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from functools import lru_cache

from babel import Locale
from babel.dates import format_date, format_skeleton
from babel.numbers import format_currency, format_percent

from servicing.rules.money import to_money

# A currency symbol of Latin letters and a sign (US$, CA$, R$, CN¥). In right-to-left text the sign after the
# letters would be drawn before them ("$US"); a LEFT-TO-RIGHT MARK after it keeps "US$" as written.
LATIN_SYMBOL = re.compile(r"([A-Z]+[^\w\s\u200e\u200f]+)")
LEFT_TO_RIGHT_MARK = "\u200e"


def money_text(amount: Decimal, currency: str, locale: str) -> str:
    """Return an amount formatted for a locale in the loan's currency ("$1,234.50", "1.234,50 €", Arabic
    "1,234.50 US$" with its Latin digits: CLDR's default numbering for ar, ar_EG and ar_SA alike in Babel)."""
    text = format_currency(to_money(amount, currency), currency, locale=locale)
    return LATIN_SYMBOL.sub(rf"\1{LEFT_TO_RIGHT_MARK}", text) if _right_to_left(locale) else text


@lru_cache(maxsize=64)
def _right_to_left(locale: str) -> bool:
    return Locale.parse(locale).character_order == "right-to-left"


def date_text(day: date, locale: str, form: str = "long") -> str:
    """Return a date formatted for a locale ("December 1, 2026", "1 de diciembre de 2026")."""
    return format_date(day, format=form, locale=locale)


def month_text(day: date, locale: str) -> str:
    """Return the month and year of a date for a locale ("January 2028", "enero de 2028")."""
    return format_skeleton("yMMMM", day, locale=locale)


def rate_text(rate: Decimal, locale: str) -> str:
    """Return an interest rate (0.065) as a percentage for a locale ("6.5%", "6,5 %"), every decimal it has."""
    return format_percent(rate.normalize(), locale=locale, decimal_quantization=False)
