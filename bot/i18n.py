"""The bot speaks the borrower's language through the core's catalogs (see servicing/speaking.py)."""

from servicing.speaking import (
    CATALOGS,
    DOMAIN,
    LANGUAGE_IN_TEXT,
    LANGUAGE_NAMES,
    LOCALES,
    Speaker,
    catalog_locale,
    regional_locale,
    say,
    translations,
)

__all__ = [
    "CATALOGS",
    "DOMAIN",
    "LANGUAGE_IN_TEXT",
    "LANGUAGE_NAMES",
    "LOCALES",
    "Speaker",
    "catalog_locale",
    "regional_locale",
    "say",
    "translations",
]
