"""Dates in borrowers' words, in every language the bot speaks, alone or inside a question.

"friday", "next Friday", "mañana", "the 15th", "12/15", "December 20", "20 de diciembre", "20. Dezember",
"अगले शुक्रवार", "besok". Month and weekday names are CLDR's, read through Babel (wide and abbreviated,
format and stand-alone forms); the few words CLDR has no list for (tomorrow, "el", "am", "को"...) are data in
`locales/dates.tsv`. A message may be written in any of the languages, whatever the borrower's locale; only
the order of day and month in numeric dates ("12/15" or "15/12") comes from the locale.

Dates a borrower asks about (a payment, a payoff) lie ahead: without a year, the next such day. A date of
birth lies behind: "08/14/72" is 1972, and a date in the future is no date of birth.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

from babel import UnknownLocaleError
from babel.dates import get_date_format, get_day_names, get_month_names
from dateutil.relativedelta import FR, MO, SA, SU, TH, TU, WE, relativedelta

from servicing.speaking import CATALOGS, LOCALES

TABLE = CATALOGS / "dates.tsv"
MAX_TEXT = 300  # characters of a message searched for a date
NUKTA, CHANDRABINDU, ANUSVARA = "\u093c", "\u0901", "\u0902"
# Letters that make a word go on: not Chinese characters nor Korean syllables, after which a date may follow
# without a space ("我下周五还", "금요일에"), but Devanagari signs, which Python does not count as letters.
_WORD = r"(?:[^\W\u3400-\u9fff\uac00-\ud7a3]|[\u0900-\u0963\u0966-\u097f])"
# Letters typed in more than one form (as in bot/nlu/text.py): Arabic taa marbuta, alef maqsura, tatweel;
# Vietnamese đ; and the Arabic decimal and thousands marks.
_LETTERS = str.maketrans({"\u0629": "\u0647", "\u0649": "\u064a", "\u0640": None, "\u0111": "d",
                          "\u066b": ".", "\u066c": ","})  # fmt: skip
_CHINESE_WORD = re.compile(r"^[\u3400-\u9fff]+$")
_UNSPACED_WORD = re.compile(r"^[\u3400-\u9fff\uac00-\ud7a3]+$")
# A number glued to a Chinese character or Korean syllable ("12月15日", "15일에") is a word of its own.
_GLUED_NUMBER = re.compile(r"(?<=\d)(?=[\u3400-\u9fff\uac00-\ud7a3])|(?<=[\u3400-\u9fff\uac00-\ud7a3])(?=\d)")
_START, _END = rf"(?<!{_WORD})", rf"(?!{_WORD})"
_APOSTROPHES = re.compile("['\u2018\u2019\u201b\u02bc\u0060\u00b4]")
_NOT_DATE_TEXT = re.compile(r"[^\w\s/.\-\u0900-\u0963\u0966-\u097f]")
SUFFIXES = "st|nd|rd|th|er|eme|o|a"  # 1st, 1er, 1eme, 1º (folded to 1o), 1ª
_SUFFIX = f"(?:{SUFFIXES})?"
_ORDINAL = re.compile(rf"^(\d{{1,2}})(?:{SUFFIXES}|\.)$")


def fold(text: str) -> str:
    """Lowercase, drop accents (not Devanagari signs), join apostrophes, ASCII digits, squeeze spaces; one form
    for letters typed in several, and numbers apart from the Chinese or Korean word they are glued to."""
    decomposed = unicodedata.normalize("NFKD", text[:MAX_TEXT]).casefold()
    kept = []
    for character in decomposed:
        if (unicodedata.combining(character) and not "\u0900" <= character <= "\u097f") or character == NUKTA:
            continue
        digit = unicodedata.decimal(character, None)
        kept.append(str(digit) if digit is not None else character)
    plain = _APOSTROPHES.sub("", "".join(kept)).replace(CHANDRABINDU, ANUSVARA).replace("\u0970", ".")
    plain = unicodedata.normalize("NFC", plain.translate(_LETTERS))  # Korean syllables NFKD took apart, whole
    plain = _NOT_DATE_TEXT.sub(" ", _GLUED_NUMBER.sub(" ", plain).replace(",", " "))
    return re.sub(r"\s+", " ", plain).strip()


def month_first(locale: str) -> bool:
    """Tell whether people of the locale write month before day in numeric dates (en_US: 12/15).

    Where CLDR's short date is year first (fr_CA, en_CA: 2026-04-15), or CLDR has no such locale
    (vi_US), people still write a short date day first, except in the United States.
    """
    try:
        pattern = get_date_format("short", locale=locale).pattern.lstrip("'")
    except (UnknownLocaleError, ValueError):
        # A locale CLDR does not know writes as its region does: month first in the United States (vi_US,
        # fil_US, zh_Hans_US), else day first, as most of the world.
        return locale.endswith("_US")
    if pattern.startswith("y"):
        return locale.endswith("_US")
    return pattern.find("M") < pattern.find("d")


# -- the vocabulary: CLDR's names and the table ----------------------------------------------------------------


@dataclass(frozen=True)
class Vocabulary:
    """Every word a date may be written with, folded, in all the bot's languages."""

    months: dict[str, int]  # wide and abbreviated names, 1..12
    weekdays: dict[str, int]  # wide names, 0 = Monday
    short_weekdays: dict[str, int]  # abbreviations of 3+ letters: a date only when the reply is just that
    alone: frozenset[str]  # weekday names that are everyday words too (Indonesian "minggu" is also "week")
    days: dict[str, int]  # today, tomorrow...: days ahead
    before: tuple[str, ...]
    after: tuple[str, ...]
    day_before: tuple[str, ...]
    day_after: tuple[str, ...]


