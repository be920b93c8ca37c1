"""Dates in borrowers' words: every language, alone or inside a question, dates ahead and dates of birth."""

from __future__ import annotations

from datetime import date

import pytest
from babel import Locale
from babel.dates import get_day_names, get_month_names
from hypothesis import given
from hypothesis import strategies as st

from bot.dates import (
    find_day,
    fold,
    names_a_full_date,
    names_part_of_a_date,
    parse_birth_date,
    read_day,
    vocabulary,
)
from servicing.rules.calendar import is_business_day
from servicing.scheduled import posting_day
from servicing.speaking import LANGUAGE_IN_TEXT, LANGUAGE_NAMES, LOCALES, regional_locale

TODAY = date(2026, 3, 20)  # a Friday
FRIDAY, SATURDAY, TOMORROW = date(2026, 3, 27), date(2026, 3, 21), date(2026, 3, 21)
DECEMBER_20 = date(2026, 12, 20)


# -- dates of birth (item 9) ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "locale", "born"),
    [("08/14/72", "en_US", date(1972, 8, 14)), ("14/08/72", "es_US", date(1972, 8, 14)),
     ("14.08.72", "de_DE", date(1972, 8, 14)), ("03/02/05", "en_US", date(2005, 3, 2)),
     ("05/04/26", "en_US", date(1926, 5, 4)), ("081472", "en_US", date(1972, 8, 14)),
     ("14081972", "it_IT", date(1972, 8, 14)), ("1972-08-14", "fr_CA", date(1972, 8, 14)),
     ("my birthday is 8/14/1972", "en_US", date(1972, 8, 14)), ("14/08/1972", "en_US", date(1972, 8, 14))],
)  # fmt: skip
def test_a_two_digit_birth_year_is_the_latest_that_puts_the_birth_in_the_past(
    text: str, locale: str, born: date
) -> None:
    assert parse_birth_date(text, locale, TODAY) == born


@pytest.mark.parametrize(
    ("text", "locale"),
    [("August 14, 1972", "en_US"), ("14 de agosto de 1972", "es_US"), ("14 août 1972", "fr_CA"),
     ("14 de agosto de 1972", "pt_BR"), ("14. August 1972", "de_DE"), ("14 agosto 1972", "it_IT"),
     ("14 अगस्त 1972", "hi_IN"), ("14 Agustus 1972", "id_ID"), ("१४/०८/१९७२", "hi_IN")],
)  # fmt: skip
def test_a_birth_date_with_a_month_name_is_read_in_every_language(text: str, locale: str) -> None:
    assert parse_birth_date(text, locale, TODAY) == date(1972, 8, 14)


@pytest.mark.parametrize(
    ("text", "locale"),
    [("1980年5月4日", "zh_Hans_US"), ("1980/5/4", "zh_CN"), ("1980년 5월 4일", "ko_KR"), ("1980.05.04", "ko_KR"),
     ("04/05/1980", "vi_VN"), ("05/04/1980", "fil_US"), ("4/5/1980", "ar_EG"), ("٤/٥/١٩٨٠", "ar_EG"),
     ("4 مايو 1980", "ar_SA")],
)  # fmt: skip
def test_a_birth_date_is_read_year_first_and_in_the_digits_of_the_five_new_languages(text: str, locale: str) -> None:
    assert parse_birth_date(text, locale, TODAY) == date(1980, 5, 4)
    assert names_a_full_date(text)


def test_a_birth_date_in_the_future_is_no_birth_date() -> None:
    assert parse_birth_date("08/14/2072", "en_US", TODAY) is None
    assert names_a_full_date("08/14/2072")  # still a whole answer: it counts, and it cannot match


@pytest.mark.parametrize("text", ["1972", "08/14", "14/08", "August 14", "14 de agosto", "August 1972", "14. August"])
def test_a_year_alone_or_a_day_and_month_alone_is_part_of_a_date_not_an_answer(text: str) -> None:
    assert parse_birth_date(text, "en_US", TODAY) is None
    assert names_part_of_a_date(text) and not names_a_full_date(text)


