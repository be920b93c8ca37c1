"""Understanding borrower texts: intent, language, requested language and sensitive topics, in 8 languages.

    >>> classify("cuanto debo", locale="en_US")
    Classification(intent='balance', score=100.0, locale='es')

Phrase catalogs are data under locales/intents/ (see docs/nlu.md); they are read and indexed on
first use, not at import.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from bot.nlu.catalogs import INTENTS, OUT_OF_SCOPE, REVOCATION_SCOPES, Catalogs, catalog_locale, load_catalogs
from bot.nlu.matching import PhraseIndex, Scored
from bot.nlu.text import normalise, script_locale
from bot.nlu.topics import LanguageFinder, TopicFinder

__all__ = [
    "INTENTS",
    "MENU",
    "SCORE_CUTOFF",
    "Classification",
    "classify",
    "load_catalogs",
    "normalise",
    "questions",
    "requested_locale",
    "revocation",
    "sensitive_topic",
]

# The numbered menu the `help` reply lists: "1".."9" in any language; "0" shows the menu again.
MENU: tuple[str, ...] = (
    "balance", "next_payment", "make_payment", "payment_history", "payoff", "escrow", "hardship", "dispute", "agent",
)  # fmt: skip
MENU_AGAIN = "help"
DEFAULT_LOCALE = "en"
# Below this score the nearest phrase is not close enough to act on. Chosen by `python -m bot.nlu.calibrate`
# (10-fold cross-validation over the catalogs and their out-of-scope examples), never on tests/nlu_eval.tsv.
SCORE_CUTOFF = 49.0
# Phrases of the same intent within this many points of the best one are all candidates for the language.
HINT_MARGIN = 3.0
CANDIDATES = 8
# Languages whose likelihoods for a text differ by less than this (in nats) are a tie the hint decides.
LANGUAGE_TIE = 0.5
# Said beside a question, these are manners, not a second question ("hi, what's my balance?").
MAX_QUESTION_TEXT = 1_000
MAX_QUESTIONS = 8  # parts of one message looked at: enough for any real message, bounded for any text
SMALL_TALK = frozenset({"greeting", "thanks", "help"})
# Not commas: "I paid yesterday, did it go through?". Chinese full stops and full-width marks, Arabic ؟ and ؛ too.
_SENTENCE_MARKS = re.compile(r"[.?!;¿¡&\n\u0964\u3002\uff1f\uff01\uff1b\u061f\u061b]+")
# A part of a message is a question of its own only when understood at least this well (a whole message
# needs SCORE_CUTOFF): cutting a message in two must not invent a second question.
QUESTION_SCORE = 70.0


@dataclass(frozen=True, slots=True)
class Classification:
    """What a text asks for: a canonical intent (None when out of scope), a 0-100 score, and its language."""

    intent: str | None
    score: float
    locale: str


@dataclass(frozen=True, slots=True)
class Understanding:
    """Everything built from the catalogs once: the phrase index, the topic, language and revocation finders."""

    catalogs: Catalogs
    index: PhraseIndex
    topics: TopicFinder
    languages: LanguageFinder
    revocations: TopicFinder


@cache
def understanding() -> Understanding:
    """Return the indexes over the shipped catalogs, built on first use."""
    catalogs = load_catalogs()
    return Understanding(
        catalogs,
        PhraseIndex(catalogs.phrases),
        TopicFinder(catalogs.sensitive),
        LanguageFinder(catalogs.language_names),
        TopicFinder(catalogs.revocations, REVOCATION_SCOPES),
    )


def classify(text: str, locale: str | None = None) -> Classification:
    """Return the intent, score and language of a borrower's text; `locale` (the one on file) is only a hint."""
    model = understanding()
    hint = catalog_locale(locale, model.catalogs.locales)
    normalised = normalise(text)
    choice = menu_choice(normalised)
    if choice is not None:
        return Classification(choice, 100.0, hint or DEFAULT_LOCALE)
    hits = model.index.search(normalised, limit=CANDIDATES) if normalised else []
    return decide(model, normalised, hits, hint)


def questions(text: str, locale: str | None = None) -> list[Classification]:
    """Return what a message asks, in order: one classification, or one per question when it asks several.

    "balance and also when is the next payment due" is cut at the words that join questions
    (locales/intents/joiners.tsv) and at sentence marks; the cut stands when two parts are each understood
    as different intents, the whole message was understood as one of them (or not at all) and less well than
    its best part. Otherwise the message is one question, exactly as `classify` reads it.
    """
    whole = classify(text, locale)
    pieces = question_parts(text)
    if len(pieces) < 2:
        return [whole]
    parts = [classify(piece, locale) for piece in pieces[:MAX_QUESTIONS]]
    asked = list({part.intent: part for part in parts if part.intent and part.score >= QUESTION_SCORE}.values())
    if len(asked) > 1:
        asked = [part for part in asked if part.intent not in SMALL_TALK] or asked[:1]
    if len(asked) < 2 or (whole.intent is not None and whole.intent not in {part.intent for part in asked}):
        return [whole]
    if whole.intent is not None and whole.score >= max(part.score for part in asked):
        return [whole]  # it reads as one question at least as well as any of its parts ("下次还款日是哪天？金额多少")
    return asked


