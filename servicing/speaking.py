"""Speaking the borrower's language: gettext catalogs compiled with Babel, money and dates formatted by Babel.

In the core so that every part that writes to a borrower (the bot, the console's canned replies and decision
notices, the end-of-day reminders) speaks from the same catalogs (`locales/<locale>/LC_MESSAGES/bot.po`).
"""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from servicing.rules.formatting import date_text, money_text

LOCALES = ("en", "es", "fr", "pt_BR", "de", "it", "hi", "id")
DOMAIN = "bot"
CATALOGS = Path(__file__).resolve().parent.parent / "locales"
LANGUAGE_NAMES = {
    "en": "English", "es": "Español", "fr": "Français", "pt_BR": "Português",
    "de": "Deutsch", "it": "Italiano", "hi": "हिन्दी", "id": "Bahasa Indonesia",
}  # fmt: skip


def catalog_locale(locale: str) -> str:
    """Return the catalog a locale speaks from: regional variants fall back to their language (es_US -> es)."""
    if locale in LOCALES:
        return locale
    language = locale.replace("-", "_").split("_")[0]
    if language == "pt":
        return "pt_BR"
    return language if language in LOCALES else "en"


@lru_cache(maxsize=16)
def translations(catalog: str) -> NullTranslations:
    """Return the compiled catalog of a locale; a .po not yet compiled is compiled in memory."""
    folder = CATALOGS / catalog / "LC_MESSAGES"
    compiled, source = folder / f"{DOMAIN}.mo", folder / f"{DOMAIN}.po"
    if compiled.exists() and (not source.exists() or compiled.stat().st_mtime >= source.stat().st_mtime):
        with compiled.open("rb") as handle:
            return Translations(handle, domain=DOMAIN)
    if source.exists():
        with source.open("rb") as handle:
            catalog_data = read_po(handle, locale=catalog)
        buffer = io.BytesIO()
        write_mo(buffer, catalog_data)
        buffer.seek(0)
        return Translations(buffer, domain=DOMAIN)
    return NullTranslations()


def say(message: str) -> str:
    """Mark a message for extraction without translating it (pybabel's keyword)."""
    return message


class Speaker:
    """Says things in one borrower's language: translated text, their money and dates."""

    def __init__(self, locale: str) -> None:
        self.locale = locale if locale else "en"
        self.catalog = catalog_locale(self.locale)
        self.format_locale = self.locale if "_" in self.locale else self.catalog

    def say(self, message: str, **values: Any) -> str:
        """Return a message in the borrower's language with its placeholders filled."""
        return translations(self.catalog).gettext(message).format(**values)

    def money(self, amount: Decimal, currency: str) -> str:
        """Return an amount in the loan's currency, formatted for the borrower."""
        return money_text(amount, currency, self.format_locale)

    def day(self, day: date) -> str:
        """Return a date formatted for the borrower."""
        return date_text(day, self.format_locale)
