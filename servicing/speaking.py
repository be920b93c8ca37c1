"""Speaking the borrower's language: gettext catalogs compiled with Babel, money and dates formatted by Babel.

In the core so that every part that writes to a borrower (the bot, the console's canned replies and decision
notices, the end-of-day reminders) speaks from the same catalogs (`locales/<locale>/LC_MESSAGES/bot.po`).
"""

from __future__ import annotations

import io
import unicodedata
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError, localedata
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from servicing.rules.formatting import date_text, money_text

LOCALES = ("en", "es", "fr", "pt_BR", "de", "it", "hi", "id", "zh_CN", "vi", "ko", "fil", "ar")
DOMAIN = "bot"
CATALOGS = Path(__file__).resolve().parent.parent / "locales"
# Each language's name for itself inside a sentence of that language: CLDR's (Babel's
# `Locale.get_language_name`), lower case in Spanish, French, Portuguese and Italian, except that an
# Indonesian sentence says "bahasa Indonesia" where CLDR has "Indonesia".
LANGUAGE_IN_TEXT = {
    "en": "English", "es": "español", "fr": "français", "pt_BR": "português",
    "de": "Deutsch", "it": "italiano", "hi": "हिन्दी", "id": "bahasa Indonesia",
    "zh_CN": "中文", "vi": "Tiếng Việt", "ko": "한국어", "fil": "Filipino", "ar": "العربية",
}  # fmt: skip
# Languages whose catalog is a regional one: any Chinese locale (zh_Hans_US, zh_TW, zh_Hant_US) reads the
# Simplified Chinese catalog, the one written; Portuguese reads Brazilian Portuguese.
REGIONAL_CATALOGS = {"pt": "pt_BR", "zh": "zh_CN"}
# Languages written right to left (of the catalogs: Arabic). Their messages isolate each value they carry.
RIGHT_TO_LEFT = frozenset({"ar", "he", "fa", "ur"})
# Unicode isolates (UAX #9): FIRST STRONG ISOLATE ... POP DIRECTIONAL ISOLATE. Around a phone number, an amount, a
# loan number or a reference inside an Arabic sentence they keep its characters in their own order ("+1 800 555
# 0100" would otherwise show its groups right to left), and cost nothing visible.
FIRST_STRONG_ISOLATE, POP_ISOLATE = "\u2068", "\u2069"
# Filipino borrowers' locale may say Tagalog (tl, tl_PH): CLDR and the catalogs call it Filipino (fil).
LANGUAGE_ALIASES = {"tl": "fil"}
# The same names where they begin a line (the language menu, the console's labels): capitalised.
LANGUAGE_NAMES = {code: name[:1].upper() + name[1:] for code, name in LANGUAGE_IN_TEXT.items()}


def catalog_locale(locale: str) -> str:
    """Return the catalog a locale speaks from: regional variants fall back to their language (es_US -> es)."""
    if locale in LOCALES:
        return locale
    language = locale.replace("-", "_").split("_")[0]
    language = LANGUAGE_ALIASES.get(language, language)
    if language in REGIONAL_CATALOGS:
        return REGIONAL_CATALOGS[language]
    return language if language in LOCALES else "en"


def is_right_to_left(locale: str) -> bool:
    """Tell whether a locale's language is written right to left (ar, ar_EG, ar_SA)."""
    return locale.replace("-", "_").split("_")[0] in RIGHT_TO_LEFT


def isolate(value: str) -> str:
    """Return a value set apart from the text around it (Unicode isolates); a value of several lines (a list)
    is left as it is, since each line is a paragraph of its own."""
    if "\n" in value or value.startswith(FIRST_STRONG_ISOLATE):
        return value
    return f"{FIRST_STRONG_ISOLATE}{value}{POP_ISOLATE}"


def text_direction(text: str) -> str:
    """Return "rtl" when most of a text's letters are written right to left (Arabic, Hebrew), else "ltr".

    Most letters, not the first one: an Arabic reminder begins with the servicer's Latin name and carries the
    Latin STOP, and is still an Arabic sentence.
    """
    right = left = 0
    for character in text:
        kind = unicodedata.bidirectional(character)
        if kind in ("R", "AL"):
            right += 1
        elif kind == "L":
            left += 1
    return "rtl" if right > left else "ltr"


def formatting_locale(locale: str, catalog: str) -> str:
    """Return the CLDR locale a borrower's money and dates are written in: their own regional locale when CLDR
    has it (es_US, ar_EG), else its language and script (zh_Hans_US -> zh_Hans), else the catalog's language."""
    parts = locale.replace("-", "_").split("_")
    parts[0] = LANGUAGE_ALIASES.get(parts[0], parts[0])
    if len(parts) == 1:
        return catalog
    for size in range(len(parts), 0, -1):
        try:
            return str(Locale.parse("_".join(parts[:size])))  # CLDR's aliases too: zh_CN is zh_Hans_CN
        except (UnknownLocaleError, ValueError):
            continue
    return catalog


def regional_locale(catalog: str, current: str, country: str) -> str:
    """Return the locale a borrower switching to a catalog's language reads money and dates in.

    The region stays the borrower's: that of the locale they had (en_US -> es_US, not Spain's es), else
    the servicer's country. Where CLDR has no such locale (de_US, hi_US) the catalog's own is used.
    """
    language = catalog_locale(catalog).split("_")[0]
    parts = current.replace("-", "_").split("_")
    region = (parts[1] if len(parts) > 1 and parts[1] else country).upper()
    regional = f"{language}_{region}"
    return regional if localedata.exists(regional) else catalog_locale(catalog)


@lru_cache(maxsize=48)
def translations(catalog: str, domain: str = DOMAIN) -> NullTranslations:
    """Return the compiled catalog of a locale (the bot's, or another domain's such as `documents`); a .po not
    yet compiled is compiled in memory."""
    folder = CATALOGS / catalog / "LC_MESSAGES"
    compiled, source = folder / f"{domain}.mo", folder / f"{domain}.po"
    if compiled.exists() and (not source.exists() or compiled.stat().st_mtime >= source.stat().st_mtime):
        with compiled.open("rb") as handle:
            return Translations(handle, domain=domain)
    if source.exists():
        with source.open("rb") as handle:
            catalog_data = read_po(handle, locale=catalog)
        buffer = io.BytesIO()
        write_mo(buffer, catalog_data)
        buffer.seek(0)
        return Translations(buffer, domain=domain)
    return NullTranslations()


def say(message: str) -> str:
    """Mark a message for extraction without translating it (pybabel's keyword)."""
    return message


class Speaker:
    """Says things in one borrower's language: translated text, their money and dates."""

    def __init__(self, locale: str) -> None:
        self.locale = locale if locale else "en"
        self.catalog = catalog_locale(self.locale)
        self.format_locale = formatting_locale(self.locale, self.catalog)

    def say(self, message: str, **values: Any) -> str:
        """Return a message in the borrower's language with its placeholders filled (each value isolated in a
        right-to-left language, so numbers and references read in order)."""
        if is_right_to_left(self.catalog):
            values = {name: isolate(str(value)) for name, value in values.items()}
        return translations(self.catalog).gettext(message).format(**values)

    def money(self, amount: Decimal, currency: str) -> str:
        """Return an amount in the loan's currency, formatted for the borrower."""
        return money_text(amount, currency, self.format_locale)

    def day(self, day: date) -> str:
        """Return a date formatted for the borrower."""
        return date_text(day, self.format_locale)
