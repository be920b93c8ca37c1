"""A deterministic synthetic portfolio for the benchmarks: a loan boarding file and a payment file."""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from dateutil.relativedelta import relativedelta
from sqlalchemy import text
from sqlalchemy.orm import Session

from servicing.rules.account import Product as LoanProduct
from servicing.rules.countries import LateCharge, country_rules, late_charge

TODAY = date(2026, 3, 20)
SEED = 20260320
LOAN_COLUMNS = (
    "loan_number", "product", "borrower_first_name", "borrower_last_name", "date_of_birth", "tax_id_last4",
    "phone", "email", "postal_code", "country", "locale", "timezone", "currency", "original_principal",
    "annual_rate", "term_months", "origination_date", "first_payment_date", "interest_method",
    "principal_balance", "next_due_date", "escrow_monthly", "escrow_balance", "late_fee_grace_days",
    "late_fee_rate", "late_fee_amount", "compounding", "bank_account_last4",
)  # fmt: skip
PAYMENT_COLUMNS = ("loan_number", "amount", "received_on", "reference", "method")
FIRST_NAMES = ("Ana", "Budi", "Chloé", "Dmitri", "Eun-ji", "Fátima", "George", "Hana", "Iker", "João")
LAST_NAMES = ("Silva", "Santoso", "Tremblay", "Müller", "Smith", "Tanaka", "García", "Okafor", "Nguyen")


@dataclass(frozen=True)
class Product:
    """A kind of loan the generator draws: product, market and terms."""

    product: str
    country: str
    locales: tuple[str, ...]
    currency: str
    places: int
    method: str
    compounding: str
    principal: tuple[int, int]
    terms: tuple[int, ...]
    rate: tuple[int, int]  # basis points
    escrow: bool
    weight: int


PRODUCTS = (
    Product("mortgage", "US", ("en_US", "es_US"), "USD", 2, "30/360", "monthly", (120_000, 750_000),
            (360, 240, 180), (450, 750), True, 40),
    Product("mortgage", "CA", ("fr_CA", "en_CA"), "CAD", 2, "30/360", "semiannual", (150_000, 900_000),
            (300,), (400, 650), False, 8),
    Product("personal", "ID", ("id_ID",), "IDR", 0, "actual/365", "monthly", (5_000_000, 90_000_000),
            (12, 24, 36), (900, 1800), False, 10),
    Product("auto", "BR", ("pt_BR",), "BRL", 2, "actual/365", "monthly", (20_000, 150_000),
            (36, 48, 60), (1100, 2400), False, 12),
    Product("auto", "US", ("en_US",), "USD", 2, "actual/365", "monthly", (12_000, 70_000),
            (48, 60, 72), (500, 1200), False, 14),
    Product("business", "DE", ("de_DE",), "EUR", 2, "actual/365", "monthly", (25_000, 400_000),
            (60, 84, 120), (450, 900), False, 6),
    Product("personal", "GB", ("en_GB",), "GBP", 2, "actual/365", "monthly", (2_000, 35_000),
            (24, 36, 60), (700, 1900), False, 6),
    Product("personal", "JP", ("ja_JP",), "JPY", 0, "actual/365", "monthly", (500_000, 5_000_000),
            (24, 36), (300, 1400), False, 4),
)  # fmt: skip


def _late_charge(kind: Product, named: bool) -> dict[str, str]:
    """Return a row's late-charge columns: most leave the country's default, some name one within its rules."""
    if not named:
        return {"late_fee_rate": "", "late_fee_amount": ""}
    if late_charge(kind.country, LoanProduct(kind.product)) is LateCharge.FIXED:
        return {"late_fee_rate": "", "late_fee_amount": "15.00"}
    cap = country_rules(kind.country).max_late_fee_rate
    return {"late_fee_rate": str(min(Decimal("0.04"), cap)), "late_fee_amount": ""}


