"""One normal form for every script: each rule of bot/nlu/text.py, and what it lets the matcher understand."""

from __future__ import annotations

import unicodedata

import pytest

from bot.nlu import classify, normalise, questions, requested_locale, understanding
from bot.nlu.text import is_unspaced_pair, root_form, script_locale, shortest_stem, shortest_typo, unglued
from bot.words import is_no, is_yes, wants_out

# Chinese: no spaces, so characters and overlapping pairs of characters


def test_chinese_is_read_as_characters_and_overlapping_pairs() -> None:
    assert normalise("我还欠多少") == "我 我还 还 还欠 欠 欠多 多 多少 少"


def test_a_chinese_word_is_found_wherever_the_message_puts_it() -> None:
    assert " 余 余额 额 " in f" {normalise('请问我的余额是多少？')} "
    assert " 余 余额 额 " in f" {normalise('余额')} "


def test_chinese_glued_to_latin_letters_or_digits_is_read_apart_from_them() -> None:
    assert normalise("我的balance是多少") == "我 我的 的 balance 是 是多 多 多少 少"
    assert normalise("还500块") == "还 500 块"


def test_chinese_particles_and_measure_words_go_and_colloquial_characters_are_the_common_ones() -> None:
    assert normalise("我这个月还了吗？") == normalise("我这月还") == "我 我这 这 这月 月 月还 还"
    assert normalise("开一份证明吧") == normalise("开一证明")
    assert normalise("啥时候扣款") == normalise("什么时候扣款")
    assert normalise("咋还款") == normalise("怎么还款")


def test_a_text_of_chinese_particles_alone_is_empty() -> None:
    assert normalise("吗呢吧") == ""


def test_full_width_letters_and_digits_are_plain_ones() -> None:
    assert normalise("ＢＡＬＡＮＣＥ　３") == "balance 3"


def test_a_pair_of_chinese_characters_no_catalog_knows_weighs_little() -> None:
    assert is_unspaced_pair("道我") and is_unspaced_pair("我")
    assert not is_unspaced_pair("balance") and not is_unspaced_pair("잔액")


# Vietnamese: typed with and without diacritics


@pytest.mark.parametrize(
    ("typed", "plain"),
    [("Tôi còn nợ bao nhiêu?", "toi con no bao nhieu"), ("ĐÓNG TIỀN", "dong tien"), ("đ", "d"),
     ("thanh toán", "thanh toan"), ("Ngày đến hạn", "ngay den han")],
)  # fmt: skip
def test_vietnamese_diacritics_and_the_barred_d_are_folded(typed: str, plain: str) -> None:
    assert normalise(typed) == plain


def test_vietnamese_is_understood_with_and_without_diacritics() -> None:
    assert classify("tôi còn nợ bao nhiêu", "vi").intent == classify("toi con no bao nhieu", "vi").intent == "balance"


# Korean: polite endings and particles


@pytest.mark.parametrize(
    ("typed", "plain"),
    [("알려주세요", "알려주"), ("알려줘요", "알려주"), ("알려주십시오", "알려주"), ("잔액이요", "잔액"),
     ("잔액은", "잔액"), ("잔액을", "잔액"), ("감사합니다", "감사 하"), ("감사해요", "감사 하"),
     ("감사합니당", "감사 하"), ("안녕하세여", "안녕 하"), ("얼마예요", "얼마")],
)  # fmt: skip
def test_korean_polite_endings_and_particles_are_normalised(typed: str, plain: str) -> None:
    assert normalise(typed) == plain


@pytest.mark.parametrize(
    ("typed", "plain"),
    [("이미 냈는데", "이미 냈"), ("연체됐다고", "연체 됐"), ("월급 들어오면", "월급 들어오"),
     ("얼마면 돼요", "얼마 돼"), ("비싸지만", "비싸")],
)  # fmt: skip
def test_korean_endings_joining_two_clauses_are_cut_like_the_final_ones(typed: str, plain: str) -> None:
    assert normalise(typed) == plain


@pytest.mark.parametrize(
    ("typed", "plain"),
    [("납부했어요", "납부 했"), ("납부합니다", "납부 하"), ("청구됐어요", "청구 됐"),
     ("확인 부탁드려요", "확인 부탁 드려"), ("입금할게요", "입금 할게"), ("하하", "하")],
)  # fmt: skip
def test_a_korean_noun_made_a_verb_is_the_noun_and_the_verb_apart(typed: str, plain: str) -> None:
    assert normalise(typed) == plain


def test_a_korean_word_keeps_at_least_one_syllable() -> None:
    assert normalise("요") == "요"
    assert normalise("이") == "이"


def test_korean_decomposed_by_the_keyboard_is_the_same_text() -> None:
    assert normalise(unicodedata.normalize("NFD", "잔액 얼마예요")) == normalise("잔액 얼마예요") == "잔액 얼마"


