"""SMS segment arithmetic and paging: GSM-7 and its extension table, UCS-2, and pages that always fit."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.channels.segments import is_gsm7, pages, segment_count

SUFFIX = "\nReply MORE for the rest"


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("", 0),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # the extension table counts double
        ("€" * 81, 2),
        ("é" * 160, 1),  # é is in GSM-7
        ("á" * 70, 1),  # á is not: UCS-2
        ("á" * 71, 2),
        ("á" * 134, 2),
        ("á" * 135, 3),
        ("🙂" * 35, 1),  # an emoji is two UTF-16 units
        ("🙂" * 36, 2),
    ],
)
def test_segments_are_counted_as_carriers_count_them(text: str, segments: int) -> None:
    assert segment_count(text) == segments


def test_one_character_outside_gsm7_switches_the_whole_text_to_ucs2() -> None:
    assert is_gsm7("Your payment of $1,234.56 is due") and not is_gsm7("Su pago vence el miércoles ó")
    assert segment_count("a" * 100) == 1 and segment_count("a" * 99 + "ó") == 2


@given(st.text(alphabet=st.sampled_from("abc de\nfg€á🙂"), max_size=2000))
def test_every_page_fits_in_three_segments_and_nothing_is_lost(text: str) -> None:
    result = pages(text, SUFFIX)
    assert all(segment_count(page) <= 3 for page in result)
    assert all(page.endswith(SUFFIX) for page in result[:-1])
    if len(result) > 1:
        assert not result[-1].endswith(SUFFIX)
        joined = "".join(page.removesuffix(SUFFIX) for page in result)
        assert "".join(joined.split()) == "".join(text.split())  # every character but the spaces at the cuts


def test_pages_break_between_words() -> None:
    words = [f"word{n}" for n in range(200)]
    result = pages(" ".join(words), SUFFIX)
    assert len(result) > 1
    assert [word for page in result for word in page.removesuffix(SUFFIX).split()] == words
