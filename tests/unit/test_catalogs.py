"""The bot's gettext catalogs: complete, faithful to the English placeholders, in sync with the code, and spoken."""

from __future__ import annotations

import ast
import re
import string
from functools import cache

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from bot import nlu
from bot.i18n import CATALOGS, LOCALES, Speaker, catalog_locale
from bot.words import is_no, is_yes, wants_out
from servicing.speaking import is_right_to_left, isolate, text_direction

ROOT = CATALOGS.parent
TRANSLATED = tuple(locale for locale in LOCALES if locale != "en")
KEYWORDS = {**DEFAULT_KEYWORDS, "say": None, "ask": None}  # as the Makefile's `pybabel extract -k say -k ask`
# Borrowers' locales on file and the catalog each one speaks from.
REGIONAL = {
    "en_US": "en", "en_GB": "en", "en_IN": "en", "es_US": "es", "es": "es", "fr_CA": "fr", "fr": "fr",
    "pt_BR": "pt_BR", "pt": "pt_BR", "de_DE": "de", "it_IT": "it", "hi_IN": "hi", "id_ID": "id",
    "zh_CN": "zh_CN", "zh_Hans_US": "zh_CN", "zh_TW": "zh_CN", "vi_VN": "vi", "ko_KR": "ko", "fil_PH": "fil",
    "tl_PH": "fil", "ar_EG": "ar", "ar_SA": "ar", "ar": "ar",
}  # fmt: skip
# The words each translation tells the borrower to reply with, in place of the English YES, NO, AGENT and MENU.
REPLY_WORDS = {
    "es": {"YES": "SÍ", "NO": "NO", "AGENT": "AGENTE", "MENU": "MENÚ"},
    "fr": {"YES": "OUI", "NO": "NON", "AGENT": "CONSEILLER", "MENU": "MENU"},
    "pt_BR": {"YES": "SIM", "NO": "NÃO", "AGENT": "ATENDENTE", "MENU": "AJUDA"},
    "de": {"YES": "JA", "NO": "NEIN", "AGENT": "BERATER", "MENU": "MENÜ"},
    "it": {"YES": "SÌ", "NO": "NO", "AGENT": "OPERATORE", "MENU": "AIUTO"},
    "hi": {"YES": "हाँ", "NO": "नहीं", "AGENT": "AGENT", "MENU": "MENU"},
    "id": {"YES": "YA", "NO": "TIDAK", "AGENT": "AGEN", "MENU": "MENU"},
    "zh_CN": {"YES": "是", "NO": "否", "AGENT": "人工", "MENU": "菜单"},
    "vi": {"YES": "CÓ", "NO": "KHÔNG", "AGENT": "NHÂN VIÊN", "MENU": "TRỢ GIÚP"},
    "ko": {"YES": "예", "NO": "아니요", "AGENT": "상담원", "MENU": "메뉴"},
    "fil": {"YES": "OO", "NO": "HINDI", "AGENT": "AGENT", "MENU": "TULONG"},
    "ar": {"YES": "نعم", "NO": "لا", "AGENT": "موظف", "MENU": "القائمة"},
}


@cache
def template() -> Catalog:
    with (CATALOGS / "bot.pot").open("rb") as handle:
        return read_po(handle)


@cache
def catalog(locale: str) -> Catalog:
    with (CATALOGS / locale / "LC_MESSAGES" / "bot.po").open("rb") as handle:
        return read_po(handle, locale=locale)


def msgids(source: Catalog) -> set[str]:
    return {message.id for message in source if message.id and isinstance(message.id, str)}


def placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def sample_values(msgid: str) -> dict[str, str]:
    return {name: f"<{name}>" for name in placeholders(msgid)}


def translation(locale: str, msgid: str) -> str:
    message = catalog(locale).get(msgid)
    assert message is not None, f"{locale}: {msgid!r} is missing"
    return str(message.string)


