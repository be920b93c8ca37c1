"""Rendering a document: a Jinja template per kind, worded from the `documents` catalogs, laid out by WeasyPrint.

A template says every sentence in English inside `{{ _("...") }}` (gettext, newstyle: `%(name)s` placeholders),
and shows money, dates and rates through the `money`, `day` and `percent` functions (Babel, in the borrower's
locale). A language whose catalog does not yet translate every sentence of a template is not mixed with English:
the whole document is written in English and says so (`Rendered.fell_back`), and the manifest flags it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from babel import localedata
from babel.messages.extract import extract_from_file
from babel.support import NullTranslations, Translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined, meta, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

from servicing.documents import wording as marking
from servicing.rules.formatting import date_text, money_text, month_text, rate_text
from servicing.speaking import (
    FIRST_STRONG_ISOLATE,
    POP_ISOLATE,
    catalog_locale,
    formatting_locale,
    is_right_to_left,
    isolate,
    text_direction,
    translations,
)

DOMAIN = "documents"
TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class Rendered:
    """A rendered document: its PDF, its page count, and the language it is written in."""

    pdf: bytes
    pages: int
    language: str  # the catalog it was worded from: the borrower's, or "en" when that one fell short
    locale: str  # the locale money and dates were formatted in
    fell_back: bool  # True when the borrower's language lacked this template and English was used


def document_translations(catalog: str) -> NullTranslations:
    """Return the `documents` catalog of a language (servicing.speaking compiles and caches it)."""
    return translations(catalog, DOMAIN)


@cache
def template_messages(name: str) -> frozenset[str]:
    """Return the sentences a template (and the templates it includes or extends) says, as extracted for gettext."""
    found: set[str] = set()
    for path in _template_family(name):
        for _line, message, _comments, _context in extract_from_file(
            "jinja2", str(path), options={"extensions": "jinja2.ext.i18n"}
        ):
            for text in message if isinstance(message, tuple) else (message,):
                if text:
                    found.add(text)
    return frozenset(found)


def _template_family(name: str) -> list[Path]:
    """Return a template and every template it extends or includes (by name, recursively)."""
    seen: list[Path] = []
    pending = [name]
    environment = _environment_for(None)
    while pending:
        current = pending.pop()
        path = TEMPLATES / current
        if path in seen:
            continue
        seen.append(path)
        parsed = environment.parse(path.read_text(encoding="utf-8"))
        pending.extend(ref for ref in meta.find_referenced_templates(parsed) if ref)
    return seen


def writes_in(name: str, catalog: str) -> bool:
    """Tell whether a language's catalog translates every sentence of a template (English always does)."""
    if catalog == "en":
        return True
    translations = document_translations(catalog)
    if isinstance(translations, Translations):
        known = translations._catalog  # type: ignore[attr-defined]  # msgid -> text of the compiled catalog
        return all(known.get(message) for message in template_messages(name))
    return False


@lru_cache(maxsize=32)
def _environment_for(catalog: str | None) -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    translations = document_translations(catalog) if catalog else NullTranslations()
    environment.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
    if catalog and is_right_to_left(catalog):
        environment.globals["gettext"] = _isolating(environment.globals["gettext"])
    return environment


def _isolating(gettext: Any) -> Any:
    """Return a newstyle gettext that sets each value of a sentence apart (Unicode isolates): in an Arabic sentence
    an amount, a date, a phone number, a reference or an address keeps its characters in order."""

    @pass_context
    def isolating_gettext(context: Context, message: str, **variables: Any) -> Any:
        return gettext(context, message, **{name: _isolated(value) for name, value in variables.items()})

    return isolating_gettext


def _isolated(value: Any) -> Any:
    if isinstance(value, Markup):
        return value if value.startswith(FIRST_STRONG_ISOLATE) else Markup(FIRST_STRONG_ISOLATE) + value + POP_ISOLATE
    return isolate(str(value))


def _format_locale(locale: str, catalog: str) -> str:
    return formatting_locale(locale, catalog)


class Renderer:
    """Renders documents to PDF. Make one per process and reuse it: fonts and stylesheets are loaded once."""

    def __init__(self) -> None:
        self._fonts = FontConfiguration()
        self._stylesheet = CSS(filename=str(TEMPLATES / "documents.css"), font_config=self._fonts)

    def html(self, template: str, context: Mapping[str, Any], locale: str) -> tuple[str, str, bool]:
        """Return a template's HTML in a borrower's language, the catalog used, and whether it fell back."""
        catalog = catalog_locale(locale)
        asked = locale.replace("-", "_").split("_")[0]
        fell_back = not writes_in(template, catalog) or (catalog == "en" and asked != "en")
        language = "en" if fell_back else catalog
        format_locale = _format_locale(locale, catalog) if not fell_back else _english_locale(locale)
        environment = _environment_for(language)
        right_to_left = is_right_to_left(language)

        def isolated(value: Any) -> Any:
            """A value set apart from the sentence around it when the document is written right to left."""
            return _isolated(value) if right_to_left else value

        def money(amount: Decimal, currency: str) -> str:
            return str(isolated(money_text(amount, currency, format_locale)))

        def day(value: date, form: str = "long") -> str:
            return str(isolated(date_text(value, format_locale, form)))

        def month(value: date) -> str:
            return str(isolated(month_text(value, format_locale)))

        def percent(rate: Decimal) -> str:
            return str(isolated(rate_text(rate, format_locale)))

        page = environment.get_template(template).render(
            **context,
            money=money,
            day=day,
            month=month,
            percent=percent,
            isolated=isolated,
            direction_of=text_direction,
            lang=language.replace("_", "-"),
            direction="rtl" if right_to_left else "ltr",
        )
        return page, language, fell_back

    def render(self, template: str, context: Mapping[str, Any], locale: str) -> Rendered:
        """Render a template to PDF in a borrower's language."""
        page, language, fell_back = self.html(template, context, locale)
        document = HTML(string=page, base_url=str(TEMPLATES)).render(
            stylesheets=[self._stylesheet], font_config=self._fonts
        )
        pdf = document.write_pdf()
        assert pdf is not None
        format_locale = _format_locale(locale, language) if not fell_back else _english_locale(locale)
        return Rendered(
            pdf=pdf, pages=len(document.pages), language=language, locale=format_locale, fell_back=fell_back
        )


def _english_locale(locale: str) -> str:
    """Return the English locale of a borrower's region (en_IN for hi_IN), or plain en."""
    region = next((part for part in locale.replace("-", "_").split("_")[1:] if part.isupper() or part.isdigit()), None)
    regional = f"en_{region}" if region else "en"  # zh_Hans_US: the region is the last part, not the script
    return regional if localedata.exists(regional) else "en"


wording = marking.wording  # the marker lives in servicing.documents.wording, which imports no layout engine
