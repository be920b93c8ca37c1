"""Nearest catalog phrase for a normalised text: a word index narrows, word weights and rapidfuzz score.

A text is scored against a phrase of locale L (both normalised; a misspelt word is first corrected to
the catalog word one edit away) as 100 x the geometric mean of two shares:

- how much of the phrase the text contains: the weight of their common words over the phrase's;
- how much of the text the phrase's intent explains: the weight of the text's words found in any
  phrase of that intent in L, over the text's weight plus TEXT_PRIOR. "perdi mi trabajo y no puedo
  pagar" is explained by two hardship phrases together; a question about pizza around one catalog
  word is not; and a lone "de" or "no" explains too little to be anything.

A word's weight is its rarity (idf) times how consistently it points at one label, the lesser of that
in L and across all locales; a word no catalog knows weighs as much as the rarest. rapidfuzz's
`fuzz.ratio` of the two strings stands in when it is at least `character_floor` and higher
(near-identical strings: a typo in a short word, words run together). Only phrases sharing a telling
word with the text are scored.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from bot.nlu.catalogs import Phrase
from bot.nlu.text import is_unspaced_pair, root_form, shortest_stem, shortest_typo, unglued

DIGIT_WEIGHT = 0.5
# A pair of Chinese characters no catalog knows is most often two words' edges ("道我" in "知道我的余额"), not
# a word of its own: it weighs little, where an unknown word of a spaced script weighs as much as the rarest.
UNKNOWN_PAIR_WEIGHT = 1.0
# Words below this weight ("my", "de", "hai") do not make a phrase a candidate on their own.
STRONG_WEIGHT = 2.0
# When no phrase sharing a telling word comes this close, phrases sharing a word of at least MIDDLE_WEIGHT are
# scored too: a text whose telling words are shared by several intents ("mensualité", "pourquoi") is still
# compared with the phrases it is nearest, at the cost of more candidates for the few texts that need it.
WIDEN_BELOW = 60.0
MIDDLE_WEIGHT = 1.0
MIN_CORRECTABLE = 4
LONG_WORD = 8
CHARACTER_CANDIDATES = 8


# A text's word weights per locale and the share of it each (locale, intent) explains, computed once per text.
_TextWeights = tuple[dict[str, dict[str, float]], dict[tuple[str, str], float]]


@dataclass(frozen=True, slots=True)
class Scoring:
    """The knobs of the score: exponents of the two shares, the text prior and the character floor."""

    phrase_exponent: float = 0.5
    text_exponent: float = 0.5
    text_prior: float = 3.0
    character_floor: float = 85.0


@dataclass(frozen=True, slots=True)
class Scored:
    """A catalog phrase (by position in the index) and how close a text came to it, 0-100."""

    score: float
    position: int


def is_number(word: str) -> bool:
    """Return whether a normalised word is a figure: digits, or digits with a unit or ending glued on ("500k",
    "15th", Korean "140만원이었는데", Vietnamese "5tr"), which says as little about the intent as the figure."""
    return word[:1].isdigit()


def deletions(word: str) -> set[str]:
    """Return the word with each one of its letters left out."""
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def label_weights(phrases: Sequence[Phrase], words: Sequence[tuple[str, ...]]) -> dict[str, float]:
    """Return rarity x consistency of every word of these phrases: log(1 + n / with word) x top label share."""
    labels: dict[str, Counter[str]] = defaultdict(Counter)
    for phrase, phrase_words in zip(phrases, words, strict=True):
        for word in phrase_words:
            labels[word][phrase.label] += 1
    weights = {}
    for word, counts in labels.items():
        total = sum(counts.values())
        weights[word] = math.log(1 + len(phrases) / total) * max(counts.values()) / total
    return weights


class PhraseIndex:
    """Catalog phrases indexed by word, with per-locale word weights and a one-edit typo index."""

    def __init__(self, phrases: Sequence[Phrase], scoring: Scoring | None = None) -> None:
        """Index the phrases; everything here is independent of the texts to classify."""
        self.phrases = tuple(phrases)
        self.scoring = scoring or Scoring()
        self.words = [tuple(dict.fromkeys(phrase.normalised.split())) for phrase in self.phrases]
        self.sizes = Counter(phrase.locale for phrase in self.phrases)
        self.locales = tuple(sorted(self.sizes))
        self.weights = self._weights()
        self.unknown_weight = {locale: math.log(1 + size) for locale, size in self.sizes.items()}
        self.word_weights = [
            {word: self.weight(phrase.locale, word) for word in words}
            for phrase, words in zip(self.phrases, self.words, strict=True)
        ]
        self.masses = [sum(weights.values()) for weights in self.word_weights]
        self.keys = [(phrase.locale, phrase.label) for phrase in self.phrases]
        self.exact: dict[str, list[int]] = defaultdict(list)
        self.strong: dict[str, list[int]] = defaultdict(list)
        self.middle: dict[str, list[int]] = defaultdict(list)
        self.weak: dict[str, list[int]] = defaultdict(list)
        self.vocabulary: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.locale_frequency: dict[str, Counter[str]] = defaultdict(Counter)
        for position, (phrase, weights) in enumerate(zip(self.phrases, self.word_weights, strict=True)):
            self.exact[phrase.normalised].append(position)
            self.vocabulary[phrase.locale, phrase.label].update(weights)
            self.locale_frequency[phrase.locale].update(weights)
            for word, weight in weights.items():
                if weight >= STRONG_WEIGHT:
                    self.strong[word].append(position)
                else:
                    (self.middle if weight >= MIDDLE_WEIGHT else self.weak)[word].append(position)
        self.frequency = Counter(word for words in self.words for word in words)
        self.typos: dict[str, set[str]] = defaultdict(set)
        self.roots: dict[str, set[str]] = defaultdict(set)
        for word in self.frequency:
            for form in (word, root_form(word)):
                if form is not None:
                    self.roots[form].add(word)
            if len(word) >= MIN_CORRECTABLE and not is_number(word):
                for variant in deletions(word) | {word}:
                    self.typos[variant].add(word)

    def _weights(self) -> dict[str, dict[str, float]]:
        """Return each locale's word weights, capped by the word's weight across all locales.

        The cap is why "de", rare in the Hindi catalog, still says little in a text: Spanish, French
        and Portuguese show it is a word that goes with anything.
        """
        overall = label_weights(self.phrases, self.words)
        weights: dict[str, dict[str, float]] = {}
        for locale in self.locales:
            mine = [i for i, phrase in enumerate(self.phrases) if phrase.locale == locale]
            own = label_weights([self.phrases[i] for i in mine], [self.words[i] for i in mine])
            weights[locale] = {word: min(weight, overall[word]) for word, weight in own.items()}
        return weights

    def weight(self, locale: str, word: str) -> float:
        """Return how much a word says in a locale; numbers say little, unknown words a lot."""
        if is_number(word):
            return DIGIT_WEIGHT
        known = self.weights[locale].get(word)
        if known is not None:
            return known
        return UNKNOWN_PAIR_WEIGHT if is_unspaced_pair(word) else self.unknown_weight[locale]

    def correct(self, word: str) -> str:
        """Return the catalog word an unknown word stands for, else the word: without a glued one-letter word, the
        word it begins with or shares a root with (scripts that glue, see `bot.nlu.text`), else the catalog word
        one edit away (two for long words; a short word keeps its first letter)."""
        if word in self.frequency or is_number(word):
            return word
        for form in unglued(word):
            if form in self.frequency:
                return form
        stem = self.stem(word) or self.same_root(word)
        if stem is not None or len(word) < shortest_typo(word, MIN_CORRECTABLE):
            return stem or word
        found: set[str] = set()
        for variant in deletions(word) | {word}:
            found |= self.typos.get(variant, set())
        if len(word) < LONG_WORD:  # a short word mistyped keeps its first letter: "chung" is not "nhung"
            found = {known for known in found if known[0] == word[0]}
        if not found:
            return word
        # Most frequent first: of two words equally close, the commoner is the likelier meant.
        choices = sorted(found, key=lambda known: (-self.frequency[known], known))
        limit = 1 if len(word) < LONG_WORD else 2
        best = process.extractOne(word, choices, scorer=OSA.distance, score_cutoff=limit)
        return word if best is None else str(best[0])

    def stem(self, word: str) -> str | None:
        """Return the longest catalog word an unknown word begins with, in scripts that glue endings to a word
        (Korean 납부됐는지 is 납부; Arabic رصيدي is رصيد), else None."""
        shortest = shortest_stem(word)
        if shortest is None:
            return None
        for length in range(len(word) - 1, shortest - 1, -1):
            if word[:length] in self.frequency:
                return word[:length]
        return None

    def same_root(self, word: str) -> str | None:
        """Return the commonest catalog word with the root form of an unknown word, in scripts that glue endings
        (Arabic اتحسبوا is اتحسبت, both اتحسب + an ending), else None."""
        root = root_form(word)
        if root is None:
            return None
        found = self.roots.get(root, set())
        return min(found, key=lambda known: (-self.frequency[known], known)) if found else None

    def search(self, normalised: str, limit: int = 5) -> list[Scored]:
        """Return the phrases closest to a normalised text, best first (at most `limit`, or every exact match)."""
        words = list(dict.fromkeys(self.correct(word) for word in normalised.split()))
        text = " ".join(words)
        exact = [Scored(100.0, i) for i in self.exact.get(text, ())]
        if exact:
            return exact  # all of them: "menu" is a phrase of every language, and the hint picks among them
        candidates = self._candidates(words)
        seen: _TextWeights = ({}, {})
        scores = self._scores(words, candidates, seen)
        if max(scores, default=(0.0, 0))[0] < WIDEN_BELOW:
            wider = {position for word in words for position in self.middle.get(word, ())} - candidates
            scores += self._scores(words, wider, seen)
        scored = heapq.nlargest(CHARACTER_CANDIDATES, scores, key=lambda s: (s[0], -s[1]))
        best = [Scored(max(score, self._characters(text, position)), position) for score, position in scored]
        best.sort(key=lambda s: (-s.score, s.position))
        return best[:limit]

    def language_likelihoods(self, normalised: str) -> dict[str, float]:
        """Return per locale the log-likelihood of the text's catalog words, naive Bayes over the phrases."""
        likelihood = dict.fromkeys(self.locales, 0.0)
        for word in dict.fromkeys(self.correct(word) for word in normalised.split()):
            if word in self.frequency:
                for locale in self.locales:
                    seen = self.locale_frequency[locale][word]
                    likelihood[locale] += math.log((seen + 0.5) / (self.sizes[locale] + 1))
        return likelihood

    def _candidates(self, words: list[str]) -> set[int]:
        """Return the phrases sharing a telling word with the text (any shared word when it has none)."""
        found: set[int] = set()
        for word in words:
            found.update(self.strong.get(word, ()))
        if not found:
            for word in words:
                found.update(self.middle.get(word, ()))
                found.update(self.weak.get(word, ()))
        return found

    def _scores(self, words: list[str], candidates: set[int], seen: _TextWeights) -> list[tuple[float, int]]:
        """Return (100 x phrase share^a x text share^b, position) of each candidate; `seen` keeps the text's
        weights and explained shares per locale and intent from one call to the next."""
        a = self.scoring.phrase_exponent
        text_weights, explained = seen
        keys, word_weights, masses = self.keys, self.word_weights, self.masses
        present = set(words)
        scored = []
        for position in candidates:
            key = keys[position]
            share = explained.get(key)
            if share is None:
                share = explained[key] = self._explained(key, words, text_weights)
            own = word_weights[position]  # the phrase's words with their weights: what is shared is weighed so
            shared = sum([own[word] for word in own.keys() & present])
            scored.append((100.0 * (shared / masses[position]) ** a * share, position))
        return scored

    def _explained(self, key: tuple[str, str], words: list[str], text_weights: dict[str, dict[str, float]]) -> float:
        """Return the text share^b of a (locale, intent): its words found in any phrase of that intent there."""
        locale = key[0]
        weights = text_weights.get(locale)
        if weights is None:
            weights = text_weights[locale] = {word: self.weight(locale, word) for word in words}
        vocabulary = self.vocabulary[key]
        found = sum([weight for word, weight in weights.items() if word in vocabulary])
        share: float = (found / (sum(weights.values()) + self.scoring.text_prior)) ** self.scoring.text_exponent
        return share

    def _characters(self, text: str, position: int) -> float:
        """Return rapidfuzz's similarity of the text and a phrase when near-identical, else 0."""
        floor = self.scoring.character_floor
        similarity: float = fuzz.ratio(text, self.phrases[position].normalised, score_cutoff=floor)
        return similarity
