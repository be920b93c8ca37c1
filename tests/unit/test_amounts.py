"""Amounts in borrowers' words (bot/amounts.py): separators as each locale writes them, numbers that belong to the
date left out, words that multiply, and no amount when the text names two or none."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.amounts import find_amount, read_number

TODAY = date(2026, 3, 20)


@pytest.mark.parametrize(
    ("text", "locale", "amount"),
    [
        ("I can pay 500 on Friday", "en_US", "500"),
        ("i can pay $1,250.50 friday", "en_US", "1250.50"),
        ("pagaré 500 el 15", "es_US", "500"),  # the 15 is the date
        ("le pago 300 el 20 de abril", "es_MX", "300"),
        ("je peux payer 1 250,50 vendredi", "fr_FR", "1250.50"),
        ("je peux payer 1\u202f250,50 € vendredi", "fr_FR", "1250.50"),
        ("ich kann am 27.03. 1.250,50 € zahlen", "de_DE", "1250.50"),
        ("posso pagar R$ 1.500 na sexta", "pt_BR", "1500"),
        ("pago 500,00 na sexta", "pt_BR", "500.00"),
        ("₹1,50,000 शुक्रवार को दे दूंगा", "hi_IN", "150000"),
        ("मैं ५०० रुपये शुक्रवार को दूंगा", "hi_IN", "500"),
        ("Rs.500/- friday ko", "hi_IN", "500"),
        ("2 lakh agle hafte", "hi_IN", "200000"),
        ("Rp 500.000 hari jumat", "id_ID", "500000"),
        ("saya bisa bayar 500 ribu besok", "id_ID", "500000"),
        ("500rb jumat", "id_ID", "500000"),
        ("I can do 2k on friday", "en_US", "2000"),
        ("I can pay 500 on 4/3", "en_US", "500"),
        ("I will pay 300 at 5:30 tomorrow", "en_US", "300"),
        ("I can pay 0 on Friday", "en_US", "0"),
        ("我下周五可以付500元", "zh_Hans_US", "500"),
        ("5万", "zh_CN", "50000"),
        ("12月15号还1.5万块", "zh_CN", "15000"),
        ("thứ 6 tôi trả 500 đô", "vi_VN", "500"),
        ("mai tôi trả 2 triệu", "vi_VN", "2000000"),
        ("500 ngàn", "vi_VN", "500000"),
        ("금요일에 50만원 낼게요", "ko_KR", "500000"),
        ("30만 원", "ko_KR", "300000"),
        ("$1,500 sa biyernes", "fil_PH", "1500"),
        ("5 libo bukas", "fil_PH", "5000"),
        ("هدفع ٥٠٠ جنيه يوم الخميس", "ar_EG", "500"),
        ("٥٠٠٫٥٠ بكرة", "ar_EG", "500.50"),
        ("١٬٥٠٠ ريال", "ar_SA", "1500"),
        ("٥ الاف", "ar_EG", "5000"),
    ],
)
def test_the_amount_a_borrower_names_is_read_in_their_locale_and_apart_from_the_date(
    text: str, locale: str, amount: str
) -> None:
    assert find_amount(text, locale, TODAY) == Decimal(amount)


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("I promise to pay on Friday", "en_US"),  # no amount
        ("200 now and 300 on friday", "en_US"),  # two amounts: the bot asks
        ("1.250", "en_US"),  # three decimals, or a European thousands point: ask
        ("on the 15th", "en_US"),  # the number is the date
        ("12/15", "en_US"),
    ],
)
def test_no_amount_is_read_when_the_text_names_none_or_leaves_a_doubt(text: str, locale: str) -> None:
    assert find_amount(text, locale, TODAY) is None


def test_one_mark_and_three_digits_groups_where_the_locale_groups_with_it() -> None:
    assert read_number("1,250", "en_US") == Decimal(1250)
    assert read_number("1.250", "de_DE") == Decimal(1250)
    assert read_number("1.250", "en_US") is None
    assert read_number("1,250", "de_DE") is None


@given(st.text(max_size=400), st.sampled_from(["en_US", "es_US", "fr_CA", "pt_BR", "de_DE", "it_IT", "hi_IN", "id_ID"]))
def test_any_text_gives_an_amount_or_none_and_never_raises(text: str, locale: str) -> None:
    amount = find_amount(text, locale, TODAY)
    assert amount is None or (isinstance(amount, Decimal) and amount >= 0)
