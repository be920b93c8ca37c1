"""Showing money and dates to people: always through Babel, in their locale."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_currency

from servicing.rules.money import to_money


def money_text(amount: Decimal, currency: str, locale: str) -> str:
    """Return an amount formatted for a locale in the loan's currency ("$1,234.50", "1.234,50 €")."""
    return format_currency(to_money(amount, currency), currency, locale=locale)


def date_text(day: date, locale: str, form: str = "long") -> str:
    """Return a date formatted for a locale ("December 1, 2026", "1 de diciembre de 2026")."""
    return format_date(day, format=form, locale=locale)
