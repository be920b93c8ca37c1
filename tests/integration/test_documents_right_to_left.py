"""Documents in Arabic, Chinese and Korean: their own script's Noto font, Arabic laid out right to left, and the
numbers inside an Arabic sentence (a phone number, an amount, the loan number) still drawn in their order.

Read back with poppler-utils (pdffonts, pdftotext -bbox), as a reader's PDF viewer would lay them out.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from servicing.documents.render import Rendered, Renderer
from tests.integration.test_statement_pictures import SAMPLE, context

pytestmark = pytest.mark.skipif(
    shutil.which("pdffonts") is None or shutil.which("pdftotext") is None,
    reason="pdffonts and pdftotext (poppler-utils) are not installed",
)
WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="[\d.]+" yMax="[\d.]+">([^<]*)</word>')
FONTS = {"ar_EG": "Noto-Sans-Arabic", "zh_Hans_US": "Noto-Sans-CJK-SC", "ko_KR": "Noto-Sans-CJK-KR"}
BIDI_CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
TITLES = {"ar_EG": "كشف حساب التمويل العقاري", "zh_Hans_US": "房贷对账单", "ko_KR": "주택담보대출 명세서"}


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


@pytest.fixture(scope="module")
def statements(renderer: Renderer) -> dict[str, Rendered]:
    return {locale: renderer.render("statement_mortgage.html", context(SAMPLE), locale) for locale in FONTS}


def poppler(tool: str, pdf: bytes, folder: Path, *options: str) -> str:
    source = folder / "document.pdf"
    source.write_bytes(pdf)
    return subprocess.run([tool, *options, str(source), "-"] if tool == "pdftotext" else [tool, str(source)],
                          check=True, capture_output=True, text=True).stdout  # fmt: skip


def words(pdf: bytes, folder: Path) -> list[tuple[float, float, str]]:
    """Every word of the first page with where it is drawn: (y of its top, x of its left edge, text)."""
    return [(float(y), float(x), text) for x, y, text in WORD.findall(poppler("pdftotext", pdf, folder, "-bbox"))]


def drawn_in_order(found: list[tuple[float, float, str]], run: list[str]) -> list[bool]:
    """For each line holding the words of `run`, whether they are drawn left to right (a line: tops within 5pt)."""
    verdicts = []
    for top, _, text in found:
        if text == run[0]:
            at = {word: x for y, x, word in found if word in run and abs(y - top) < 5}
            if len(at) == len(run):
                verdicts.append([at[word] for word in run] == sorted(at.values()))
    return verdicts


def plain(text: str) -> str:
    """Text without the directional marks pdftotext adds around right-to-left runs."""
    return BIDI_CONTROLS.sub("", text)


@pytest.mark.parametrize("locale", sorted(FONTS))
def test_a_statement_in_each_script_is_set_in_that_scripts_noto_font(
    statements: dict[str, Rendered], locale: str, tmp_path: Path
) -> None:
    rendered = statements[locale]
    assert (rendered.fell_back, rendered.pages) == (False, 1)
    fonts = poppler("pdffonts", rendered.pdf, tmp_path)
    assert FONTS[locale] in fonts and FONTS[locale] + "-Bold" in fonts
    assert "DejaVu" not in fonts, "no word fell back to a font of another design"
    assert TITLES[locale] in plain(poppler("pdftotext", rendered.pdf, tmp_path, "-layout"))


def test_an_arabic_document_is_written_right_to_left_and_a_chinese_one_left_to_right(renderer: Renderer) -> None:
    arabic, language, _ = renderer.html("statement_mortgage.html", context(SAMPLE), "ar_EG")
    assert language == "ar" and '<html lang="ar" dir="rtl">' in arabic
    chinese, language, _ = renderer.html("statement_mortgage.html", context(SAMPLE), "zh_Hans_US")
    assert language == "zh_CN" and '<html lang="zh-CN" dir="ltr">' in chinese


def test_in_an_arabic_sentence_the_phone_number_and_the_loan_number_read_in_order(
    statements: dict[str, Rendered], tmp_path: Path
) -> None:
    found = words(statements["ar_EG"].pdf, tmp_path)
    phone = drawn_in_order(found, ["+1", "800", "555", "0100"])
    assert len(phone) >= 3 and all(phone)  # the letterhead, the Arabic "Contact us" sentence and the footer
    assert any(text == SAMPLE.loan_number for _, _, text in found)
    assert any(text == "1,264.13" for _, _, text in found)  # the amount due, whole


def test_arabic_figures_and_dates_keep_latin_digits_in_the_document(statements: dict[str, Rendered]) -> None:
    page, _, _ = Renderer().html("statement_mortgage.html", context(SAMPLE), "ar_EG")
    assert "1,264.13" in page and "2026" in page
    assert not re.search("[\u0660-\u0669]", page)