def _amount(value: Decimal, places: int) -> str:
    return str(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def _schedule(rng: random.Random, kind: Product, paid: int, late: bool) -> tuple[date, date, date]:
    """Return (origination, first payment, next due) of a loan with `paid` installments behind it."""
    window_end = TODAY - relativedelta(months=1) if late else TODAY
    target = window_end - timedelta(days=rng.randrange(28))
    if kind.method == "30/360":  # mortgages fall due on the 1st
        target = window_end.replace(day=1)
    first_due = target - relativedelta(months=paid)
    if kind.method == "30/360":
        origination = first_due - relativedelta(months=2) + timedelta(days=rng.randrange(1, 28))
    else:
        origination = first_due - relativedelta(months=1)
    return origination, first_due, first_due + relativedelta(months=paid)


def loan_rows(count: int, seed: int = SEED) -> Iterator[dict[str, str]]:
    """Yield `count` boarding-file rows: mixed products, currencies and locales, some mid-life, some escrowed."""
    rng = random.Random(seed)
    weights = [p.weight for p in PRODUCTS]
    previous: dict[str, str] | None = None
    for index in range(count):
        kind = rng.choices(PRODUCTS, weights)[0]
        term = rng.choice(kind.terms)
        mid_life = rng.random() < 0.3
        paid = rng.randrange(6, min(72, term)) if mid_life else 0
        origination, first_due, next_due = _schedule(rng, kind, paid, late=rng.random() < 0.05)
        principal = Decimal(rng.randrange(*kind.principal))
        if kind.places:
            principal += Decimal(rng.randrange(100)) / 100
        balance = principal * (1 - Decimal(paid) / Decimal(term) * Decimal("0.8"))
        escrowed = kind.escrow and rng.random() < 0.5
        shared = previous is not None and index % 25 == 0
        row = {
            "loan_number": f"L{index:08d}",
            "product": kind.product,
            "borrower_first_name": rng.choice(FIRST_NAMES),
            "borrower_last_name": rng.choice(LAST_NAMES),
            "date_of_birth": (date(1950, 1, 1) + timedelta(days=rng.randrange(18_000))).isoformat(),
            "tax_id_last4": f"{rng.randrange(10_000):04d}",
            "phone": f"+1555{index:07d}" if kind.country in ("US", "CA") else f"+44770{index:07d}",
            "email": f"b{index}@example.com" if rng.random() < 0.7 else "",
            "postal_code": f"{rng.randrange(100_000):05d}",
            "country": kind.country,
            "locale": rng.choice(kind.locales),
            "timezone": "America/New_York" if kind.country == "US" and rng.random() < 0.5 else "",
            "currency": kind.currency,
            "original_principal": _amount(principal, kind.places),
            "annual_rate": str(Decimal(rng.randrange(*kind.rate)) / 10_000),
            "term_months": str(term),
            "origination_date": origination.isoformat(),
            "first_payment_date": first_due.isoformat(),
            "interest_method": kind.method,
            "principal_balance": _amount(balance, kind.places) if mid_life else "",
            "next_due_date": next_due.isoformat() if mid_life else "",
            "escrow_monthly": _amount(Decimal(rng.randrange(150, 700)), 2) if escrowed else "",
            "escrow_balance": _amount(Decimal(rng.randrange(0, 3000)), 2) if escrowed else "",
            "late_fee_grace_days": "" if rng.random() < 0.8 else "10",
            **_late_charge(kind, rng.random() >= 0.8),
            "compounding": kind.compounding if kind.compounding != "monthly" else "",
            "bank_account_last4": f"{rng.randrange(10_000):04d}" if rng.random() < 0.3 else "",
        }
        if shared and previous is not None and previous["country"] == kind.country:
            for key in ("borrower_first_name", "borrower_last_name", "date_of_birth", "phone"):
                row[key] = previous[key]
        previous = row
        yield row


def write_loan_file(path: Path, count: int, seed: int = SEED) -> Path:
    """Write a boarding file of `count` loans and return its path."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=LOAN_COLUMNS)
        writer.writeheader()
        writer.writerows(loan_rows(count, seed))
    return path


def payment_rows(session: Session, seed: int = SEED) -> Iterator[dict[str, str]]:
    """Yield one payment per boarded loan: mostly the installment, some partial, some with extra principal."""
    rng = random.Random(seed + 1)
    query = text(
        "SELECT loan_number, monthly_payment, escrow_monthly, next_due_date, minor_units FROM loans ORDER BY id"
    )
    for index, (number, payment, escrow, next_due, places) in enumerate(session.execute(query)):
        installment = (Decimal(payment) + Decimal(escrow)).scaleb(-4)
        draw = rng.random()
        if draw < 0.05:
            amount = installment / 2
        elif draw < 0.12:
            amount = installment + Decimal(rng.randrange(50, 500))
        else:
            amount = installment
        due = next_due if isinstance(next_due, date) else date.fromisoformat(next_due)
        received = min(TODAY, due + timedelta(days=rng.randrange(-3, 4)))
        yield {
            "loan_number": number,
            "amount": _amount(amount, places),
            "received_on": received.isoformat(),
            "reference": f"PAY-{index:08d}",
            "method": rng.choice(("ach", "ach", "ach", "check", "card", "wire")),
        }


def write_payment_file(path: Path, session: Session, seed: int = SEED) -> int:
    """Write a payment file with one payment per boarded loan; return how many rows it holds."""
    count = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=PAYMENT_COLUMNS)
        writer.writeheader()
        for row in payment_rows(session, seed):
            writer.writerow(row)
            count += 1
    return count
