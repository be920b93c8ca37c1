"""Sensitive topics and requested languages, found by phrase in normalised text."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

from bot.nlu.catalogs import TOPICS, Phrase
from bot.nlu.text import normalise

# Words that cancel the language named right after them ("not english", "de ingles a español")...
_CANCEL_BEFORE = frozenset(
    ("not", "no", "dont", "never", "nao", "non", "nicht", "kein", "keine", "pas", "ne", "bukan", "tidak", "gak",
     "nggak", "from", "de", "du", "von", "dal", "da", "dari")
)  # fmt: skip
# ...and right before them (Hindi puts them after: "english nahi aati", "english se hindi").
_CANCEL_AFTER = frozenset(("nahi", "nahin", "nai", "se"))


def _word_pattern(word: str) -> str:
    """Return the regex of one catalog word: * at either end stands for any letters."""
    core = normalise(word.strip("*"))
    return (r"\S*" if word.startswith("*") else "") + re.escape(core) + (r"\S*" if word.endswith("*") else "")


def phrase_pattern(text: str) -> str:
    """Return the regex of a catalog phrase: its words, in order, as whole words of a normalised text."""
    words = [_word_pattern(word) for word in text.split() if normalise(word.strip("*"))]
    return r"(?<!\S)" + " ".join(words) + r"(?!\S)"


def _longest_first(patterns: Iterable[str]) -> list[str]:
    """Return the patterns longest first: of two phrases starting at one place, the alternation takes the first."""
    return sorted(patterns, key=len, reverse=True)


class TopicFinder:
    """One regex per topic (a sensitive topic, a revocation's scope) over every locale's phrases: a message may be
    in any language."""

    def __init__(self, phrases: Sequence[Phrase], topics: Sequence[str] = TOPICS) -> None:
        """Compile the phrases of each topic into one alternation."""
        self.patterns = [
            (topic, re.compile("|".join(_longest_first(phrase_pattern(p.text) for p in phrases if p.label == topic))))
            for topic in topics
            if any(p.label == topic for p in phrases)
        ]

    def find(self, normalised: str) -> str | None:
        """Return the topic of the longest sensitive phrase in the text ("attorney general": a complaint)."""
        best: tuple[int, str] | None = None
        for topic, pattern in self.patterns:
            for match in pattern.finditer(normalised):
                if best is None or len(match.group()) > best[0]:
                    best = (len(match.group()), topic)
        return None if best is None else best[1]


def _cancelled(words: list[str], start: int, end: int) -> bool:
    """Return whether the name at words[start:end] is negated: "not english", "no hablo ingles", "english nahi"."""
    before = words[max(0, start - 2) : start]
    return any(word in _CANCEL_BEFORE for word in before) or (end < len(words) and words[end] in _CANCEL_AFTER)


class LanguageFinder:
    """Language names in any language ("español", "hindi mein", "bahasa indonesia") to locale codes."""

    def __init__(self, names: Sequence[Phrase]) -> None:
        """Index the names by their normalised words."""
        self.names = sorted(((name.normalised.split(), name.locale) for name in names), key=lambda n: -len(n[0]))

    def mentions(self, words: list[str]) -> list[tuple[int, int, str]]:
        """Return (start, end, locale) for each language named, longest names first at each position."""
        found: list[tuple[int, int, str]] = []
        taken: set[int] = set()
        for name, locale in self.names:
            for start in range(len(words) - len(name) + 1):
                span = range(start, start + len(name))
                if words[start : start + len(name)] == name and not taken.intersection(span):
                    found.append((start, start + len(name), locale))
                    taken.update(span)
        return sorted(found)

    def requested(self, normalised: str, language_of: Callable[[str], str | None]) -> str | None:
        """Return the locale asked for: the last language named and not negated, else the text's own."""
        words = normalised.split()
        named = self.mentions(words)
        wanted = [locale for start, end, locale in named if not _cancelled(words, start, end)]
        if wanted:
            return wanted[-1]
        if not named:
            return None
        own = language_of(normalised)
        return own if own not in {locale for _s, _e, locale in named} else None
