"""Borrower text made comparable: one normal form for catalogs and messages alike."""

from __future__ import annotations

import re
import unicodedata

MAX_INPUT_CHARS = 1_000
MAX_TOKENS = 40

# Apostrophes join what they separate ("don't" -> "dont", "j'ai" -> "jai"): that is how people text them.
_APOSTROPHES = re.compile("['\u2018\u2019\u201b\u02bc\u0060\u00b4]")
# Latin, Greek and Cyrillic accents, and the Devanagari nukta (क़ and क are typed interchangeably).
_ACCENTS = re.compile("[\u0300-\u036f\u093c]")
# Anything that is not a letter, a digit or a Devanagari sign separates words; dandas and underscores too.
_SEPARATORS = re.compile(r"[^\w\u0900-\u0963\u0966-\u097f]+|_+")
# Runs of one letter ("holaaaa", "pleeease", "good") become one letter, on both sides of every comparison.
_REPEATS = re.compile(r"([^\W\d_])\1+")
_DEVANAGARI = re.compile("[\u0900-\u097f]")


def normalise(text: str) -> str:
    """Return the text lower-cased, without accents, punctuation, repeated letters or extra spaces."""
    text = unicodedata.normalize("NFKD", text[:MAX_INPUT_CHARS]).casefold()
    text = _APOSTROPHES.sub("", _ACCENTS.sub("", text))
    text = text.replace("\u0901", "\u0902")  # chandrabindu and anusvara are written interchangeably
    text = _SEPARATORS.sub(" ", text)
    return " ".join(_REPEATS.sub(r"\1", text).split()[:MAX_TOKENS])


def is_devanagari(text: str) -> bool:
    """Return whether the text contains Devanagari script (Hindi written natively)."""
    return _DEVANAGARI.search(text) is not None