def test_an_unknown_korean_or_arabic_word_reads_as_the_catalog_word_it_begins_with() -> None:
    index = understanding().index
    assert shortest_stem("납부됐는지") == 2 and shortest_stem("رصيدي") == 3 and shortest_stem("balance") is None
    assert index.correct("상담원님") == "상담원"
    assert index.correct("رصيدكم") == "رصيد"
    assert index.correct("balanse") == "balance"  # other scripts keep their one-edit typo correction


def test_an_unknown_arabic_word_reads_without_a_glued_conjunction_or_by_its_root_form() -> None:
    index = understanding().index
    assert unglued("ومش") == ("مش",) and unglued("و") == () and unglued("balance") == ()
    assert root_form("اتحسبوا") == root_form("اتحسبت") == "اتحسب" and root_form("مش") is None
    assert index.correct("وفلوس") == "فلوس" and index.correct("بقسط") == "قسط"  # "and money", "with an instalment"
    assert index.correct("اتحسبوا") == "اتحسبت"  # "they were counted" reads as "it was counted"


def test_short_arabic_words_are_not_taken_for_typos_of_other_words() -> None:
    assert shortest_typo("تسوي", 4) == 5 and shortest_typo("balance", 4) == 4
    assert understanding().index.correct("تسوي") != "تسويه"  # "you do" is not "settlement"


def test_a_short_typo_keeps_its_first_letter() -> None:
    index = understanding().index
    assert index.correct("chung") == "chung"  # Vietnamese chứng is not nhưng
    assert index.correct("balanse") == "balance"


# Arabic: letter forms, diacritics, tatweel, digits, the glued article


@pytest.mark.parametrize(
    ("typed", "plain"),
    [("أريد", "اريد"), ("إيقاف", "ايقاف"), ("آخر", "اخر"), ("ٱلرصيد", "رصيد"), ("قيمة", "قيمه"), ("على", "علي"),
     ("شكــــرا", "شكرا"), ("شُكْرًا", "شكرا"), ("مسؤول", "مسول"), ("رسائل", "رسايل"), ("٣", "3"), ("۳", "3"),
     ("الرصيد", "رصيد"), ("والرصيد", "رصيد"), ("بالرصيد", "رصيد"), ("لا", "لا")],
)  # fmt: skip
def test_arabic_letter_forms_diacritics_tatweel_digits_and_the_article_are_normalised(typed: str, plain: str) -> None:
    assert normalise(typed) == plain


@pytest.mark.parametrize(
    ("dialects", "plain"),
    [(("عايز", "ابغى", "بدي", "أريد"), "اريد"), (("ليه", "ليش", "لماذا"), "لماذا"), (("كام", "قديش", "كم"), "كم"),
     (("امتى", "متى"), "متي"), (("فين", "وين", "أين"), "اين"), (("ايه", "ايش", "شو", "وش"), "ماذا"),
     (("ازاي", "كيف", "شلون"), "كيف"), (("ده", "هذا", "هاد"), "هذا"), (("دلوقتي", "الحين", "الآن"), "دلوقتي"),
     (("مش", "مو"), "مش"), (("فلوس", "مصاري"), "فلوس"), (("بغيت", "نبغي"), "اريد"), (("علاش",), "لماذا"),
     (("شحال",), "كم"), (("فوقاش", "وقتاش", "امتا"), "متي"), (("دابا", "هلق", "هلأ", "هلّأ"), "دلوقتي")],
)  # fmt: skip
def test_arabic_function_words_of_every_dialect_are_one_word(dialects: tuple[str, ...], plain: str) -> None:
    assert [normalise(word) for word in dialects] == [plain] * len(dialects)


def test_an_arabic_question_in_three_dialects_reads_the_same() -> None:
    assert normalise("ليش القسط زاد الحين") == normalise("ليه القسط زاد دلوقتي") == normalise("لماذا القسط زاد الآن")


def test_a_dialect_word_with_and_glued_before_it_is_still_that_word() -> None:
    assert normalise("وليش زاد القسط") == normalise("ليش زاد القسط") == normalise("لماذا زاد القسط")
    assert normalise("وعلاش") == normalise("فعلاش") == "لماذا" and normalise("ودي اكلم موظف") == "اريد اكلم موظف"


def test_to_the_glued_before_an_arabic_word_is_not_a_doubled_letter() -> None:
    assert normalise("للمحكمة") == normalise("المحكمة") == normalise("بالمحكمة") == "محكمه"
    assert normalise("لله") == "له"  # too short to carry the article: as before


