"""Money, dates and rates in the five newer languages, as Babel writes them for each borrower's region.

Arabic uses Latin digits (0-9) everywhere, as Babel does by default for ar, ar_EG and ar_SA: see "Digits in Arabic"
in docs/translations.md.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from servicing.boarding import check_locale
from servicing.errors import InvalidInput
from servicing.rules.formatting import date_text, month_text, rate_text
from servicing.speaking import Speaker

RLM, LRM, NBSP = "\u200f", "\u200e", "\u00a0"
ARABIC_INDIC_DIGITS = re.compile("[\u0660-\u0669\u06f0-\u06f9]")
DUE = date(2026, 3, 30)


@pytest.mark.parametrize(
    ("locale", "amount", "currency", "written"),
    [
        ("zh_CN", "1234567.50", "CNY", "¥1,234,567.50"),
        ("zh_CN", "1234567.50", "USD", "US$1,234,567.50"),
        ("zh_Hans_US", "1250.00", "USD", "US$1,250.00"),
        ("vi_VN", "1234567", "VND", f"1.234.567{NBSP}₫"),
        ("vi_VN", "1234567.50", "USD", f"1.234.567,50{NBSP}US$"),
        ("ko_KR", "1234567", "KRW", "₩1,234,567"),
        ("ko_KR", "1234567.50", "USD", "US$1,234,567.50"),
        ("fil_PH", "1234567.50", "PHP", "₱1,234,567.50"),
        ("fil_PH", "1234567.50", "USD", "$1,234,567.50"),
        ("ar_EG", "1234567.50", "EGP", f"{RLM}1,234,567.50{NBSP}ج.م.{RLM}"),
        ("ar_SA", "1234567.50", "SAR", f"{RLM}1,234,567.50{NBSP}ر.س.{RLM}"),
        ("ar_EG", "1234567.50", "USD", f"{RLM}1,234,567.50{NBSP}US${LRM}"),
        ("ar_SA", "99.05", "USD", f"{RLM}99.05{NBSP}US${LRM}"),
    ],
)
def test_each_currency_is_written_as_the_borrowers_region_writes_it(
    locale: str, amount: str, currency: str, written: str
) -> None:
    assert Speaker(locale).money(Decimal(amount), currency) == written


@pytest.mark.parametrize(
    ("locale", "written"),
    [
        ("zh_CN", "2026年3月30日"),
        ("zh_Hans_US", "2026年3月30日"),
        ("vi_VN", "30 tháng 3, 2026"),
        ("ko_KR", "2026년 3월 30일"),
        ("fil_PH", "Marso 30, 2026"),
        ("ar_EG", "30 مارس 2026"),
        ("ar_SA", "30 مارس 2026"),
    ],
)
def test_a_due_date_reads_naturally_in_each_new_language(locale: str, written: str) -> None:
    assert Speaker(locale).day(DUE) == written


@pytest.mark.parametrize("locale", ["ar", "ar_EG", "ar_SA"])
def test_arabic_amounts_dates_and_rates_use_latin_digits(locale: str) -> None:
    speaker = Speaker(locale)
    money = (speaker.money(Decimal("1234.56"), "EGP"), speaker.money(Decimal("1234.56"), "USD"))
    days = (speaker.day(DUE), month_text(DUE, locale), date_text(DUE, locale, "short"))
    for text in (*money, *days, rate_text(Decimal("0.0725"), locale)):
        assert not ARABIC_INDIC_DIGITS.search(text), text
        assert re.search("[0-9]", text), text


def test_a_latin_currency_sign_keeps_its_place_in_right_to_left_text_only() -> None:
    assert Speaker("ar_EG").money(Decimal("5"), "CAD").endswith(f"CA${LRM}")
    assert LRM not in Speaker("en_US").money(Decimal("5"), "CAD") and LRM not in Speaker("ko_KR").money(
        Decimal("5"), "CAD"
    )


@pytest.mark.parametrize(
    ("locale", "catalog", "written"),
    [("zh_Hans_US", "zh_CN", "zh_Hans"), ("zh_CN", "zh_CN", "zh_Hans_CN"), ("zh_TW", "zh_CN", "zh_Hant_TW"),
     ("ar_EG", "ar", "ar_EG"), ("ar_SA", "ar", "ar_SA"), ("fil_PH", "fil", "fil_PH"), ("tl_PH", "fil", "fil_PH"),
     ("vi_VN", "vi", "vi_VN"), ("ko_KR", "ko", "ko_KR"), ("ko", "ko", "ko")],
)  # fmt: skip
def test_a_borrower_locale_cldr_lacks_is_formatted_in_its_nearest_cldr_locale(
    locale: str, catalog: str, written: str
) -> None:
    speaker = Speaker(locale)
    assert (speaker.catalog, speaker.format_locale) == (catalog, written)


@pytest.mark.parametrize(
    ("on_file", "kept"),
    [("zh_Hans_US", "zh_Hans_US"), ("ko_US", "ko_US"), ("vi_US", "vi_US"), ("ar_US", "ar_US"), ("zh_CN", "zh_Hans_CN"),
     ("tl_PH", "fil_PH"), ("ar_EG", "ar_EG"), ("fil_PH", "fil_PH")],
)  # fmt: skip
def test_a_loan_file_may_name_a_language_with_the_region_its_reader_lives_in(on_file: str, kept: str) -> None:
    assert check_locale(on_file) == kept


@pytest.mark.parametrize("refused", ["xx_US", "zh_Hans_us", "zh_Hans_XX", "ko_Kore_Hang_US", "_US", "US"])
def test_a_made_up_language_or_region_is_still_refused(refused: str) -> None:
    with pytest.raises(InvalidInput):
        check_locale(refused)