@pytest.mark.parametrize("text", ["thanks", "menu", "1234", "what?"])
def test_words_and_other_numbers_are_no_date_at_all(text: str) -> None:
    assert not names_part_of_a_date(text) and not names_a_full_date(text)


# -- dates ahead, in every language (item 17) -------------------------------------------------------------------------

MONTH_NAMES = [
    ("December 20", "en_US"), ("Dec 20", "en_US"), ("the 20th of December", "en_US"), ("20 de diciembre", "es_US"),
    ("20 décembre", "fr_CA"), ("20 déc.", "fr_CA"), ("20 de dezembro", "pt_BR"), ("20. Dezember", "de_DE"),
    ("20 dicembre", "it_IT"), ("20 दिसंबर", "hi_IN"), ("20 दिसम्बर", "hi_IN"), ("20 Desember", "id_ID"),
    ("12月20日", "zh_Hans_US"), ("12月20号", "zh_CN"), ("20 tháng 12", "vi_VN"), ("ngày 20 tháng 12", "vi_VN"),
    ("20/12", "vi_VN"), ("12월 20일", "ko_KR"), ("12월20일", "ko_KR"), ("Disyembre 20", "fil_PH"),
    ("20 ng Disyembre", "fil_PH"), ("20 ديسمبر", "ar_EG"), ("٢٠ ديسمبر", "ar_EG"), ("٢٠/١٢", "ar_EG"),
    ("12/20", "en_US"), ("20/12", "es_US"), ("20.12.", "de_DE"), ("2026-12-20", "fr_CA"), ("20/12/2026", "it_IT"),
]  # fmt: skip
WEEKDAYS_AND_WORDS = [
    ("friday", FRIDAY), ("next Friday", FRIDAY), ("this friday", FRIDAY), ("fri", FRIDAY), ("el viernes", FRIDAY),
    ("el viernes que viene", FRIDAY), ("vendredi prochain", FRIDAY), ("sexta-feira", FRIDAY), ("na sexta", FRIDAY),
    ("nächsten Freitag", FRIDAY), ("venerdì", FRIDAY), ("अगले शुक्रवार को", FRIDAY), ("shukravar", FRIDAY),
    ("jumat depan", FRIDAY), ("hari Sabtu", SATURDAY), ("sábado", SATURDAY), ("tomorrow", TOMORROW),
    ("mañana", TOMORROW), ("demain", TOMORROW), ("amanhã", TOMORROW), ("morgen", TOMORROW), ("domani", TOMORROW),
    ("कल", TOMORROW), ("kal", TOMORROW), ("besok", TOMORROW), ("today", TODAY), ("hoy", TODAY), ("aujourd'hui", TODAY),
    ("heute", TODAY), ("आज", TODAY), ("hari ini", TODAY), ("pasado mañana", date(2026, 3, 22)),
    ("übermorgen", date(2026, 3, 22)), ("lusa", date(2026, 3, 22)), ("the 25th", date(2026, 3, 25)),
    ("15", date(2026, 4, 15)), ("am 15.", date(2026, 4, 15)), ("tanggal 15", date(2026, 4, 15)),
    ("15 तारीख", date(2026, 4, 15)), ("le 1er", date(2026, 4, 1)),
    ("明天", TOMORROW), ("后天", date(2026, 3, 22)), ("今天", TODAY), ("下周五", FRIDAY), ("星期五", FRIDAY),
    ("礼拜六", SATURDAY), ("15号", date(2026, 4, 15)), ("ngày mai", TOMORROW), ("ngay mai", TOMORROW),
    ("hôm nay", TODAY), ("thứ sáu", FRIDAY), ("thu 6 tuan sau", FRIDAY), ("내일", TOMORROW),
    ("모레", date(2026, 3, 22)), ("오늘", TODAY), ("금요일에", FRIDAY), ("다음 주 금요일", FRIDAY),
    ("15일", date(2026, 4, 15)), ("bukas", TOMORROW),
    ("sa Biyernes", FRIDAY), ("Sabado", SATURDAY), ("makalawa", date(2026, 3, 22)), ("غدا", TOMORROW),
    ("غدًا", TOMORROW), ("بكرة", TOMORROW), ("بعد بكرة", date(2026, 3, 22)), ("يوم الجمعة", FRIDAY),
    ("الجمعه الجاية", FRIDAY), ("السبت", SATURDAY), ("اليوم", TODAY),
]  # fmt: skip


