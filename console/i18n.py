"""The console's own languages (en, es, fr) with Flask-Babel: each specialist's locale, else the browser's.

The catalogs live in console/translations (domain `console`); they are compiled into the instance folder
when the app starts, so a fresh checkout needs no build step and the source tree stays free of .mo files.
"""

from __future__ import annotations

import os
import tempfile
from decimal import Decimal
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, request
from flask_babel import Babel, get_locale
from flask_login import current_user

from servicing.rules.formatting import money_text
from servicing.specialists import CONSOLE_LOCALES

CATALOGS = Path(__file__).resolve().parent / "translations"
DOMAIN = "console"

babel = Babel()


def select_locale() -> str:
    """Return the logged-in specialist's locale, or the best match for the browser on the login page."""
    if current_user.is_authenticated and current_user.locale in CONSOLE_LOCALES:
        return str(current_user.locale)
    return request.accept_languages.best_match(CONSOLE_LOCALES) or "en"


def money(amount: Decimal, currency: str) -> str:
    """Format an amount in its currency for the page's language (the `money` template filter)."""
    return money_text(amount, currency, str(get_locale() or "en"))


def compile_catalogs(target: Path) -> Path:
    """Compile every console .po newer than its .mo into `target`; return `target`."""
    for source in CATALOGS.glob(f"*/LC_MESSAGES/{DOMAIN}.po"):
        compiled = target / source.relative_to(CATALOGS).with_suffix(".mo")
        if compiled.exists() and compiled.stat().st_mtime >= source.stat().st_mtime:
            continue
        compiled.parent.mkdir(parents=True, exist_ok=True)
        with source.open("rb") as handle:
            catalog = read_po(handle, locale=source.parent.parent.name)
        partial = compiled.with_name(f"{compiled.name}.{os.getpid()}")  # workers may start together
        with partial.open("wb") as handle:
            write_mo(handle, catalog)
        partial.replace(compiled)
    return target


def init_app(app: Flask, instance: Path) -> None:
    """Set up Flask-Babel on the app with the console's compiled catalogs."""
    try:
        directory = compile_catalogs(instance / "console-translations")
    except OSError:  # a read-only instance folder: compile where this process may write
        directory = compile_catalogs(Path(tempfile.mkdtemp(prefix="loanline-console-")))
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(directory))
    app.config.setdefault("BABEL_DOMAIN", DOMAIN)
    babel.init_app(app, locale_selector=select_locale)
    app.add_template_filter(money, "money")