class _Names:
    """Folded names and what they stand for; a spelling that means two things in two languages means neither."""

    def __init__(self) -> None:
        self.found: dict[str, int] = {}
        self.clashes: set[str] = set()

    def add(self, name: str, value: int) -> None:
        key = fold(name).rstrip(".")
        if key and self.found.setdefault(key, value) != value:
            self.clashes.add(key)

    def meanings(self, shortest: int = 1) -> dict[str, int]:
        return {key: value for key, value in self.found.items() if key not in self.clashes and len(key) >= shortest}


def _table() -> Iterator[tuple[str, str, str]]:
    """Yield (kind, value, phrase) of each row of locales/dates.tsv."""
    for number, line in enumerate(TABLE.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        cells = [cell.strip() for cell in line.split("\t")]
        if len(cells) != 4 or cells[0] not in LOCALES:
            raise ValueError(f"{TABLE.name}:{number}: expected locale<TAB>kind<TAB>value<TAB>phrase")
        yield cells[1], cells[2], cells[3]


def _longest_first(phrases: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({fold(phrase) for phrase in phrases}, key=len, reverse=True))


@cache
def vocabulary() -> Vocabulary:
    """Read CLDR's month and weekday names of every language, and the table, once."""
    months, wide_days, short_days = _Names(), _Names(), _Names()
    for locale in LOCALES:
        for context in ("format", "stand-alone"):
            for width in ("wide", "abbreviated"):
                for number, name in get_month_names(width, context, locale).items():
                    months.add(name, number)
                for day, name in get_day_names(width, context, locale).items():  # Babel: 0 is Monday
                    (wide_days if width == "wide" else short_days).add(name, day)
    rows = list(_table())
    for kind, value, phrase in rows:
        if kind in ("month", "weekday"):
            (months if kind == "month" else wide_days).add(phrase, int(value))
    return Vocabulary(
        months=months.meanings(),
        weekdays=wide_days.meanings(),
        short_weekdays=short_days.meanings(shortest=3),
        alone=frozenset(fold(phrase) for kind, _, phrase in rows if kind == "alone"),
        days={fold(phrase): int(value) for kind, value, phrase in rows if kind == "days"},
        before=_longest_first(phrase for kind, _, phrase in rows if kind == "before"),
        after=_longest_first(phrase for kind, _, phrase in rows if kind == "after"),
        day_before=_longest_first(phrase for kind, value, phrase in rows if kind == "dayword" and value == "before"),
        day_after=_longest_first(phrase for kind, value, phrase in rows if kind == "dayword" and value == "after"),
    )


def _alternatives(words: Iterable[str]) -> str:
    return "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))


@dataclass(frozen=True)
class Patterns:
    """The regular expressions over folded text, built from the vocabulary once."""

    iso: re.Pattern[str]
    year_first: re.Pattern[str]
    numeric: re.Pattern[str]
    compact: re.Pattern[str]
    day_month: re.Pattern[str]
    month_day: re.Pattern[str]
    month_year: re.Pattern[str]
    year: re.Pattern[str]
    weekday: re.Pattern[str]
    relative: re.Pattern[str]
    ordinal: re.Pattern[str]


@cache
def patterns() -> Patterns:
    """Compile the date shapes: numeric, day and month name, weekday, relative word, day of the month."""
    words = vocabulary()
    month = rf"(?P<month>{_alternatives(words.months)})\.?"
    day = rf"(?P<day>\d{{1,2}}){_SUFFIX}\.?"
    year = r"(?P<year>\d{4}|\d{2})"
    return Patterns(
        # year first: 2026-04-15, and as Chinese and Korean write it, 2026/4/15 and 2026.04.15
        iso=re.compile(
            rf"{_START}(?P<year>\d{{4}})(?P<ysep>[-/.])(?P<month>\d{{1,2}})(?P=ysep)(?P<day>\d{{1,2}}){_END}"
        ),
        # 2026年4月15日, 2026년 4월 15일 (folded: "2026 年 4 月 15 日"): the year, then the month's name and the day
        year_first=re.compile(rf"{_START}(?P<year>\d{{4}})\s(?:年|년)\s{month}\s{day}{_END}"),
        numeric=re.compile(
            rf"{_START}(?P<first>\d{{1,2}})(?P<sep>[/.-])(?P<second>\d{{1,2}})"
            rf"(?:(?P=sep)(?P<year>\d{{4}}|\d{{2}}))?(?P<dot>\.)?{_END}"
        ),
        compact=re.compile(r"^(?P<digits>\d{6}|\d{8})$"),
        day_month=re.compile(
            rf"{_START}{day}\s(?:(?:de|of|the|di|del|ng)\s)?{month}(?:\s(?:(?:de|del)\s)?{year})?{_END}"
        ),
        month_day=re.compile(rf"{_START}{month}\s(?:the\s)?{day}(?:\s{year})?{_END}"),
        month_year=re.compile(rf"{_START}{month}\s(?:(?:de|of|del)\s)?(?P<year>\d{{4}}){_END}"),
        year=re.compile(rf"{_START}(?P<year>(?:19|20)\d\d){_END}"),
        weekday=re.compile(rf"{_START}(?P<weekday>{_alternatives(words.weekdays)})(?:[-\s]feira)?\.?{_END}"),
        relative=re.compile(rf"{_START}(?P<relative>{_alternatives(words.days)}){_END}"),
        ordinal=re.compile(
            rf"{_START}(?:(?P<word>{_alternatives(words.day_before)})\s)?(?P<day>\d{{1,2}})(?P<suffix>{SUFFIXES}|\.)?"
            rf"(?:\s(?P<after>{_alternatives(words.day_after)}))?{_END}(?![/.\-]\d)"
        ),
    )


# -- dates ahead: payments and payoffs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DateMention:
    """A date found in a message, and the message without it (folded) for understanding what was asked."""

    day: date
    rest: str


def read_day(text: str, locale: str, today: date) -> DateMention | None:
    """Return the date a reply names: alone ("friday", "fri", "15") or in a sentence ("on friday please")."""
    alone = _alone(fold(text), today)
    return DateMention(alone, "") if alone is not None else find_day(text, locale, today)


def find_day(text: str, locale: str, today: date) -> DateMention | None:
    """Return the first date a sentence names ("payoff for December 20"); a bare "15" or "fri" is no date here."""
    folded = fold(text)
    mention = next(_mentions(folded, locale, today), None)
    if mention is None:
        return None
    start, end, found = mention
    return DateMention(found, _without(folded, start, end))


def _alone(folded: str, today: date) -> date | None:
    """Return the date a reply made only of a date means, in the forms too short to trust in a sentence."""
    words = vocabulary()
    bare = _strip_around(folded)
    if bare in words.short_weekdays or bare in words.alone:
        number = words.short_weekdays.get(bare, words.weekdays.get(bare))
        return None if number is None else _coming(number, today)
    if match := _ORDINAL.match(bare) or re.fullmatch(r"(\d{1,2})", bare):
        return _next_day_of_month(int(match[1]), today)
    return None


def _strip_around(folded: str) -> str:
    """Return a reply without the small words around a date ("on the 15th" -> "15th")."""
    words = vocabulary()
    changed = True
    while changed:
        changed = False
        for word in words.before + words.day_before:
            if folded.startswith(word + " "):
                folded, changed = folded[len(word) + 1 :], True
        for word in words.after + words.day_after:
            if folded.endswith(" " + word):
                folded, changed = folded[: -len(word) - 1], True
    return folded.strip(" .")


def _mentions(folded: str, locale: str, today: date) -> Iterator[tuple[int, int, date]]:
    """Yield each date ahead named in the text, leftmost first; of two overlapping readings, the longer."""
    found = []
    shapes = patterns()
    for match in shapes.iso.finditer(folded):
        found.append((match.start(), match.end(), _ymd(int(match["year"]), int(match["month"]), int(match["day"]))))
    for match in shapes.year_first.finditer(folded):
        found.append((match.start(), match.end(), _named_ahead(match, today)))
    for match in shapes.numeric.finditer(folded):
        if match["sep"] == "." and not match["year"] and not match["dot"]:
            continue  # "5.10" is an amount more often than a date; "5.10." or "5.10.26" is a date
        found.append((match.start(), match.end(), _numeric_ahead(match, locale, today)))
    for shape in (shapes.day_month, shapes.month_day):
        for match in shape.finditer(folded):
            found.append((match.start(), match.end(), _named_ahead(match, today)))
    for match in shapes.weekday.finditer(folded):
        if match["weekday"] not in vocabulary().alone:
            found.append((match.start(), match.end(), _coming(vocabulary().weekdays[match["weekday"]], today)))
    for match in shapes.relative.finditer(folded):
        found.append((match.start(), match.end(), today + timedelta(days=vocabulary().days[match["relative"]])))
    for match in shapes.ordinal.finditer(folded):
        if match["word"] or match["after"] or match["suffix"] not in (None, "."):  # "2." may end a sentence
            found.append((match.start(), match.end(), _next_day_of_month(int(match["day"]), today)))
    kept: list[tuple[int, int, date]] = []
    for start, stop, day in sorted(found, key=lambda item: (item[0] - item[1], item[0])):
        if day is not None and all(stop <= other[0] or start >= other[1] for other in kept):
            kept.append((start, stop, day))
    yield from sorted(kept)


def _without(folded: str, start: int, end: int) -> str:
    """Return the text without the date at [start, end) and the words that lead to or follow it ("for the")."""
    words = vocabulary()
    head, tail = f" {folded[:start].strip()}", f"{folded[end:].strip()} "
    glued_before, glued_after = folded[start - 1 : start] not in ("", " "), folded[end : end + 1] not in ("", " ")
    while leading := next((word for word in words.before if _ends_with_word(head, word, glued_before)), None):
        head = head[: -len(leading)].rstrip() if _unspaced(leading) else head[: -len(leading) - 1]
    while following := next((word for word in words.after if _starts_with_word(tail, word, glued_after)), None):
        tail = tail[len(following) :].lstrip() + " " if _unspaced(following) else tail[len(following) + 1 :]
    return f"{head.strip()} {tail.strip()}".strip()


def _unspaced(word: str) -> bool:
    """Tell whether a word is written glued to its neighbours (Chinese, Korean particles): no space needed."""
    return _UNSPACED_WORD.match(word) is not None


def _chinese(word: str) -> bool:
    """Tell whether a word is Chinese, which is never written apart from its neighbours."""
    return _CHINESE_WORD.match(word) is not None


def _ends_with_word(head: str, word: str, glued: bool) -> bool:
    """Tell whether the text before a date ends with the word: after a space, or glued on in Chinese or Korean."""
    return head.endswith(f" {word}") or ((glued or _chinese(word)) and _unspaced(word) and head.endswith(word))


def _starts_with_word(tail: str, word: str, glued: bool) -> bool:
    """Tell whether the text after a date starts with the word: before a space, or glued on (금요일에)."""
    return tail.startswith(f"{word} ") or ((glued or _chinese(word)) and _unspaced(word) and tail.startswith(word))


def _coming(number: int, today: date) -> date:
    """Return the next such weekday after today (a week ahead when today is that day)."""
    return today + relativedelta(days=1, weekday=(MO, TU, WE, TH, FR, SA, SU)[number])


def _ymd(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _month_and_day(first: int, second: int, locale: str) -> tuple[int, int]:
    """Return (month, day) of two numbers in the locale's order, the other order when that one cannot be."""
    month, day = (first, second) if month_first(locale) else (second, first)
    if month > 12 >= day:
        month, day = day, month
    return month, day


def _numeric_ahead(match: re.Match[str], locale: str, today: date) -> date | None:
    month, day = _month_and_day(int(match["first"]), int(match["second"]), locale)
    return _ahead(match["year"], month, day, today)


def _named_ahead(match: re.Match[str], today: date) -> date | None:
    return _ahead(match["year"], vocabulary().months[match["month"]], int(match["day"]), today)


def _ahead(year: str | None, month: int, day: int, today: date) -> date | None:
    """Return a date ahead: in the year given ("26" is 2026), else the next such day."""
    if year:
        return _ymd(int(year) + 2000 if len(year) == 2 else int(year), month, day)
    return _next_of(month, day, today)


def _next_of(month: int, day: int, today: date) -> date | None:
    """Return the next date that is that day of that month, today included."""
    for year in range(today.year, today.year + 8):  # 29 February waits for a leap year
        found = _ymd(year, month, day)
        if found is not None and found >= today:
            return found
    return None


def _next_day_of_month(day: int, today: date) -> date | None:
    """Return the next date falling on that day of the month (this month if still ahead)."""
    year, month = today.year, today.month
    for _ in range(3):
        candidate = _ymd(year, month, day)
        if candidate is not None and candidate >= today:
            return candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


# -- dates of birth -------------------------------------------------------------------------------------------


def parse_birth_date(text: str, locale: str, today: date) -> date | None:
    """Return the date of birth a reply gives (day, month and year; never in the future), or None.

    A two-digit year is the latest that puts the date in the past: "08/14/72" is 1972, "03/02/05" 2005.
    """
    folded = fold(text)
    shapes = patterns()
    if match := shapes.compact.match(folded):
        digits = match["digits"]
        match = shapes.numeric.match(f"{digits[:2]}/{digits[2:4]}/{digits[4:]}")
    else:
        match = shapes.iso.search(folded) or shapes.year_first.search(folded) or _full(shapes.numeric, folded)
        match = match or _full(shapes.day_month, folded)
        match = match or _full(shapes.month_day, folded)
    if match is None:
        return None
    groups = match.groupdict()
    if "first" in groups:
        month, day = _month_and_day(int(groups["first"]), int(groups["second"]), locale)
    else:
        month = vocabulary().months.get(groups["month"]) or int(groups["month"])
        day = int(groups["day"])
    born = _in_the_past(int(groups["year"]), month, day, today)
    return born if born is not None and born.year >= 1900 else None


def _full(shape: re.Pattern[str], folded: str) -> re.Match[str] | None:
    return next((match for match in shape.finditer(folded) if match["year"]), None)


def _in_the_past(year: int, month: int, day: int, today: date) -> date | None:
    """Return the date in that year, or for a two-digit year in the latest century that puts it behind today."""
    if year >= 100:
        found = _ymd(year, month, day)
        return found if found is not None and found <= today else None
    for century in (today.year // 100 * 100, today.year // 100 * 100 - 100):
        found = _ymd(century + year, month, day)
        if found is not None and found <= today:
            return found
    return None


def names_a_full_date(text: str) -> bool:
    """Tell whether a reply gives a day, a month and a year (right or wrong, in any order or language)."""
    folded = fold(text)
    shapes = patterns()
    if shapes.compact.match(folded) or shapes.iso.search(folded) or shapes.year_first.search(folded):
        return True
    return any(_full(shape, folded) for shape in (shapes.numeric, shapes.day_month, shapes.month_day))


def names_part_of_a_date(text: str) -> bool:
    """Tell whether a reply gives only part of a date: a year alone, a day and month, a month and year."""
    folded = fold(text)
    if names_a_full_date(text):
        return False
    shapes = patterns()
    shapes_without_year = (shapes.numeric, shapes.day_month, shapes.month_day, shapes.month_year, shapes.year)
    return any(shape.search(folded) for shape in shapes_without_year)
