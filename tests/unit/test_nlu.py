"""Understanding borrower texts: intents, menu, language, requested language and sensitive topics."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from bot.flows import read_message
from bot.nlu import (
    MENU,
    SCORE_CUTOFF,
    Classification,
    classify,
    normalise,
    questions,
    requested_locale,
    sensitive_topic,
    understanding,
)
from bot.nlu.calibrate import calibrate, held_out_matches, plateau
from bot.nlu.catalogs import INTENTS, OUT_OF_SCOPE, TOPICS, CatalogError, load_catalogs, read_catalogs
from bot.nlu.evaluation import Example, evaluate, read_examples
from loanline.cli import main

ROOT = Path(__file__).resolve().parents[2]
EVAL_FILE = ROOT / "tests" / "nlu_eval.tsv"
LOCALES = ("en", "es", "fr", "pt_BR", "de", "it", "hi", "id", "zh_CN", "vi", "ko", "fil", "ar")


@pytest.fixture(scope="module")
def examples() -> list[Example]:
    """Return the labelled evaluation utterances."""
    return read_examples(EVAL_FILE)


# The evaluation file


def test_the_eval_file_scores_95_percent_overall_and_90_in_every_language(examples: list[Example]) -> None:
    report = evaluate(examples)
    assert report.accuracy >= 0.95, report.confusions()
    for language, (accuracy, _count) in report.by_language().items():
        assert accuracy >= 0.90, (
            language,
            [o for o in report.outcomes if o.example.lang == language and not o.correct],
        )


def test_out_of_scope_texts_are_rejected_nine_times_in_ten(examples: list[Example]) -> None:
    assert evaluate(examples).rejection >= 0.9


def test_intents_are_the_same_without_the_locale_on_file(examples: list[Example]) -> None:
    report = evaluate(examples, hint=lambda _example: None)
    assert report.accuracy >= 0.95
    assert sum(o.locale == o.example.lang for o in report.outcomes) / len(report.outcomes) >= 0.9


def test_eval_utterances_are_realistic_and_not_copied_from_the_catalogs(examples: list[Example]) -> None:
    catalog = {phrase.normalised for phrase in load_catalogs().phrases}
    assert [e.text for e in examples if normalise(e.text) in catalog] == []
    for locale in LOCALES:
        mine = [e for e in examples if e.lang == locale]
        assert len(mine) >= 25
        assert {e.intent for e in mine} >= set(INTENTS)
        assert sum(e.intent is None for e in mine) >= 4


# The catalogs


def test_every_catalog_parses_and_every_intent_and_topic_has_phrases_in_every_locale() -> None:
    catalogs = read_catalogs()
    assert set(catalogs.locales) == set(LOCALES)
    phrases = Counter((p.locale, p.label) for p in catalogs.phrases)
    topics = Counter((p.locale, p.label) for p in catalogs.sensitive)
    for locale in LOCALES:
        for intent in (*INTENTS, OUT_OF_SCOPE):
            assert phrases[locale, intent] >= 20, (locale, intent)
        for topic in TOPICS:
            assert topics[locale, topic] >= 1, (locale, topic)
    assert {name.locale for name in catalogs.language_names} == set(LOCALES)


def test_a_broken_catalog_line_is_refused_with_its_place(tmp_path: Path) -> None:
    (tmp_path / "en.tsv").write_text("balance\thow much do i owe\nbalance how much\n", encoding="utf-8")
    (tmp_path / "languages.tsv").write_text("en\tenglish\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"en\.tsv:2"):
        read_catalogs(tmp_path)


def test_an_unknown_intent_in_a_catalog_is_refused(tmp_path: Path) -> None:
    (tmp_path / "en.tsv").write_text("balanse\thow much do i owe\n", encoding="utf-8")
    (tmp_path / "languages.tsv").write_text("en\tenglish\n", encoding="utf-8")
    with pytest.raises(CatalogError, match="unknown label"):
        read_catalogs(tmp_path)


def test_the_score_cutoff_is_the_one_cross_validation_picks() -> None:
    _best, table = calibrate(held_out_matches(load_catalogs().phrases))
    assert SCORE_CUTOFF in plateau(table), "catalogs changed: run python -m bot.nlu.calibrate and update SCORE_CUTOFF"


def test_nothing_is_read_from_disk_at_import() -> None:
    probe = "import bot.nlu, bot.nlu.catalogs as c; print(c.load_catalogs.cache_info().currsize)"
    output = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    assert output.stdout.strip() == "0"


# Intents


@pytest.mark.parametrize("locale", LOCALES)
def test_a_menu_number_picks_the_same_entry_in_every_language(locale: str) -> None:
    for number, intent in enumerate(MENU, start=1):
        assert classify(str(number), locale).intent == intent
    assert classify("1.", locale).intent == "balance"
    assert classify(" 2 ", locale).intent == "next_payment"
    assert classify("#3", locale).intent == "make_payment"
    assert classify("0", locale).intent == "help"
    assert classify("menu", locale) == Classification("help", 100.0, locale)


def test_the_menu_order_is_fixed() -> None:
    assert MENU == ("balance", "next_payment", "make_payment", "payment_history", "payoff", "escrow", "hardship",
                    "dispute", "agent")  # fmt: skip


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("CUÁNTO DEBO???", "balance"),
        ("cuanto debo", "balance"),
        ("holaaaaa", "greeting"),
        ("pleeease heeelp", "help"),
        ("Kontostand!!!", "balance"),
        ("merciiii beaucoup", "thanks"),
        ("whats my balanse", "balance"),
        ("how mcuh do i owe", "balance"),
        ("paymnet history", "payment_history"),
        ("reprsentative", "agent"),
        ("forbearence", "hardship"),
        ("kontostnd", "balance"),
        ("ich moechte zahlen", "make_payment"),
        ("meraa balance kitnaa hai", "balance"),
        ("terimakasih banyak", "thanks"),
    ],
)
def test_case_accents_punctuation_repeated_letters_and_typos_do_not_matter(text: str, intent: str) -> None:
    assert classify(text).intent == intent


@pytest.mark.parametrize(
    "text",
    ["de", "no", "i", "the", "a", "y", "que", "me", "to", "el", "il", "der", "se", "kya", "what", "hmm", "lol", "🙂"],
)
def test_a_lone_common_word_is_not_taken_for_an_intent(text: str) -> None:
    assert classify(text).intent is None


@pytest.mark.parametrize(
    ("text", "locale", "intent"),
    [
        ("how much do i still owe on my loan", "en", "balance"),
        ("cuanto me falta por pagar", "es", "balance"),
        ("je veux parler a un conseiller", "fr", "agent"),
        ("quero pagar no pix", "pt_BR", "make_payment"),
        ("wann ist die nächste rate fällig", "de", "next_payment"),
        ("ho perso il lavoro", "it", "hardship"),
        ("mera balance kitna hai", "hi", "balance"),
        ("मेरा बैलेंस कितना है", "hi", "balance"),
        ("kapan jatuh tempo cicilan saya", "id", "next_payment"),
    ],
)
def test_the_language_is_detected_without_a_locale(text: str, locale: str, intent: str) -> None:
    assert classify(text) == Classification(intent, classify(text).score, locale)


def test_the_locale_on_file_is_a_hint_not_a_cage() -> None:
    assert classify("cuanto debo", "en") == Classification("balance", 100.0, "es")
    assert classify("quanto eu devo", "es_US").locale == "pt_BR"
    assert classify("saldo", "it").locale == "it"
    assert classify("saldo", "id_ID").locale == "id"
    assert classify("ok", "de").locale == "de"


@pytest.mark.parametrize(
    ("locale", "catalog"),
    [("es_US", "es"), ("fr_CA", "fr"), ("en_GB", "en"), ("en_IN", "en"), ("pt_BR", "pt_BR"), ("pt", "pt_BR"),
     ("hi_IN", "hi"), ("id_ID", "id"), ("de_AT", "de"), ("it_CH", "it"), ("es-MX", "es"), ("xx", "en")],
)  # fmt: skip
def test_regional_variants_read_their_language_catalog(locale: str, catalog: str) -> None:
    assert classify("qwxz", locale).locale == catalog
    assert classify("3", locale).locale == catalog


def test_out_of_scope_text_gets_no_intent_but_still_a_language() -> None:
    assert (classify("cuentame un chiste sobre gatos", "en").intent, classify("cuentame un chiste", "en").locale) == (
        None,
        "es",
    )
    assert (classify("what's the weather like tomorrow").intent, classify("what's the weather").locale) == (None, "en")


# Requested language


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("español", "es"),
        ("en español por favor", "es"),
        ("em portugues", "pt_BR"),
        ("hindi mein", "hi"),
        ("हिंदी में बात करो", "hi"),
        ("deutsch bitte", "de"),
        ("english please", "en"),
        ("francais", "fr"),
        ("Français svp", "fr"),
        ("in italiano per favore", "it"),
        ("bahasa indonesia dong", "id"),
        ("can we do this in spanish", "es"),
        ("change from english to spanish", "es"),
        ("in spanish not english", "es"),
        ("no hablo ingles", "es"),
        ("english nahi aati", "hi"),
    ],
)
def test_requested_locale_names_the_language_asked_for(text: str, locale: str) -> None:
    assert requested_locale(text) == locale


@pytest.mark.parametrize("text", ["change language", "cambiar idioma", "how much do i owe", "", "🙂"])
def test_requested_locale_is_none_when_no_language_is_named(text: str) -> None:
    assert requested_locale(text) is None


# Sensitive topics

SENSITIVE = {
    "en": ["I filed for bankruptcy", "my lawyer will call you", "my husband passed away", "this is fraud",
           "I want to file a complaint with the CFPB", "cease and desist all calls"],
    "es": ["me declare en bancarrota", "mi abogado les va a llamar", "mi esposo fallecio", "esto es un fraude",
           "quiero poner una queja", "dejen de llamarme"],
    "fr": ["je suis en faillite", "mon avocat va vous appeler", "mon mari est décédé", "c'est une arnaque",
           "je veux porter plainte", "arrêtez de m'appeler"],
    "pt_BR": ["entrei em falência", "meu advogado vai ligar", "meu marido faleceu", "isso é golpe",
              "vou fazer uma reclamação no procon", "parem de me ligar"],
    "de": ["ich habe Privatinsolvenz angemeldet", "mein Rechtsanwalt meldet sich", "mein Mann ist verstorben",
           "das ist Betrug", "ich möchte eine Beschwerde einreichen", "hören Sie auf mich anzurufen"],
    "it": ["sono in fallimento", "il mio avvocato vi chiamerà", "mio marito è deceduto", "è una truffa",
           "voglio fare un reclamo", "smettete di chiamarmi"],
    "hi": ["main diwaliya ho gaya", "mera vakil baat karega", "मेरे पति की मृत्यु हो गई", "ye fraud hai",
           "mujhe shikayat karni hai", "call karna band karo"],
    "id": ["saya bangkrut", "pengacara saya akan menghubungi", "suami saya meninggal", "ini penipuan",
           "saya mau komplain", "jangan telepon saya lagi"],
    "zh_CN": ["我已经申请破产了", "我的律师会联系你们", "我丈夫上个月去世了", "这是诈骗", "我要去投诉你们",
              "不要再联系我了"],
    "vi": ["tôi đã khai phá sản", "luat su cua toi se goi", "chồng tôi đã qua đời", "đây là lừa đảo",
           "tôi sẽ khiếu nại", "đừng gọi cho tôi nữa"],
    "ko": ["파산 신청했어요", "변호사가 연락할 거예요", "남편이 돌아가셨어요", "이거 사기예요", "민원 넣을 거예요",
           "연락하지 마세요"],
    "fil": ["nabangkarote na ako", "ang abogado ko ang tatawag", "pumanaw na ang asawa ko", "panloloko ito",
            "magrereklamo ako", "huwag nyo na akong tawagan"],
    "ar": ["أعلنت إفلاسي", "محاميّ سيتصل بكم", "زوجي توفي", "هذا احتيال", "سأقدم شكوى", "لا تتصلوا بي مرة أخرى"],
}  # fmt: skip


@pytest.mark.parametrize("locale", LOCALES)
def test_sensitive_topics_are_found_in_every_language(locale: str) -> None:
    assert [sensitive_topic(text) for text in SENSITIVE[locale]] == list(TOPICS)


def test_the_longest_sensitive_phrase_names_the_topic() -> None:
    assert sensitive_topic("I wrote to the attorney general") == "complaint"
    assert sensitive_topic("BANKRUPTCY!!!") == "bankruptcy"


ORDINARY = [
    "please process my payment", "how much do i owe", "tengo una duda", "je suis a court d'argent",
    "processar meu pagamento", "plan b", "wann ist die nächste rate fällig", "a causa del lavoro non pago",
]  # fmt: skip


def test_ordinary_questions_raise_no_sensitive_alarm() -> None:
    alarms = [p.text for p in load_catalogs().phrases if sensitive_topic(p.text)]
    assert alarms + [text for text in ORDINARY if sensitive_topic(text)] == []


def test_a_sensitive_word_inside_an_ordinary_question_still_raises_the_alarm() -> None:
    assert sensitive_topic("need the payoff for my attorney's closing next week") == "attorney"


# Any input

NASTY = [
    "😂🔥💸" * 50, "\x00\x01\x02\x1b[31m\x7f", "مرحبا كم أدين", "שלום מה היתרה שלי", "\u202ebalance\u202c",
    "'; DROP TABLE loans; --", "<script>alert(1)</script>", "<b>balance</b>&nbsp;", "ﷺ" * 300, "\ud800", "१२३",
]  # fmt: skip


@given(
    st.one_of(
        st.text(),
        st.text(alphabet=st.characters(codec="utf-8")),
        st.sampled_from(NASTY),
        st.builds(
            lambda piece, times: piece * times, st.sampled_from([*NASTY, "a", "pay ", "é"]), st.integers(1, 10_000)
        ),
    ),
    st.sampled_from([None, "en", "es_US", "pt_BR", "hi_IN", "zz", ""]),
)
def test_any_text_returns_a_classification_and_never_raises(text: str, locale: str | None) -> None:
    result = classify(text, locale)
    assert isinstance(result, Classification)
    assert result.intent is None or result.intent in INTENTS
    assert 0.0 <= result.score <= 100.0
    assert result.locale in LOCALES
    assert sensitive_topic(text) in (None, *TOPICS)
    assert requested_locale(text) in (None, *LOCALES)
    assert all(question.intent in INTENTS for question in questions(text, locale)[1:])


# Two questions in one message


@pytest.mark.parametrize(
    ("text", "locale"),
    [("balance and also when is the next payment due", "en"), ("saldo y cuándo vence el próximo pago", "es"),
     ("quel est mon solde et quand est la prochaine échéance", "fr"),
     ("qual o meu saldo e quando vence a próxima parcela", "pt_BR"),
     ("wie hoch ist mein Saldo und wann ist die nächste Rate fällig", "de"),
     ("qual è il mio saldo e quando scade la prossima rata", "it"), ("मेरा बैलेंस कितना है और अगली किस्त कब है", "hi"),
     ("berapa saldo saya dan kapan jatuh tempo cicilan berikutnya", "id"), ("balance? next payment?", "en")],
)  # fmt: skip
def test_two_questions_in_one_message_are_both_found_in_every_language(text: str, locale: str) -> None:
    assert [question.intent for question in questions(text, locale)] == ["balance", "next_payment"]


# Rows of held-out batches h and i that ask a second thing about the first ("paid from escrow? and how much is left
# in it"): the bot answers the escrow question, then the loan's balance, for it does not resolve "it". Only these.
ESCROW_FOLLOW_UPS = ["هل تم دفع ضريبة العقار من حساب الضمان؟ وكم الرصيد المتبقي فيه",
                     "주택보험료 에스크로 계좌에서 납부된 거 맞죠? 잔액도 알려주세요"]  # fmt: skip


def test_no_text_of_the_evaluation_file_is_taken_for_two_questions(examples: list[Example]) -> None:
    split = [e.text for e in examples if questions(e.text, e.lang) != [classify(e.text, e.lang)]]
    assert split == ESCROW_FOLLOW_UPS
    assert all(questions(text)[0].intent == classify(text).intent == "escrow" for text in split)


def test_a_message_that_reads_as_one_question_better_than_its_parts_is_one_question() -> None:
    assert [q.intent for q in questions("下次还款日是哪天？金额多少", "zh_CN")] == ["next_payment"]


def test_the_bot_takes_a_date_out_of_a_message_only_for_a_sure_reading() -> None:
    today = date(2026, 3, 20)
    assert read_message("今天几号", "zh_CN", today).questions[0].intent is None
    assert read_message("chứng khoán hôm nay sao rồi", "vi", today).questions[0].intent is None
    assert read_message("babayaran ko sa biyernes 300", "fil", today).questions[0].intent == "promise_to_pay"


def test_the_bot_reads_the_evaluation_file_as_well_as_classify_with_dates_taken_out(examples: list[Example]) -> None:
    """The bot classifies a message without the date it names when that reads better ("payoff for December 20")."""
    today = date(2026, 3, 20)
    read = [[q.intent for q in read_message(e.text, e.lang, today).questions] == [e.intent] for e in examples]
    classified = [classify(e.text, e.lang).intent == e.intent for e in examples]
    assert sum(read) >= sum(classified)


@pytest.mark.parametrize(
    "text", ["hi, whats my balance", "thanks! and whats my balance", "i lost my job and cant make my payment"]
)
def test_manners_and_one_thought_in_two_clauses_are_one_question(text: str) -> None:
    assert len(questions(text, "en")) == 1


# The command line


def test_classify_evaluates_a_labelled_file_and_prints_accuracy_last() -> None:
    result = CliRunner().invoke(main, ["classify", "--file", str(EVAL_FILE)])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith("accuracy: ")
    assert float(lines[-1].removeprefix("accuracy: ")) >= 0.95
    assert "per language" in lines and "per intent" in lines
    assert any(line.startswith("out-of-scope rejection: ") for line in lines)


def test_held_out_rows_are_marked_in_a_fourth_column_and_reported_apart(tmp_path: Path) -> None:
    labelled = tmp_path / "eval.tsv"
    labelled.write_text(
        "lang\tintent\ttext\theld_out\nen\tbalance\twhat do i owe\nen\tbalance\thow much is left\tbatch-1\n"
        "en\tunknown\ttell me about dolphins\tbatch-1\n",
        encoding="utf-8",
    )
    examples = read_examples(labelled)
    assert [example.held_out for example in examples] == ["", "batch-1", "batch-1"]
    assert [o.example.text for o in evaluate(examples).held_out().outcomes] == [
        "how much is left",
        "tell me about dolphins",
    ]
    lines = CliRunner().invoke(main, ["classify", "--file", str(labelled)]).output.strip().splitlines()
    assert "held out (rows never seen while the matcher was tuned), per language" in lines
    assert "held-out accuracy: 1.000  (2)" in lines and lines[-1] == "accuracy: 1.000"


def test_a_figure_with_a_unit_glued_on_weighs_as_a_number() -> None:
    index = understanding().index
    assert index.weight("ko", "140만원이었는데") == index.weight("en", "500k") == index.weight("en", "500") == 0.5
    assert index.correct("15th") == "15th"


def test_classify_prints_one_json_line_for_a_text() -> None:
    result = CliRunner().invoke(main, ["classify", "cuanto debo", "--lang", "en_US", "--json"])
    assert result.exit_code == 0
    assert result.output == '{"text": "cuanto debo", "intent": "balance", "score": 100.0, "locale": "es"}\n'


def test_classify_as_the_bot_reads_takes_the_weekday_out_of_a_promise() -> None:
    text = "babayaran ko sa biyernes 300"
    alone = CliRunner().invoke(main, ["classify", text, "--lang", "fil", "--json"])
    as_bot = CliRunner().invoke(main, ["classify", text, "--lang", "fil", "--json", "--as-bot"])
    assert json.loads(as_bot.output)["intent"] == "promise_to_pay"
    assert json.loads(as_bot.output)["score"] > json.loads(alone.output)["score"]


def test_classify_without_a_text_or_a_file_is_bad_usage() -> None:
    assert CliRunner().invoke(main, ["classify"]).exit_code == 2