def question_parts(text: str) -> list[str]:
    """Return the pieces of a message between sentence marks and the words that join questions."""
    joined = _joiners(understanding().catalogs.joiners)
    if joined is None:
        return [text]
    parts = []
    for sentence in _SENTENCE_MARKS.split(text[:MAX_QUESTION_TEXT]):
        parts += [piece.strip() for piece in joined.split(normalise(sentence))]
    return [part for part in parts if part]


@cache
def _joiners(words: tuple[str, ...]) -> re.Pattern[str] | None:
    """Compile the joining words, as whole words of a normalised text, once."""
    if not words:
        return None
    return re.compile(rf"(?:^| )(?:{'|'.join(re.escape(word) for word in words)})(?= |$)")


def menu_choice(normalised: str) -> str | None:
    """Return the intent a menu number stands for ("3", "#3", "3." all normalise to "3"), or None."""
    if len(normalised) != 1 or not normalised.isdecimal():
        return None
    number = unicodedata.decimal(normalised)
    return MENU_AGAIN if number == 0 else MENU[number - 1]


def decide(model: Understanding, normalised: str, hits: list[Scored], hint: str | None) -> Classification:
    """Turn the best phrases into a classification: out of scope below the cut-off or nearest a non-intent."""
    phrases = model.index.phrases
    in_scope = [hit for hit in hits if phrases[hit.position].label != OUT_OF_SCOPE]
    score = round(in_scope[0].score, 1) if in_scope else 0.0
    if not hits or hits[0].score < SCORE_CUTOFF or phrases[hits[0].position].label == OUT_OF_SCOPE:
        return Classification(None, score, language_of(model, normalised, hint))
    best = hits[0]
    intent = phrases[best.position].label
    close = [
        phrases[hit.position].locale
        for hit in hits
        if hit.score >= best.score - HINT_MARGIN and phrases[hit.position].label == intent
    ]
    return Classification(intent, score, _pick_locale(model, normalised, close, hint))


def _pick_locale(model: Understanding, normalised: str, close: list[str], hint: str | None) -> str:
    """Return the language of an understood text: the hint unless the words say otherwise."""
    written = script_locale(normalised)
    if written in model.catalogs.locales:
        return written
    if hint in close:
        return hint
    likelihood = model.index.language_likelihoods(normalised)
    if hint in likelihood and likelihood[hint] >= max(likelihood.values()) - LANGUAGE_TIE:
        return hint
    return max(dict.fromkeys(close), key=lambda locale: likelihood[locale])


def language_of(model: Understanding, normalised: str, hint: str | None) -> str:
    """Return the language a text is most likely written in; the hint, then English, when nothing tells."""
    written = script_locale(normalised)
    if written in model.catalogs.locales:
        return written
    likelihood = model.index.language_likelihoods(normalised)
    top = max(likelihood.values(), default=0.0)
    leaders = [locale for locale, value in likelihood.items() if value >= top - LANGUAGE_TIE]
    if hint in leaders:
        return hint
    return DEFAULT_LOCALE if DEFAULT_LOCALE in leaders else min(leaders, key=lambda locale: -likelihood[locale])


def requested_locale(text: str) -> str | None:
    """Return the locale a borrower asks to be answered in ("español", "hindi mein"), or None if none is named."""
    model = understanding()
    return model.languages.requested(normalise(text), lambda normalised: language_of(model, normalised, None))


def sensitive_topic(text: str) -> str | None:
    """Return the sensitive topic a text raises (bankruptcy, attorney, death, fraud, complaint, cease_and_desist)."""
    return understanding().topics.find(normalise(text))


def revocation(text: str) -> str | None:
    """Return what a text revokes consent to, in any of the 8 languages: `all` the servicer's messages on the
    channel ("stop texting me", "ne m'écrivez plus"), only `reminder`s, or `collection` messages; None if nothing.

    Phrases are matched as whole words of the normalised text (locales/intents/revocation.<locale>.tsv); of two,
    the longer wins ("stop sending me reminders" is about reminders).
    """
    return understanding().revocations.find(normalise(text))