def test_levantine_now_keeps_its_hamza_apart_from_hello() -> None:
    assert normalise("بدي ادفع هلأ") == normalise("بدي ادفع هلق") != normalise("بدي ادفع هلا")
    assert normalise("هلا") == normalise("هلا والله").split()[0] == "هلا"
    assert normalise("هلأ") == "دلوقتي" and normalise("هل أنت") == "هل انت"


def test_arabic_with_and_without_hamza_and_harakat_is_understood_alike() -> None:
    assert classify("أُرِيدُ التَّحَدُّثَ مَعَ مُوَظَّفٍ", "ar").intent == classify("اريد التحدث مع موظف").intent == "agent"


# Scripts, menus and languages


@pytest.mark.parametrize(
    ("text", "locale"),
    [("我的余额", "zh_CN"), ("잔액", "ko"), ("رصيدي", "ar"), ("मेरा बैलेंस", "hi"), ("balance", None), ("số dư", None)],
)
def test_a_script_only_one_language_of_the_bot_is_written_in_names_it(text: str, locale: str | None) -> None:
    assert script_locale(normalise(text)) == locale


@pytest.mark.parametrize("number", ["٣", "۳", "３", "3️⃣", " #3 ", "3。"])
def test_the_menu_number_is_read_in_arabic_indic_persian_and_full_width_digits(number: str) -> None:
    assert classify(number, "ar").intent == "make_payment"


@pytest.mark.parametrize(
    ("text", "locale"),
    [("中文", "zh_CN"), ("请用中文回复我", "zh_CN"), ("普通话", "zh_CN"), ("tiếng Việt", "vi"), ("tieng viet", "vi"),
     ("한국어로 해주세요", "ko"), ("Tagalog po", "fil"), ("filipino", "fil"), ("عربي", "ar"), ("بالعربي لو سمحت", "ar"),
     ("العربية", "ar"), ("我不要英文，要中文", "zh_CN"), ("Vietnamese please", "vi"), ("in Korean", "ko")],
)  # fmt: skip
def test_the_five_languages_are_asked_for_by_name(text: str, locale: str) -> None:
    assert requested_locale(text) == locale


@pytest.mark.parametrize(
    ("text", "locale"),
    [("我还欠多少钱", "zh_CN"), ("tôi còn nợ bao nhiêu", "vi"), ("잔액 알려주세요", "ko"),
     ("magkano pa utang ko", "fil"), ("كم رصيدي", "ar")],
)  # fmt: skip
def test_the_five_languages_are_detected_without_a_locale_on_file(text: str, locale: str) -> None:
    assert classify(text) == classify(text, locale)
    assert (classify(text).intent, classify(text).locale) == ("balance", locale)


def test_taglish_is_filipino() -> None:
    assert (classify("magkano ang balance ko", "fil").intent, classify("magkano ang balance ko").locale) == (
        "balance",
        "fil",
    )


@pytest.mark.parametrize(
    ("locale", "catalog"), [("zh_Hans_US", "zh_CN"), ("zh", "zh_CN"), ("vi_VN", "vi"), ("ko_KR", "ko"),
                            ("fil_PH", "fil"), ("tl_PH", "fil"), ("ar_EG", "ar"), ("ar_SA", "ar")]
)  # fmt: skip
def test_the_five_languages_regional_locales_read_their_catalog(locale: str, catalog: str) -> None:
    assert classify("qwxz", locale).locale == catalog


@pytest.mark.parametrize(
    ("text", "locale"),
    [("余额是多少？另外下次还款是什么时候？", "zh_CN"), ("số dư của tôi và ngày đến hạn", "vi"),
     ("잔액 알려주세요. 그리고 다음 납부일은요?", "ko"), ("magkano ang balance ko tsaka kailan ang due date", "fil"),
     ("كم رصيدي؟ وكمان متى القسط القادم", "ar")],
)  # fmt: skip
def test_two_questions_in_one_message_are_found_in_the_five_languages(text: str, locale: str) -> None:
    assert [question.intent for question in questions(text, locale)] == ["balance", "next_payment"]


# Short answers


@pytest.mark.parametrize("word", ["是", "好的", "có", "Vâng", "네", "예", "oo", "Opo", "نعم", "أيوه", "是。", "네!"])
def test_yes_is_understood_in_the_five_languages(word: str) -> None:
    assert is_yes(word) and not is_no(word)


@pytest.mark.parametrize("word", ["不", "不是", "không", "KHONG", "아니요", "hindi po", "ayoko", "لا", "لأ", "؟لا"])
def test_no_is_understood_in_the_five_languages(word: str) -> None:
    assert is_no(word.strip("؟")) and not is_yes(word.strip("؟"))


@pytest.mark.parametrize("word", ["取消", "菜单", "hủy", "취소", "메뉴", "kanselahin", "إلغاء", "القائمة"])
def test_cancel_and_menu_leave_a_question_in_the_five_languages(word: str) -> None:
    assert wants_out(word)
