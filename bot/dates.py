"""Dates in borrowers' words: "friday", "mañana", "the 15th", "15/12", in every supported language."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta

from babel.dates import get_date_format

WEEKDAYS: dict[str, tuple[tuple[str, ...], ...]] = {
    # Monday first; each day's spellings, accents folded
    "en": (("monday", "mon"), ("tuesday", "tue", "tues"), ("wednesday", "wed"), ("thursday", "thu", "thurs"),
           ("friday", "fri"), ("saturday", "sat"), ("sunday", "sun")),
    "es": (("lunes",), ("martes",), ("miercoles",), ("jueves",), ("viernes",), ("sabado",), ("domingo",)),
    "fr": (("lundi",), ("mardi",), ("mercredi",), ("jeudi",), ("vendredi",), ("samedi",), ("dimanche",)),
    "pt_BR": (("segunda", "seg"), ("terca", "ter"), ("quarta", "qua"), ("quinta", "qui"), ("sexta", "sex"),
              ("sabado", "sab"), ("domingo", "dom")),
    "de": (("montag",), ("dienstag",), ("mittwoch",), ("donnerstag",), ("freitag",), ("samstag",), ("sonntag",)),
    "it": (("lunedi",), ("martedi",), ("mercoledi",), ("giovedi",), ("venerdi",), ("sabato",), ("domenica",)),
    "hi": (("somvar", "सोमवार"), ("mangalvar", "मंगलवार"), ("budhvar", "बुधवार"), ("guruvar", "गुरुवार"),
           ("shukravar", "शुक्रवार"), ("shanivar", "शनिवार"), ("ravivar", "रविवार")),
    "id": (("senin",), ("selasa",), ("rabu",), ("kamis",), ("jumat",), ("sabtu",), ("minggu",)),
}  # fmt: skip
RELATIVE: dict[str, int] = {
    **dict.fromkeys(("today", "hoy", "aujourdhui", "hoje", "heute", "oggi", "aaj", "आज", "hari ini", "now"), 0),
    **dict.fromkeys(
        ("tomorrow", "tmrw", "tmr", "manana", "demain", "amanha", "morgen", "domani", "kal", "कल", "besok"), 1
    ),
    **dict.fromkeys(
        (
            "day after tomorrow",
            "pasado manana",
            "apres demain",
            "depois de amanha",
            "ubermorgen",
            "dopodomani",
            "parso",
            "परसों",
            "lusa",
        ),
        2,
    ),
}
_DAY_OF_MONTH = re.compile(
    r"^(?:the |el |le |dia |am |il |tanggal |tgl )?(\d{1,2})(?:st|nd|rd|th|er|e|º|°|\.)?(?: tarikh| तारीख)?$"
)
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_NUMERIC = re.compile(r"^(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2,4}))?$")


def fold(text: str) -> str:
    """Lowercase, drop accents and punctuation other than date separators, squeeze spaces."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c) or "\u0900" <= c <= "\u097f")
    plain = re.sub(r"[^\w\s/.\-º°\u0900-\u097f]", "", plain)
    return re.sub(r"\s+", " ", plain).strip().strip(".")


def month_first(locale: str) -> bool:
    """Tell whether people of the locale write month before day in numeric dates (en_US: 12/15).

    Where CLDR's short date is year first (fr_CA, en_CA: 2026-04-15) people still write a short
    date day first, except in the United States.
    """
    pattern = get_date_format("short", locale=locale).pattern.lstrip("'")
    if pattern.startswith("y"):
        return locale.endswith("_US")
    return pattern.find("M") < pattern.find("d")


ARTICLES = re.compile(  # "on friday", "el viernes", "na sexta", "am Freitag", "hari jumat"...
    r"^(?:on |the |next |this |el |la |le |este |esta |ce |na |no |nesta |neste |am |diesen |il |questo "
    r"|hari |pada |ko )+"
)
WEEKDAY_SUFFIX = re.compile(r"-?feira$")


def parse_day(text: str, locale: str, today: date) -> date | None:
    """Return the date a borrower means ("friday", "el viernes", "mañana", "15th", "12/15"), or None."""
    words = fold(text)
    if not words or len(words) > 40:
        return None
    words = WEEKDAY_SUFFIX.sub("", ARTICLES.sub("", words)).strip() or words
    if words in RELATIVE:
        return today + timedelta(days=RELATIVE[words])
    for spellings in WEEKDAYS.values():
        for weekday, names in enumerate(spellings):
            if words in names:
                return today + timedelta(days=(weekday - today.weekday()) % 7 or 7)
    return _numeric_day(words, locale, today)


def _numeric_day(words: str, locale: str, today: date) -> date | None:
    try:
        if match := _ISO.match(words):
            return date(int(match[1]), int(match[2]), int(match[3]))
        if match := _DAY_OF_MONTH.match(words):
            return _next_day_of_month(int(match[1]), today)
        if match := _NUMERIC.match(words):
            first, second = int(match[1]), int(match[2])
            month, day = (first, second) if month_first(locale) else (second, first)
            year = int(match[3]) if match[3] else today.year
            year = year + 2000 if year < 100 else year
            found = date(year, month, day)
            return found if match[3] or found >= today else date(year + 1, month, day)
    except ValueError:
        return None
    return None


def _next_day_of_month(day: int, today: date) -> date | None:
    """Return the next date falling on that day of the month (this month if still ahead)."""
    year, month = today.year, today.month
    for _ in range(3):
        try:
            candidate = date(year, month, day)
        except ValueError:
            candidate = None
        if candidate is not None and candidate >= today:
            return candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None
