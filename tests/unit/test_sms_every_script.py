"""SMS in the newer scripts: Chinese, Vietnamese, Korean and Arabic travel as UCS-2 and page within three segments,
Chinese pages end where a clause does, Filipino stays in GSM-7 wherever the English does, and each language's
MORE word is the one the adapter answers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import cache

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from bot.channels.segments import MAX_SEGMENTS, is_gsm7, pages, segment_count
from bot.channels.sms import MORE_HINT, MORE_WORDS, keyword, more_suffix
from bot.i18n import CATALOGS, Speaker

UCS2_LOCALES = {"zh_CN": "zh_CN", "vi": "vi_VN", "ko": "ko_KR", "ar": "ar_EG"}
MORE = {"zh_CN": "更多", "vi": "THÊM", "ko": "더보기", "fil": "MORE", "ar": "المزيد"}
DISCLOSURE = "Before you choose: 1) Your statements, notices and letters"
CLAUSE_MARKS = "，。：；？！、）"


@cache
def catalog(locale: str) -> Catalog:
    with (CATALOGS / locale / "LC_MESSAGES" / "bot.po").open("rb") as handle:
        return read_po(handle, locale=locale)


def said(locale: str, starts: str, **values: str) -> str:
    [msgid] = [
        message.id for message in catalog(locale) if isinstance(message.id, str) and message.id.startswith(starts)
    ]
    return Speaker(locale).say(msgid, **values)


def the_disclosure(locale: str) -> str:
    """The longest answer the bot gives: the electronic-delivery disclosure, with the servicer's phone."""
    return said(locale, DISCLOSURE, phone="+1 800 555 0100")


@pytest.mark.parametrize("locale", sorted(UCS2_LOCALES))
def test_a_long_answer_in_each_ucs2_script_pages_within_three_segments_and_loses_nothing(locale: str) -> None:
    speaker = Speaker(UCS2_LOCALES[locale])
    text, suffix = the_disclosure(locale), more_suffix(speaker)
    assert not is_gsm7(text) and segment_count(text) > MAX_SEGMENTS
    result = pages(text, suffix)
    assert len(result) >= 2
    assert all(segment_count(page) <= MAX_SEGMENTS for page in result)
    assert all(page.endswith(suffix) for page in result[:-1]) and not result[-1].endswith(suffix)
    joined = "".join(page.removesuffix(suffix) for page in result)
    assert "".join(joined.split()) == "".join(text.split())


def test_a_chinese_page_ends_where_a_clause_ends_not_inside_a_word() -> None:
    text, suffix = the_disclosure("zh_CN"), more_suffix(Speaker("zh_CN"))
    assert " " not in text.replace("+1 800 555 0100", "")  # no spaces to cut at: the clauses decide
    for page in pages(text, suffix)[:-1]:
        assert page.removesuffix(suffix)[-1] in CLAUSE_MARKS, page


def test_ucs2_counts_70_units_a_segment_in_every_new_script() -> None:
    for text in ("您" * 70, "ă" * 70, "한" * 70, "ع" * 70):
        assert (segment_count(text), segment_count(text + text[0])) == (1, 2)


@pytest.mark.parametrize("locale", ["zh_CN", "vi", "ko", "fil", "ar"])
def test_each_languages_more_hint_names_a_word_the_adapter_answers(locale: str) -> None:
    hint = Speaker(locale).say(MORE_HINT)
    assert MORE[locale] in hint
    assert keyword(MORE[locale]) in MORE_WORDS and keyword(f" {MORE[locale].lower()}! ") in MORE_WORDS


def test_filipino_stays_in_gsm7_wherever_the_english_does() -> None:
    english_gsm7 = [m.id for m in catalog("fil") if isinstance(m.id, str) and m.id and is_gsm7(m.id)]
    assert len(english_gsm7) > 150
    assert [msgid for msgid in english_gsm7 if not is_gsm7(str(catalog("fil")[msgid].string))] == []
    text = the_disclosure("fil")
    assert is_gsm7(text) and is_gsm7(more_suffix(Speaker("fil_PH")))
    assert all(segment_count(page) <= MAX_SEGMENTS and is_gsm7(page) for page in pages(text, "\nI-reply ang MORE"))


def test_vietnamese_typed_in_decomposed_form_is_still_the_more_word() -> None:
    decomposed = "the\u0302m"  # ê as e and a combining circumflex, as some keyboards send it
    assert keyword(decomposed) == "thêm" and keyword(decomposed) in MORE_WORDS


@pytest.mark.parametrize("locale", ["ar_EG", "fr_CA", "vi_VN"])
def test_a_page_never_parts_an_amount_from_its_currency(locale: str) -> None:
    speaker = Speaker(locale)
    currency = "EGP" if locale == "ar_EG" else "CAD"
    amounts = [speaker.money(Decimal("9583.33") + n, currency) for n in range(20)]
    text = " ".join(f"{amount} le {n + 1}." for n, amount in enumerate(amounts))
    cut = pages(text, "\n" + speaker.say(MORE_HINT))
    assert len(cut) >= 2 and all(segment_count(page) <= MAX_SEGMENTS for page in cut)
    for amount in amounts:
        assert any(amount in page for page in cut), (amount, cut)


def test_an_arabic_page_never_cuts_a_date_inside_its_isolate() -> None:
    arabic = Speaker("ar_EG")
    # how an Arabic reply carries a date: in a first-strong isolate (the speaker wraps every value in one)
    days = [f"\u2068{arabic.day(date(2026, 3, 1 + n))}\u2069" for n in range(20)]
    cut = pages(" ".join(f"استحق في {day}." for day in days), "\n" + arabic.say(MORE_HINT))
    assert len(cut) >= 2 and all(segment_count(page) <= MAX_SEGMENTS for page in cut)
    for day in days:
        assert any(day in page for page in cut), (day, cut)
