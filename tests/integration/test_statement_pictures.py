"""A look at the statements: one page per language as PNG in test-artifacts/statements/ (and docs/images/).

Run with LOANLINE_DOCS_IMAGES=1 (`make statement-pictures`) to refresh the small pictures docs/documents.md shows.
The figures are a fixed sample: the other statement tests check the figures; this one checks every language lays
the page out with no missing glyph and no line running out of its column.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from dataclasses import replace
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pypdf
import pytest

from servicing.documents.context import servicer_block
from servicing.documents.render import Renderer
from servicing.documents.statement_figures import Activity, Applied, CycleHistory, Delinquency, StatementFigures
from servicing.documents.statements import HOUSING_COUNSELORS

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "statements"
DOCS_IMAGES = ROOT / "docs" / "images"
LOCALES = {"en": "en_US", "es": "es_US", "fr": "fr_CA", "pt_BR": "pt_BR", "de": "de_DE", "it": "it_IT", "hi": "hi_IN",
           "id": "id_ID", "zh_CN": "zh_Hans_US", "vi": "vi_VN", "ko": "ko_KR", "fil": "fil_PH",
           "ar": "ar_EG"}  # fmt: skip
TITLES = {"en": "Mortgage statement", "es": "Estado de cuenta hipotecario", "fr": "Relevé de prêt hypothécaire",
          "pt_BR": "Extrato do financiamento imobiliário", "de": "Kontoauszug Hypothekendarlehen",
          "it": "Estratto conto del mutuo", "hi": "बंधक ऋण", "id": "Laporan pinjaman hipotek", "zh_CN": "房贷对账单",
          "vi": "Bảng sao kê khoản vay thế chấp", "ko": "주택담보대출 명세서", "fil": "Statement ng mortgage",
          "ar": "كشف حساب التمويل العقاري"}  # fmt: skip
SAMPLE = StatementFigures(
    loan_id=1, loan_number="M-20260301", product="mortgage", currency="USD", scheduled=True,
    statement_date=date(2026, 3, 14), due_date=date(2026, 4, 1), amount_due=D("1264.13"), late_fee=D("42.58"),
    late_fee_after=date(2026, 4, 16), principal=D("165.70"), interest=D("685.98"), escrow=D("200.00"),
    regular_payment=D("1051.68"), past_due=D("0.00"), fees_due=D("42.58"), escrow_shortage=D("469.87"),
    suspense_applied=D("300.00"), fees_since_last=D("42.58"), activity_since=date(2026, 2, 14),
    paid_since_last=Applied(D("164.94"), D("686.74"), D("200.00"), D("0.00"), D("300.00")),
    paid_year_to_date=Applied(D("493.72"), D("2059.30"), D("600.00"), D("0.00"), D("300.00")),
    activity=(Activity(date(2026, 2, 17), "late_fee", charge=D("42.58")),
              Activity(date(2026, 2, 27), "payment", credit=D("1051.68")),
              Activity(date(2026, 3, 6), "partial_payment", credit=D("300.00")),
              Activity(date(2026, 3, 10), "escrow_billed", charge=D("469.87"))),
    principal_balance=D("149506.28"), annual_rate=D("0.055"), escrow_balance=D("512.40"),
    suspense_balance=D("300.00"), deferred_balance=D("0.00"), days_past_due=0, delinquency=None,
    ledger_through=0, payments_through=0, partial_payment_reflected=True,
)  # fmt: skip
DELINQUENT = replace(
    SAMPLE, amount_due=D("3240.22"), past_due=D("2103.36"), escrow_shortage=D("0.00"), suspense_applied=D("0.00"),
    fees_due=D("85.16"), days_past_due=72, partial_payment_reflected=False,
    delinquency=Delinquency(
        since=date(2026, 1, 1), days=72,
        history=(CycleHistory(date(2025, 10, 1), D("1051.68"), D("0.00"), date(2025, 9, 29)),
                 CycleHistory(date(2025, 11, 1), D("1051.68"), D("0.00"), date(2025, 11, 3)),
                 CycleHistory(date(2025, 12, 1), D("1051.68"), D("0.00"), date(2025, 12, 1)),
                 CycleHistory(date(2026, 1, 1), D("1051.68"), D("1051.68"), None),
                 CycleHistory(date(2026, 2, 1), D("1051.68"), D("1051.68"), None),
                 CycleHistory(date(2026, 3, 1), D("1051.68"), D("1051.68"), None)),
        to_bring_current=D("3240.20"), program="repayment_plan", program_since=date(2026, 3, 2),
        foreclosure_started_on=None,
    ),
)  # fmt: skip


RECIPIENT = ["ANA MARÍA SILVA DE OLIVEIRA", "1250 NORTH LAKE SHORE DRIVE", "APARTMENT 14B", "SPRINGFIELD IL 62704"]
PROPERTY = "1250 North Lake Shore Drive, Apartment 14B, Springfield IL 62704"


def context(figures: StatementFigures) -> dict[str, object]:
    return {
        "servicer": servicer_block("Loanline Demo Servicing", "+1 800 555 0100", "PO Box 1000, Springfield, IL 62701"),
        "recipient": RECIPIENT,
        "document_date": figures.statement_date,
        "loan": {"number": figures.loan_number, "product": "mortgage", "currency": "USD", "property": PROPERTY},
        "s": figures,
        "counselors": HOUSING_COUNSELORS,
    }


def picture(pdf: bytes, name: str, folder: Path, resolution: int, pages: tuple[int, int] = (1, 1)) -> Path:
    """Write a statement's pages as PNG (pdftoppm) and return the first one's path."""
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / f"{name}.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", str(resolution), "-f", str(pages[0]), "-l", str(pages[1]),
                    str(source), str(folder / name)], check=True)  # fmt: skip
    source.unlink()
    return folder / f"{name}-1.png"


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) is not installed")
@pytest.mark.parametrize("language", list(LOCALES))
def test_every_language_lays_out_the_mortgage_statement_on_one_page(renderer: Renderer, language: str) -> None:
    rendered = renderer.render("statement_mortgage.html", context(SAMPLE), LOCALES[language])
    text = " ".join(" ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(rendered.pdf)).pages).split())
    assert (rendered.language, rendered.fell_back, rendered.pages) == (language, False, 1)
    assert TITLES[language] in text and "\ufffd" not in text
    image = picture(rendered.pdf, language, ARTIFACTS, 80)
    assert image.stat().st_size > 10_000
    if os.environ.get("LOANLINE_DOCS_IMAGES"):
        (DOCS_IMAGES / f"statement-{language}.png").write_bytes(picture(rendered.pdf, language, ARTIFACTS / "docs",
                                                                           60).read_bytes())  # fmt: skip


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) is not installed")
def test_the_delinquency_box_fits_with_the_rest_of_the_statement(renderer: Renderer) -> None:
    rendered = renderer.render("statement_mortgage.html", context(DELINQUENT), "en_US")
    assert rendered.pages <= 2
    image = picture(rendered.pdf, "delinquent", ARTIFACTS, 80, pages=(1, rendered.pages))
    assert image.exists()
    if os.environ.get("LOANLINE_DOCS_IMAGES"):
        for page in range(1, rendered.pages + 1):
            small = picture(rendered.pdf, "delinquent", ARTIFACTS / "docs", 60, pages=(page, page))
            (DOCS_IMAGES / f"statement-delinquent-{page}.png").write_bytes(
                small.with_name(f"delinquent-{page}.png").read_bytes()
            )