@pytest.mark.parametrize(("text", "locale"), MONTH_NAMES)
def test_a_date_alone_is_read_numeric_or_with_month_names_in_every_language(text: str, locale: str) -> None:
    mention = read_day(text, locale, TODAY)
    assert mention is not None and (mention.day, mention.rest) == (DECEMBER_20, "")


@pytest.mark.parametrize(("text", "day"), WEEKDAYS_AND_WORDS)
def test_weekdays_and_words_for_days_ahead_are_read_in_every_language(text: str, day: date) -> None:
    mention = read_day(text, "en_US", TODAY)
    assert mention is not None and mention.day == day


@pytest.mark.parametrize(
    ("text", "locale", "rest"),
    [("payoff for December 20", "en_US", "payoff"), ("payoff amount as of 12/20", "en_US", "payoff amount"),
     ("liquidación al 20 de diciembre", "es_US", "liquidacion"), ("solde au 20 décembre", "fr_CA", "solde"),
     ("quitação até 20 de dezembro", "pt_BR", "quitacao"), ("Ablösebetrag zum 20. Dezember", "de_DE", "ablosebetrag"),
     ("estinzione entro il 20 dicembre", "it_IT", "estinzione"), ("20 दिसंबर तक पेऑफ़", "hi_IN", "पेऑफ"),
     ("pelunasan sampai 20 Desember", "id_ID", "pelunasan"), ("12月20日结清金额", "zh_CN", "结清金额"),
     ("tất toán đến ngày 20 tháng 12", "vi_VN", "tat toan"), ("12월 20일 완납 금액", "ko_KR", "완납 금액"),
     ("payoff sa Disyembre 20", "fil_PH", "payoff"), ("مبلغ السداد يوم ٢٠ ديسمبر", "ar_EG", "مبلغ السداد")],
)  # fmt: skip
def test_a_date_inside_a_question_is_found_and_taken_out_of_it(text: str, locale: str, rest: str) -> None:
    mention = find_day(text, locale, TODAY)
    assert mention is not None and (mention.day, mention.rest) == (DECEMBER_20, rest)


@pytest.mark.parametrize(
    ("text", "day", "rest"),
    [("I want to pay on friday", FRIDAY, "i want to pay"),
     ("quiero pagar el viernes que viene", FRIDAY, "quiero pagar"),
     ("ich möchte morgen zahlen", TOMORROW, "ich mochte zahlen"), ("saya mau bayar besok", TOMORROW, "saya mau bayar"),
     ("我下周五还款", FRIDAY, "我 还款"), ("tôi sẽ trả vào thứ sáu", FRIDAY, "toi se tra"),
     ("금요일에 낼게요", FRIDAY, "낼게요"), ("금요일 에스크로 잔액", FRIDAY, "에스크로 잔액"),
     ("magbabayad ako bukas", TOMORROW, "magbabayad ako"),
     ("هدفع يوم الجمعة", FRIDAY, "هدفع")],
)  # fmt: skip
def test_weekdays_and_relative_words_inside_a_question_are_found(text: str, day: date, rest: str) -> None:
    mention = find_day(text, "en_US", TODAY)
    assert mention is not None and (mention.day, mention.rest) == (day, rest)