def extracted_msgids() -> set[str]:
    """Extract the bot's messages from the code now, as `make catalogs-extract` does."""
    with (ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found = extract_from_dir(ROOT, method_map, options_map, keywords=KEYWORDS)
    return {message for _filename, _lineno, message, _comments, _context in found if isinstance(message, str)}


def test_the_template_has_messages_and_every_language_has_a_catalog() -> None:
    assert len(msgids(template())) > 40
    assert set(TRANSLATED) == {"es", "fr", "pt_BR", "de", "it", "hi", "id", "zh_CN", "vi", "ko", "fil", "ar"}
    for locale in TRANSLATED:
        assert (CATALOGS / locale / "LC_MESSAGES" / "bot.po").exists()


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_message_is_translated_and_none_is_fuzzy(locale: str) -> None:
    untranslated = []
    for msgid in sorted(msgids(template())):
        message = catalog(locale).get(msgid)
        if message is None or not str(message.string).strip() or message.fuzzy:
            untranslated.append(msgid)
    assert untranslated == [], f"{locale}: translate these (and clear #, fuzzy)"


@pytest.mark.parametrize("locale", TRANSLATED)
def test_each_catalog_declares_its_languages_plural_forms_as_cldr_counts_them(locale: str) -> None:
    expected = Catalog(locale=locale)
    assert (catalog(locale).num_plurals, catalog(locale).plural_expr) == (expected.num_plurals, expected.plural_expr)
    assert {"zh_CN": 1, "vi": 1, "ko": 1, "fil": 2, "ar": 6}.get(locale, catalog(locale).num_plurals) == (
        catalog(locale).num_plurals
    )


@pytest.mark.parametrize("locale", TRANSLATED)
def test_a_catalog_holds_exactly_the_template_messages_and_nothing_obsolete(locale: str) -> None:
    assert msgids(catalog(locale)) == msgids(template())
    assert not catalog(locale).obsolete, f"{locale}: drop the obsolete (#~) entries"


@pytest.mark.parametrize("locale", TRANSLATED)
def test_translations_keep_exactly_the_placeholders_of_the_english(locale: str) -> None:
    mismatched = {
        msgid: translation(locale, msgid)
        for msgid in msgids(template())
        if placeholders(translation(locale, msgid)) != placeholders(msgid)
    }
    assert mismatched == {}


@pytest.mark.parametrize("locale", TRANSLATED)
def test_translations_keep_the_line_breaks_of_lists_and_menus(locale: str) -> None:
    assert {
        msgid for msgid in msgids(template()) if translation(locale, msgid).count("\n") != msgid.count("\n")
    } == set()


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_translation_formats_with_sample_values(locale: str) -> None:
    for msgid in msgids(template()):
        filled = translation(locale, msgid).format(**sample_values(msgid))
        assert "{" not in filled and "}" not in filled, (locale, msgid)


@pytest.mark.parametrize("locale", TRANSLATED)
def test_the_numbered_menu_keeps_its_numbers_in_order(locale: str) -> None:
    [menu] = [msgid for msgid in msgids(template()) if msgid.startswith("I can help with:")]
    numbers = [line.split(" ", 1)[0] for line in translation(locale, menu).splitlines() if line[:1].isdigit()]
    assert numbers == [str(n) for n in range(1, 10)]


def test_the_catalogs_are_in_sync_with_a_fresh_extraction_of_the_code() -> None:
    fresh = extracted_msgids()
    assert fresh - msgids(template()) == set(), "new messages in the code: run `make catalogs-update` and translate"
    assert msgids(template()) - fresh == set(), "messages no longer in the code: run `make catalogs-update`"


def _hidden_literals(argument: ast.expr, top: bool = True) -> list[str]:
    """Return why a say()/ask() message argument hides text from pybabel (empty when it does not)."""
    if isinstance(argument, ast.Constant):
        return [] if top else ["a literal inside a choice is glued to its neighbours: wrap it in say()"]
    if isinstance(argument, ast.IfExp):
        return _hidden_literals(argument.body, top=False) + _hidden_literals(argument.orelse, top=False)
    if isinstance(argument, ast.JoinedStr | ast.BinOp):
        return ["an f-string or a concatenation is not one message"]
    return []  # a name or a lookup: a message marked with say() where it is defined


def _say_calls(tree: ast.AST) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and node.args
        and (getattr(node.func, "id", None) in {"say", "ask"} or getattr(node.func, "attr", None) in {"say", "ask"})
    ]


