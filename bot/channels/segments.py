"""SMS segments: how many parts a text costs, and cutting long texts into pages that fit.

GSM-7 carries 160 characters in one segment or 153 per segment when concatenated; characters of the
extension table (such as `€`, `[` or `{`) take two. Any character outside GSM-7 switches the whole
message to UCS-2: 70 UTF-16 code units in one segment, 67 per segment when concatenated.
"""

from __future__ import annotations

import math
import re

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
MAX_SEGMENTS = 3
# A piece is a word with its trailing spaces; Chinese writes no spaces, so a piece also ends after a full-width
# comma, full stop, colon, semicolon, question or exclamation mark (a page then ends where a clause does).
# A page never breaks at a no-break space (Babel puts one between an amount and its currency, "9,583.33 ج.م.",
# "1 234,56 $") nor inside a directional isolate (U+2068 ... U+2069, an Arabic reply's amounts and dates).
_CLAUSE_MARKS = "，。：；？！、"
_NO_BREAK = "\u00a0\u2007\u202f"
_SPACE = rf"[^\S{_NO_BREAK}]"
_UNIT = rf"\u2068[^\u2069]*\u2069|[{_NO_BREAK}]"
_PIECES = re.compile(
    rf"(?:{_UNIT}|[^\s{_CLAUSE_MARKS}])*[{_CLAUSE_MARKS}]+{_SPACE}*"
    rf"|(?:{_UNIT}|\S)+{_SPACE}*|{_SPACE}+"
)


def is_gsm7(text: str) -> bool:
    """Tell whether a text can travel in the GSM-7 alphabet (basic or extension table)."""
    return all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text)


def segment_count(text: str) -> int:
    """Return how many SMS segments a text takes (0 for an empty text)."""
    if is_gsm7(text):
        units = sum(2 if char in GSM7_EXTENSION else 1 for char in text)
        single, multi = 160, 153
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi = 70, 67
    if units == 0:
        return 0
    return 1 if units <= single else math.ceil(units / multi)


def fits(text: str, segments: int = MAX_SEGMENTS) -> bool:
    """Tell whether a text fits in the given number of segments."""
    return segment_count(text) <= segments


def pages(text: str, suffix: str, segments: int = MAX_SEGMENTS) -> list[str]:
    """Cut a text into pages of at most `segments` segments each, every page but the last ending with `suffix`.

    Pages break between words where possible; a word longer than a page is cut inside.
    """
    if fits(text, segments):
        return [text]
    result: list[str] = []
    current = ""
    for piece in _pieces(text, suffix, segments):
        if current.strip() and not fits(current + piece + suffix, segments):
            result.append(current.rstrip() + suffix)
            current = piece.lstrip()
        else:
            current += piece
    if current.strip():
        result.append(current.rstrip())
    return result


def _pieces(text: str, suffix: str, segments: int) -> list[str]:
    """Return words with their trailing spaces; words too long for one page are cut to fit."""
    pieces: list[str] = []
    for word in _PIECES.findall(text):
        rest = word
        while not fits(rest + suffix, segments):
            cut = _longest_prefix(rest, suffix, segments)
            pieces.append(rest[:cut])
            rest = rest[cut:]
        pieces.append(rest)
    return pieces


def _longest_prefix(piece: str, suffix: str, segments: int) -> int:
    low, high = 1, len(piece)
    while low < high:
        middle = (low + high + 1) // 2
        if fits(piece[:middle] + suffix, segments):
            low = middle
        else:
            high = middle - 1
    return low
