"""What a search query is, and the folded keys names are matched on: accents, case, scripts, phone formats."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from servicing.rules.searching import (
    borrower_search_key,
    last_four_digits_in,
    masked_query,
    phone_number_in,
    read_query,
    search_key,
)


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("José Müller", "jose muller"),
        ("JOSÉ   MÜLLER", "jose muller"),
        ("François Lefèvre", "francois lefevre"),
        ("Ærøskøbing Straße", "ærøskøbing strasse"),  # letters of their own stay; ß folds to ss
        ("İbrahim Çelik", "ibrahim celik"),
        ("Σωκράτης", "σωκρατησ"),  # Greek: accents off, final sigma folded
        ("Пётр Иванов", "петр иванов"),  # Cyrillic: the diaeresis off
        ("ＡＢＣ　１２３", "abc 123"),  # full-width forms and the ideographic space
        ("王小明", "王小明"),
        ("ｶﾀｶﾅ", "カタカナ"),  # half-width katakana made full-width
        ("مُحَمَّد", "محمد"),  # Arabic vowel marks are optional in writing
        ("गुप्ता", "गुप्ता"),  # Devanagari's vowel signs and virama carry meaning: kept
        ("Nguyễn Văn An", "nguyen van an"),
    ],
)
def test_a_search_key_folds_accents_case_and_width_but_keeps_each_scripts_letters(typed: str, key: str) -> None:
    assert search_key(typed) == key


def test_a_borrowers_key_holds_the_name_both_ways_and_the_email() -> None:
    assert borrower_search_key("小明", "王", None) == "小明 王 王小明"
    assert borrower_search_key("Ana", "Silva", "Ana@Example.com") == "ana silva silvaana ana@example.com"


@given(st.text(max_size=60))
def test_folding_twice_is_folding_once(text: str) -> None:
    assert search_key(search_key(text)) == search_key(text)


@pytest.mark.parametrize(
    "typed",
    ["+1 555 000 1005", "(555) 000-1005", "555.000.1005", "555-000-1005", "1 555 000 1005", "+15550001005",
     "  +1 (555) 000 1005 "],
)  # fmt: skip
def test_a_us_phone_in_any_common_format_reads_as_e164(typed: str) -> None:
    assert phone_number_in(typed, "US") == "+15550001005"


def test_a_phone_without_a_country_code_is_read_in_the_servicers_country() -> None:
    assert phone_number_in("020 7946 0018", "GB") == "+442079460018"
    assert phone_number_in("06 12 34 56 78", "FR") == "+33612345678"
    assert phone_number_in("+33 6 12 34 56 78", "US") == "+33612345678"


@pytest.mark.parametrize("typed", ["1005", "L-1005", "ana silva", "12345", "555-01", "", "+", "2026-03-20x"])
def test_what_is_not_a_phone_is_not_read_as_one(typed: str) -> None:
    assert phone_number_in(typed, "US") is None


def test_four_digits_are_a_last_4_and_nothing_else_is() -> None:
    assert last_four_digits_in("1005") == "1005"
    assert last_four_digits_in("10 05") == "1005"
    assert [last_four_digits_in(t) for t in ("100", "10055", "１００５", "abcd")] == [None, None, None, None]


def test_a_query_is_read_for_each_kind_it_may_be() -> None:
    query = read_query("  L-1005 ", "US")
    assert (query.text, query.identifier, query.phone, query.last4) == ("L-1005", "L-1005", None, None)
    email = read_query("Ana@Example.com", "US")
    assert email.email == "ana@example.com" and email.identifier is None
    assert read_query("x" * 500, "US").text == "x" * 200
    assert read_query("0A\x00 b\x1b", "US").text == "0A b"  # a NUL once broke SQLite's full-text query


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("+1 555 000 1005", "phone …1005"),
        ("1005", "ending …1005"),
        ("ana.silva@example.com", "email a…@example.com"),
        ("José Müller", "Jo… Mü…"),
        ("王小明", "王小…"),
        ("L-1005", "L-1005"),
        ("PR-000012", "PR-000012"),
        ("furnace", "fu…"),
    ],
)
def test_the_audit_keeps_a_query_masked(typed: str, kept: str) -> None:
    assert masked_query(read_query(typed, "US")) == kept
