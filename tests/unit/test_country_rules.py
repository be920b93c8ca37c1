"""Boarding defaults and caps by the loan's country: compounding, late charges (servicing/rules/countries.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D
from typing import Any

import pytest

from servicing.boarding import parse_loan_row
from servicing.errors import InvalidInput
from servicing.rules.account import Account, Product
from servicing.rules.delinquency import late_fees_due
from servicing.rules.interest import Compounding, InterestMethod, level_payment

ROW = {
    "loan_number": "C-1", "product": "mortgage", "borrower_first_name": "Ana", "borrower_last_name": "Silva",
    "date_of_birth": "1980-05-04", "tax_id_last4": "1234", "phone": "+15550000001", "postal_code": "10001",
    "country": "US", "locale": "en_US", "currency": "USD", "original_principal": "300000.00",
    "annual_rate": "0.06", "term_months": "300", "origination_date": "2026-01-01",
    "first_payment_date": "2026-02-01", "interest_method": "30/360",
}  # fmt: skip


def row(**fields: Any) -> dict[str, str]:
    return {**ROW, **fields}


def test_a_canadian_mortgage_boarded_without_compounding_compounds_semi_annually() -> None:
    # Interest Act s.6: 300,000 at 6% over 25 years. Semi-annual: the monthly rate is 1.03^(1/6) - 1 =
    # 0.00493862..., payment 300000 x r / (1 - (1 + r)^-300) = 1,919.42; compounded monthly it would be 1,932.90.
    record = parse_loan_row(row(country="CA", locale="en_CA", currency="CAD", postal_code="M5V 2T6"))
    assert record.compounding is Compounding.SEMIANNUAL
    payment = level_payment(record.original_principal, record.annual_rate, 300, "CAD", record.compounding)
    assert payment == D("1919.42")


def test_a_canadian_personal_loan_and_a_us_mortgage_compound_monthly() -> None:
    personal = parse_loan_row(row(country="CA", locale="en_CA", currency="CAD", product="personal",
                                  interest_method="actual/365", term_months="60"))  # fmt: skip
    assert personal.compounding is Compounding.MONTHLY
    assert parse_loan_row(row()).compounding is Compounding.MONTHLY


def test_a_file_that_names_its_compounding_keeps_it() -> None:
    record = parse_loan_row(row(country="CA", locale="en_CA", currency="CAD", compounding="monthly"))
    assert record.compounding is Compounding.MONTHLY


def brazilian(**fields: Any) -> dict[str, str]:
    return row(country="BR", locale="pt_BR", currency="BRL", postal_code="01310-100", **fields)


def test_a_brazilian_late_fee_defaults_to_the_two_percent_cap_and_refuses_more() -> None:
    assert parse_loan_row(brazilian()).late_fee_rate == D("0.02")
    assert parse_loan_row(brazilian(late_fee_rate="0.015")).late_fee_rate == D("0.015")
    with pytest.raises(InvalidInput, match=r"late_fee_rate: 0.03 is above BR's cap of 0.02 \(CDC art. 52 §1\)"):
        parse_loan_row(brazilian(late_fee_rate="0.03"))


def test_a_brazilian_fixed_late_charge_is_held_to_two_percent_of_the_installment() -> None:
    # BRL 300,000 at 6% over 300 months, monthly compounding: installment 1,932.90; 2% of it = 38.658
    assert parse_loan_row(brazilian(late_fee_amount="38.65")).late_fee_amount == D("38.65")
    with pytest.raises(InvalidInput, match=r"late_fee_amount: 38\.66 is above BR.s cap"):
        parse_loan_row(brazilian(late_fee_amount="38.66"))


@pytest.mark.parametrize(
    ("country", "locale", "currency", "postal", "citation"),
    [
        ("GB", "en_GB", "GBP", "SW1A 1AA", "MCOB 12.4.1R"),
        ("DE", "de_DE", "EUR", "10115", "Mortgage Credit Directive art. 28"),
        ("CA", "en_CA", "CAD", "M5V 2T6", "Interest Act s.8"),
    ],
)
def test_uk_eu_and_canadian_mortgage_late_charges_are_fixed_amounts_never_a_percentage(
    country: str, locale: str, currency: str, postal: str, citation: str
) -> None:
    place = {"country": country, "locale": locale, "currency": currency, "postal_code": postal}
    by_default = parse_loan_row(row(**place))
    assert (by_default.late_fee_rate, by_default.late_fee_amount) == (0, 0)  # no charge unless the portfolio sets one
    fixed = parse_loan_row(row(**place, late_fee_amount="15.00"))
    assert (fixed.late_fee_rate, fixed.late_fee_amount) == (0, D("15.00"))
    with pytest.raises(InvalidInput, match=f"late charges on this {country} loan are fixed amounts \\({citation}\\)"):
        parse_loan_row(row(**place, late_fee_rate="0.05"))


def test_a_loan_file_gives_a_late_fee_rate_or_an_amount_not_both() -> None:
    with pytest.raises(InvalidInput, match="give one of them, not both"):
        parse_loan_row(row(late_fee_rate="0.05", late_fee_amount="25.00"))


def test_a_us_loan_keeps_the_five_percent_default_and_the_twenty_percent_bound() -> None:
    assert parse_loan_row(row()).late_fee_rate == D("0.05")
    with pytest.raises(InvalidInput, match=r"above US.s cap of 0\.20"):
        parse_loan_row(row(late_fee_rate="0.25"))


def test_a_fixed_late_charge_is_charged_as_is_for_each_late_installment() -> None:
    account = Account(
        loan_id=1, loan_number="G-1", currency="GBP", product=Product.MORTGAGE,
        interest_method=InterestMethod.SCHEDULED_30_360, compounding=Compounding.MONTHLY,
        annual_rate=D("0.06"), monthly_payment=D("1932.90"), term_months=300, schedule_anchor=date(2026, 2, 1),
        late_fee_rate=D("0"), late_fee_grace_days=15, escrow_monthly=D("0"), interest_paid_through=date(2026, 1, 1),
        late_fee_amount=D("15.00"),
    )  # fmt: skip
    account.balances = account.balances.plus(type(account.balances)(principal=D("300000.00")))
    # on 2026-03-20 the installments due 2026-02-01 and 2026-03-01 are both past 15 days of grace
    assert late_fees_due(account, date(2026, 3, 20)) == [(date(2026, 2, 1), D("15.00")), (date(2026, 3, 1), D("15.00"))]
