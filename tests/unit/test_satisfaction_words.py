"""The satisfaction survey's answers: digits in any script, and words in every language, each meaning one score."""

from __future__ import annotations

import pytest

from bot.i18n import LOCALES
from bot.satisfaction import WORDS_FILE, satisfaction_words, score_in


def test_every_language_has_words_for_every_score_and_no_phrase_has_two_scores() -> None:
    words = satisfaction_words()  # raises on a phrase given two scores
    by_locale: dict[str, set[int]] = {}
    for line in WORDS_FILE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            score, locale, _ = line.split("\t")
            by_locale.setdefault(locale, set()).add(int(score))
    assert set(by_locale) == set(LOCALES)
    assert all(scores == {1, 2, 3, 4, 5} for scores in by_locale.values()), by_locale
    assert len(words) > 100


@pytest.mark.parametrize(
    ("text", "score"),
    [("5", 5), (" 4/5 ", 4), ("3 stars", 3), ("٤", 4), ("५", 5), ("Excellent!", 5), ("MUY MAL", 1),
     ("très satisfaite", 5), ("geht so", 3), ("tidak puas", 2), ("बहुत खराब", 1), ("非常满意", 5),
     ("rat hai long", 5), ("보통", 3), ("okay lang", 3), ("سيء جدا", 1), ("٥", 5)],
)  # fmt: skip
def test_a_digit_or_words_in_any_language_give_the_score(text: str, score: int) -> None:
    assert score_in(text) == score


@pytest.mark.parametrize("text", ["0", "6", "12", "1 2", "ok", "yes", "I am unhappy with my escrow", ""])
def test_anything_else_is_not_an_answer(text: str) -> None:
    assert score_in(text) is None