@pytest.mark.parametrize(
    "text",
    ["I paid 5.10", "loan 4400012345", "balance", "3", "fri", "can I pay 2 months", "bayar minggu depan",
     "I missed payment 2.", "call me at 555-123-4567", "susunod na linggo", "non ho mai pagato",
     "có ai ở đó không", "tôi muốn trả tiền"],
)  # fmt: skip
def test_amounts_numbers_and_short_words_in_a_question_are_not_dates(text: str) -> None:
    assert find_day(text, "en_US", TODAY) is None


def test_a_date_already_past_this_year_is_next_years() -> None:
    assert read_day("March 1", "en_US", TODAY) == read_day("1 de marzo", "es_US", TODAY)
    mention = read_day("March 1", "en_US", TODAY)
    assert mention is not None and mention.day == date(2027, 3, 1)


def test_day_and_month_follow_the_locale_and_an_impossible_order_is_turned_round() -> None:
    assert read_day("04/05", "en_US", TODAY) == read_day("05/04", "es_US", TODAY)
    mention = read_day("04/15", "es_US", TODAY)  # no 15th month: April 15 whatever the order
    assert mention is not None and mention.day == date(2026, 4, 15)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_wide_month_and_weekday_name_of_cldr_is_known_in_every_language(locale: str) -> None:
    words = vocabulary()
    for month, name in get_month_names("wide", locale=locale).items():
        assert words.months[fold(name)] == month
    for day, name in get_day_names("wide", locale=locale).items():
        assert words.weekdays[fold(name)] == day


@given(
    st.one_of(st.text(), st.text(alphabet="0123456789/.- abcdejmnoqrstuyz"), st.sampled_from(["\ud800", "12/" * 500])),
    st.sampled_from(["en_US", "es_US", "fr_CA", "de_DE", "hi_IN", "zz", ""]),
)
def test_any_text_gives_a_date_or_none_and_never_raises(text: str, locale: str) -> None:
    for read in (read_day, find_day):
        mention = read(text, locale, TODAY)
        assert mention is None or isinstance(mention.day, date)
    born = parse_birth_date(text, locale, TODAY)
    assert born is None or date(1900, 1, 1) <= born <= TODAY
    assert not (names_a_full_date(text) and names_part_of_a_date(text))


# -- posting days and languages ---------------------------------------------------------------------------------------


def test_a_payment_for_a_weekend_or_holiday_posts_the_next_business_day() -> None:
    assert posting_day(date(2026, 3, 21), "US") == date(2026, 3, 23)  # Saturday -> Monday
    assert posting_day(date(2026, 12, 25), "US") == date(2026, 12, 28)  # Christmas, a Friday -> Monday
    assert posting_day(FRIDAY, "US") == FRIDAY and is_business_day(FRIDAY, "US")


def test_language_names_are_written_as_each_language_writes_itself() -> None:
    for code, name in LANGUAGE_IN_TEXT.items():
        cldr = Locale.parse(code).get_language_name(code)
        assert name == cldr or (code, name, cldr) == ("id", "bahasa Indonesia", "Indonesia")
    assert LANGUAGE_IN_TEXT["es"] == "español" and LANGUAGE_IN_TEXT["de"] == "Deutsch"
    assert LANGUAGE_NAMES["es"] == "Español"  # at the start of a line, as in the language menu


@pytest.mark.parametrize(
    ("catalog", "current", "country", "locale"),
    [("es", "en_US", "US", "es_US"), ("en", "es_US", "US", "en_US"), ("en", "de_DE", "US", "en_DE"),
     ("es", "en", "US", "es_US"), ("hi", "en_IN", "IN", "hi_IN"), ("de", "en_US", "US", "de"),
     ("pt_BR", "en_US", "US", "pt_BR"), ("fr", "en_CA", "CA", "fr_CA")],
)  # fmt: skip
def test_a_switch_of_language_keeps_the_borrowers_region_where_cldr_knows_it(
    catalog: str, current: str, country: str, locale: str
) -> None:
    assert regional_locale(catalog, current, country) == locale