def test_every_message_the_bot_says_is_a_literal_the_extractor_can_see() -> None:
    problems = [
        f"{path.relative_to(ROOT)}:{call.lineno}: {reason}"
        for path in sorted((ROOT / "bot").rglob("*.py"))
        for call in _say_calls(ast.parse(path.read_text(encoding="utf-8")))
        for reason in _hidden_literals(call.args[0])
    ]
    assert problems == []


@pytest.mark.parametrize(("locale", "language"), sorted(REGIONAL.items()))
def test_a_borrower_locale_speaks_from_its_language_catalog(locale: str, language: str) -> None:
    assert catalog_locale(locale) == language
    assert Speaker(locale).catalog == language


@pytest.mark.parametrize("locale", sorted(REGIONAL))
def test_a_speaker_says_each_message_in_the_borrowers_language(locale: str) -> None:
    speaker, language = Speaker(locale), REGIONAL[locale]
    for msgid in msgids(template()):
        values = sample_values(msgid)
        expected = msgid if language == "en" else translation(language, msgid)
        shown = {name: isolate(value) for name, value in values.items()} if is_right_to_left(language) else values
        assert speaker.say(msgid, **values) == expected.format(**shown), (locale, msgid)


def test_an_arabic_message_isolates_each_value_so_numbers_and_references_keep_their_order() -> None:
    said = Speaker("ar_EG").say("Done: {amount} will be taken on {date}. Reference {reference}.",
                                amount="$1,234.50", date="30 مارس 2026", reference="PAY-000123")  # fmt: skip
    assert "\u2068$1,234.50\u2069" in said and "\u2068PAY-000123\u2069" in said and "\u206830 مارس 2026\u2069" in said
    assert text_direction(said) == "rtl"
    lines = Speaker("ar").say("Your last payments:\n{lines}", lines="1 x\n2 y")
    assert lines.endswith("\n1 x\n2 y"), "a list of lines is not isolated: each line is a paragraph"
    spanish = Speaker("es_US").say("Done: {amount} will be taken on {date}. Reference {reference}.",
                                   amount="$1.00", date="1 de abril", reference="PAY-1")  # fmt: skip
    assert "PAY-1" in spanish and "\u2068" not in spanish, "left-to-right languages need no isolates"


@pytest.mark.parametrize(
    ("text", "direction"),
    [("تم: سيُخصم 100 في 30 مارس", "rtl"), ("Loanline Demo: نذكّركم بأن دفعة قرضكم تستحق. STOP", "rtl"),
     ("Your payment is due", "ltr"), ("您的还款已到期", "ltr"), ("1234", "ltr"), ("", "ltr")],
)  # fmt: skip
def test_a_text_reads_right_to_left_when_most_of_its_letters_do(text: str, direction: str) -> None:
    assert text_direction(text) == direction


@pytest.mark.parametrize("locale", TRANSLATED)
def test_translated_replies_differ_from_the_english(locale: str) -> None:
    """Guard against English pasted as a 'translation' (short lines such as "{date}: {amount}" may match)."""
    same = {msgid for msgid in msgids(template()) if translation(locale, msgid) == msgid and len(msgid) > 20}
    assert same == set()


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_reply_instruction_names_the_words_of_the_borrowers_language(locale: str) -> None:
    for msgid in msgids(template()):
        for keyword, word in REPLY_WORDS[locale].items():
            if re.search(rf"\b{keyword}\b", msgid):
                assert word in translation(locale, msgid), (locale, keyword, msgid)


@pytest.mark.parametrize("locale", TRANSLATED)
def test_the_words_a_translation_names_are_the_words_the_bot_accepts(locale: str) -> None:
    words = REPLY_WORDS[locale]
    assert is_yes(words["YES"]) and is_yes(words["YES"].lower()) and not is_no(words["YES"])
    assert is_no(words["NO"]) and is_no(words["NO"].lower()) and not is_yes(words["NO"])
    for keyword, intent in (("AGENT", "agent"), ("MENU", "help")):
        understood = nlu.classify(words[keyword], locale=locale)
        assert (understood.intent, catalog_locale(understood.locale)) == (intent, locale), words[keyword]
        assert wants_out(words[keyword]), f"{words[keyword]} must also leave a question the bot is waiting on"
