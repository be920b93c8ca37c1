"""The documents' gettext catalogs: every language translates every sentence, placeholders agree, in sync."""

from __future__ import annotations

import re
from functools import cache

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from servicing.speaking import CATALOGS, LOCALES

ROOT = CATALOGS.parent
TRANSLATED = tuple(locale for locale in LOCALES if locale != "en")
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@cache
def template() -> Catalog:
    with (CATALOGS / "documents.pot").open("rb") as handle:
        return read_po(handle)


@cache
def catalog(locale: str) -> Catalog:
    with (CATALOGS / locale / "LC_MESSAGES" / "documents.po").open("rb") as handle:
        return read_po(handle, locale=locale)


def msgids(source: Catalog) -> set[str]:
    return {message.id for message in source if message.id and isinstance(message.id, str)}


def extracted() -> set[str]:
    """Extract the documents' sentences now, as `make documents-catalogs-extract` does."""
    with (ROOT / "servicing" / "documents" / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "wording": None}
    found = extract_from_dir(ROOT, method_map, options_map, keywords=keywords)
    return {message for _file, _line, message, _comments, _context in found if isinstance(message, str)}


def test_the_documents_template_is_in_sync_with_the_templates_and_code() -> None:
    assert msgids(template()) == extracted()


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_language_translates_every_sentence_of_every_document(locale: str) -> None:
    untranslated = [message.id for message in catalog(locale) if message.id and not message.string]
    assert untranslated == []
    assert msgids(catalog(locale)) == msgids(template())


@pytest.mark.parametrize("locale", TRANSLATED)
def test_no_document_translation_is_fuzzy_or_obsolete(locale: str) -> None:
    assert [message.id for message in catalog(locale) if message.id and message.fuzzy] == []
    assert list(catalog(locale).obsolete) == []


@pytest.mark.parametrize("locale", TRANSLATED)
def test_a_document_translation_keeps_the_placeholders_of_its_english(locale: str) -> None:
    disagreeing = [
        message.id
        for message in catalog(locale)
        if message.id and isinstance(message.id, str)
        and set(PLACEHOLDER.findall(message.id)) != set(PLACEHOLDER.findall(str(message.string)))
    ]  # fmt: skip
    assert disagreeing == []


@pytest.mark.parametrize("locale", TRANSLATED)
def test_each_documents_catalog_declares_the_plural_forms_cldr_gives_its_language(locale: str) -> None:
    expected = Catalog(locale=locale)
    assert (catalog(locale).num_plurals, catalog(locale).plural_expr) == (expected.num_plurals, expected.plural_expr)
