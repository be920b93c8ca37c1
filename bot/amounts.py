"""Amounts in borrowers' words: "500", "$1,250.50", "1.250,50 €", "₹1,50,000", "Rp 500.000", "५००", "500 ribu",
"5万", "50만원", "2 triệu", "٥٠٠٫٥٠", "5 libo".

An amount is a number in the text that is not part of the date it names ("pagaré 500 el 15": 500, not 15; a
number is part of the date when the text without it names another date or none). Separators are read the way
the borrower's locale writes them (en_US 1,250.50; de_DE 1.250,50; fr 1 250,50), except where the number says
otherwise: two different marks, or one mark used twice, leave no doubt which groups and which is the decimal
point; one mark followed by one or two digits is a decimal point; one followed by three digits is the locale's
grouping mark (en_US "1,250" is 1250, id_ID "500.000" is 500000) or else no amount (en_US "1.250"). A message
with two amounts ("200 now and 300 on friday") names none: the bot asks.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation

from babel import UnknownLocaleError
from babel.numbers import get_decimal_symbol, get_group_symbol

from bot.dates import find_day

MAX_TEXT = 300  # characters of a message searched for an amount
_SPACES = "\u0020\u00a0\u202f"
# A number not glued to a word, a date ("12/15", "5:30") or another number: "1 250" (spaces group by three
# digits only), "1,250.50", "1.250,50", "1,50,000", "500/-"; its marks are read afterwards by `read_number`.
# Words that multiply the number before them: "2k", "500 ribu", "5 mil", "2 lakh", "5 हजार".
MULTIPLIERS = {
    "k": 1_000, "thousand": 1_000, "mil": 1_000, "mille": 1_000, "mila": 1_000, "tausend": 1_000, "rb": 1_000,
    "ribu": 1_000, "hazar": 1_000, "hajar": 1_000, "हजार": 1_000, "हज़ार": 1_000, "jt": 1_000_000,
    "juta": 1_000_000, "lakh": 100_000, "lakhs": 100_000, "lac": 100_000, "लाख": 100_000,
    "千": 1_000, "千元": 1_000, "千块": 1_000, "万": 10_000, "万元": 10_000, "万块": 10_000, "ngàn": 1_000,
    "ngan": 1_000, "nghìn": 1_000, "nghin": 1_000, "triệu": 1_000_000, "trieu": 1_000_000, "tr": 1_000_000,
    "천": 1_000, "천원": 1_000, "만": 10_000, "만원": 10_000, "억": 100_000_000, "억원": 100_000_000,
    "libo": 1_000, "milyon": 1_000_000, "ألف": 1_000, "الف": 1_000, "آلاف": 1_000, "الاف": 1_000,
    "مليون": 1_000_000,
}  # fmt: skip
_TIMES = "|".join(sorted(map(re.escape, MULTIPLIERS), key=len, reverse=True))
_NUMBER = re.compile(
    rf"(?<![\w/:,\-])(?<!\d\.)"
    rf"(?P<number>\d{{1,3}}(?:[{_SPACES}]\d{{3}})+(?:[.,]\d{{1,2}})?|\d+(?:[.,']\d+)*)"
    rf"(?:[{_SPACES}]?(?P<times>{_TIMES}))?"
    rf"(?![\w:]|/(?!-)|[.,]\d|[{_SPACES}]\d{{3}}(?!\d))",
    re.IGNORECASE,
)
_GROUPED = re.compile(r"^\d{1,3}(?:([.,' \u00a0\u202f])\d{2,3})*$")


def ascii_digits(text: str) -> str:
    """Return the text with every decimal digit (Devanagari ५, Arabic-Indic...) written as an ASCII digit."""
    return "".join(str(unicodedata.decimal(character, "")) or character for character in text)


# The Arabic decimal and thousands marks (٥٠٠٫٥٠, ١٬٥٠٠), as the ASCII marks they stand for.
_ARABIC_MARKS = str.maketrans({"\u066b": ".", "\u066c": ","})
# A number glued to a Chinese character or Korean syllable ("付500元", "50만원") stands apart from it.
_GLUED = re.compile(r"(?<=\d)(?=[\u3400-\u9fff\uac00-\ud7a3])|(?<=[\u3400-\u9fff\uac00-\ud7a3])(?=\d)")


def readable(text: str) -> str:
    """Return the text with ASCII digits and marks, and numbers apart from the Chinese or Korean words around."""
    return _GLUED.sub(" ", ascii_digits(text).translate(_ARABIC_MARKS))


def find_amount(text: str, locale: str, today: date) -> Decimal | None:
    """Return the one amount a message names, outside the date it names; None for none, or for two."""
    plain = readable(text[:MAX_TEXT])
    named = find_day(plain, locale, today)
    amounts = []
    for match in _NUMBER.finditer(plain):
        if named is not None and _part_of_the_date(plain, match, locale, today, named.day):
            continue
        amount = read_number(match["number"], locale)
        if amount is not None:
            amounts.append(amount * MULTIPLIERS.get((match["times"] or "").casefold(), 1))
    return amounts[0] if len(set(amounts)) == 1 else None


def _part_of_the_date(text: str, match: re.Match[str], locale: str, today: date, day: date) -> bool:
    """Tell whether a number belongs to the date a text names: without it, the text names another date or none."""
    without = f"{text[: match.start()]} {text[match.end() :]}"
    found = find_day(without, locale, today)
    return found is None or found.day != day


def read_number(written: str, locale: str) -> Decimal | None:
    """Return the number a borrower wrote ("1,250.50", "1.250,50", "1 250", "500"), or None when it is no number."""
    marks = [character for character in written if not character.isdigit()]
    if not marks:
        return Decimal(written)
    decimal_mark = _decimal_mark(written, marks, locale)
    if decimal_mark is None:
        whole, fraction = written, ""
    else:
        whole, _, fraction = written.rpartition(decimal_mark)
        if not 1 <= len(fraction) <= 2 or not fraction.isdigit():
            return None
    if whole and not _GROUPED.match(whole) and not whole.isdigit():
        return None
    digits = "".join(character for character in whole if character.isdigit())
    try:
        return Decimal(f"{digits or 0}.{fraction}" if fraction else digits)
    except InvalidOperation:
        return None


def _decimal_mark(written: str, marks: list[str], locale: str) -> str | None:
    """Return the mark that is the decimal point in a written number, or None when every mark groups digits."""
    last = marks[-1]
    if last in _SPACES or last == "'":
        return None
    if len(set(marks)) > 1:
        return last  # "1,250.50", "1.250,50": the last of two different marks is the decimal point
    if len(marks) > 1:
        return None  # "1,250,000", "1.250.000", "1,50,000": a mark used twice groups
    after = len(written) - written.rfind(last) - 1
    if after != 3:
        return last  # "12.5", "12,50": one or two digits after the mark are cents
    return last if last == _locale_decimal(locale) else None  # "1,250": en 1250; de: 3 decimals, no amount


def _locale_decimal(locale: str) -> str:
    try:
        decimal, group = get_decimal_symbol(locale), get_group_symbol(locale)
    except (UnknownLocaleError, ValueError):
        return "."
    return decimal if decimal != group else "."
