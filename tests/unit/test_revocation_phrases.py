"""Revoking consent "by any reasonable means": the phrases of every language, what each revokes, and no alarm
on what borrowers ask every day."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bot import nlu
from bot.consent import revocation_in
from bot.nlu.catalogs import REVOCATION_SCOPES, load_catalogs

EVALUATION = Path(__file__).resolve().parents[1] / "nlu_eval.tsv"
LOCALES = ("en", "es", "fr", "pt_BR", "de", "it", "hi", "id")
# As borrowers write them: typos of case, accents left out, punctuation, a word around.
SAID = [
    ("en", "Please stop texting me.", "all"),
    ("en", "no more messages!!", "all"),
    ("en", "I don't want any more texts from you", "all"),
    ("en", "can you stop sending me payment reminders", "reminder"),
    ("en", "stop the past due messages please", "collection"),
    ("es", "Dejen de enviarme mensajes por favor", "all"),
    ("es", "no mas mensajes", "all"),
    ("es", "ya no quiero recordatorios", "reminder"),
    ("es", "no más mensajes de cobranza", "collection"),
    ("fr", "Ne m'écrivez plus", "all"),
    ("fr", "arretez de m envoyer des messages svp", "all"),
    ("fr", "je ne veux plus de rappels", "reminder"),
    ("fr", "Arrêtez les relances", "collection"),
    ("pt_BR", "pare de me mandar mensagens", "all"),
    ("pt_BR", "Não quero mais mensagens, obrigado", "all"),
    ("pt_BR", "chega de lembretes", "reminder"),
    ("pt_BR", "pare com as mensagens de cobranca", "collection"),
    ("de", "Bitte keine Nachrichten mehr", "all"),
    ("de", "Hören Sie auf, mir zu schreiben!", "all"),
    ("de", "keine Zahlungserinnerungen mehr", "reminder"),
    ("de", "keine Mahnungen mehr", "collection"),
    ("it", "Smettete di scrivermi", "all"),
    ("it", "non voglio più messaggi", "all"),
    ("it", "basta promemoria grazie", "reminder"),
    ("it", "basta solleciti", "collection"),
    ("hi", "मुझे मैसेज मत भेजो", "all"),
    ("hi", "please message band karo", "all"),
    ("hi", "reminder mat bhejo", "reminder"),
    ("hi", "vasuli ke message band karo", "collection"),
    ("id", "Tolong berhenti mengirim pesan", "all"),
    ("id", "jangan kirim pesan lagi ya", "all"),
    ("id", "jangan kirim pengingat lagi", "reminder"),
    ("id", "berhenti mengirim pesan penagihan", "collection"),
]


def test_every_language_has_revocations_of_every_scope() -> None:
    phrases = load_catalogs().revocations
    for locale in LOCALES:
        assert {p.label for p in phrases if p.locale == locale} == set(REVOCATION_SCOPES), locale


@pytest.mark.parametrize(("locale", "text", "scope"), SAID, ids=[f"{locale}:{text}" for locale, text, _ in SAID])
def test_a_revocation_is_understood_in_every_language_with_what_it_covers(locale: str, text: str, scope: str) -> None:
    assert nlu.revocation(text) == scope


@pytest.mark.parametrize("word", ["STOP", "stop.", " Unsubscribe ", "optout", "REVOKE", "stopall"])
def test_the_stop_keywords_revoke_everything_on_any_channel(word: str) -> None:
    assert revocation_in(word) == "all"


def test_no_intent_phrase_or_out_of_scope_example_of_any_catalog_is_taken_for_a_revocation() -> None:
    taken = [(p.locale, p.label, p.text) for p in load_catalogs().phrases if nlu.revocation(p.text)]
    assert taken == []


def test_no_text_of_the_evaluation_file_is_taken_for_a_revocation() -> None:
    with EVALUATION.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert len(rows) > 300
    assert [row["text"] for row in rows if nlu.revocation(row["text"])] == []


@pytest.mark.parametrize(
    "text", ["stop the bot i need a human being", "cancel my payment", "what messages did you send me",
             "I want to stop paying late", "no more questions, what is my balance"],
)  # fmt: skip
def test_everyday_words_around_stop_or_messages_revoke_nothing(text: str) -> None:
    assert nlu.revocation(text) is None
