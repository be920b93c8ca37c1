"""What a search query is, and the folded text names are matched on: pure, no database.

Names are matched on a *search key*: the text in Unicode compatibility form (full-width and half-width
forms made one), accents taken off Latin, Greek and Cyrillic letters and the optional vowel marks off
Arabic, case folded (ß matches ss), spaces collapsed. Marks that carry meaning in other scripts
(Devanagari vowel signs, the virama) are kept. The same function folds the stored names and the query,
so "José Müller", "jose muller" and "JOSÉ MÜLLER" are one key, and Chinese, Arabic or Hindi names match
as written.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import phonenumbers

# Marks on letters below U+0590 (Latin, Greek, Cyrillic, Armenian) are accents: "é" is "e" + U+0301.
_ACCENTED_SCRIPTS_END = 0x0590
# Arabic harakat, tanwin, shadda, sukun and the superscript alef: written or not, the name is the same.
_ARABIC_VOWEL_MARKS = frozenset(range(0x064B, 0x0660)) | {0x0670}
_PHONE_CHARACTERS = re.compile(r"^\+?[\d\s().\-/]+$")
_WORD = re.compile(r"\w+")
MIN_PHONE_DIGITS = 7
MAX_QUERY_LENGTH = 200


def search_key(text: str) -> str:
    """Return the folded form a name or query is matched on (accents off, case folded, spaces collapsed)."""
    decomposed = unicodedata.normalize("NFKD", text)
    kept: list[str] = []
    base = 0
    for character in decomposed:
        code = ord(character)
        if unicodedata.category(character) == "Mn":
            if base < _ACCENTED_SCRIPTS_END or code in _ARABIC_VOWEL_MARKS:
                continue
        else:
            base = code
        kept.append(character)
    folded = unicodedata.normalize("NFC", "".join(kept)).casefold()
    return " ".join(folded.split())


def borrower_search_key(first_name: str, last_name: str, email: str | None) -> str:
    """Return the search key stored for a borrower: their name, the family name then the given name written
    together (as Chinese, Japanese and Korean names are: 王小明), then their email."""
    together = f"{last_name}{first_name}".replace(" ", "")
    return search_key(" ".join(part for part in (first_name, last_name, together, email or "") if part))


def words_of(text: str) -> list[str]:
    """Return the words of a query, folded (letters and digits of any script; punctuation drops out)."""
    return _WORD.findall(search_key(text))


def phone_number_in(text: str, region: str) -> str | None:
    """Return the E.164 form of a query that is a phone number in any common format, else None.

    A number without a country code is read as one of `region` (the servicer's country).
    """
    stripped = text.strip()
    if not _PHONE_CHARACTERS.match(stripped) or sum(c.isdigit() for c in stripped) < MIN_PHONE_DIGITS:
        return None
    try:
        number = phonenumbers.parse(stripped, region.upper())
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def last_four_digits_in(text: str) -> str | None:
    """Return the query's digits when it is exactly 4 digits ("1005": a phone's or a loan's last 4)."""
    digits = re.sub(r"[\s\-]", "", text)
    return digits if len(digits) == 4 and digits.isascii() and digits.isdigit() else None


def looks_like_email(text: str) -> bool:
    """Tell whether a query is an email address (something@something.tld, no spaces)."""
    return re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", text.strip()) is not None


@dataclass(frozen=True)
class Query:
    """A search query as typed, and what it may be: a phone, a last 4, an email, an identifier, words."""

    text: str
    key: str
    words: tuple[str, ...]
    phone: str | None
    last4: str | None
    email: str | None
    identifier: str | None  # a loan number or case reference as typed, upper-cased


def read_query(text: str, region: str) -> Query:
    """Read a query: control characters out, cut to 200 characters; recognize a phone, a last 4, an email and an
    identifier."""
    printable = "".join(character if character.isprintable() else " " for character in text)  # NUL, controls
    typed = " ".join(printable.split())[:MAX_QUERY_LENGTH]
    identifier = typed.upper() if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9\-]{1,31}", typed) else None
    return Query(
        text=typed,
        key=search_key(typed),
        words=tuple(words_of(typed)),
        phone=phone_number_in(typed, region),
        last4=last_four_digits_in(typed),
        email=typed.casefold() if looks_like_email(typed) else None,
        identifier=identifier,
    )


def masked_query(query: Query) -> str:
    """Return a query as the audit log keeps it: phones and 4-digit endings as their last 4, an email as its
    first letter and domain, a name or words as each word's first two letters; identifiers as typed."""
    if query.phone is not None:
        return f"phone …{query.phone[-4:]}"
    if query.last4 is not None:
        return f"ending …{query.last4}"
    if query.email is not None:
        local, domain = query.email.split("@", 1)
        return f"email {local[:1]}…@{domain}"
    if query.identifier is not None and any(c.isdigit() for c in query.identifier):
        return query.identifier
    return " ".join(f"{word[:2]}…" if len(word) > 2 else word for word in query.text.split())
