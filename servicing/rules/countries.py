"""What a loan's country decides: how a mortgage rate compounds, and how late charges are set and capped.

One table, one row per country with its sources (docs/compliance.md lists them); a country not in
the table gets `DEFAULT` (what the first portfolios were boarded with). Boarding takes its defaults
from here and refuses a charge above the country's cap.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from servicing.rules.account import Product
from servicing.rules.interest import Compounding


class LateCharge(StrEnum):
    """How a country lets a late payment be charged."""

    PERCENT = "percent"  # a share of the late installment's principal and interest
    FIXED = "fixed"  # a fixed amount set per portfolio (the `late_fee_amount` column), no percentage


@dataclass(frozen=True)
class CountryRules:
    """A country's defaults and caps for boarding, with the sources they come from."""

    mortgage_compounding: Compounding  # when the loan file names none
    late_charge: LateCharge
    default_late_fee_rate: Decimal  # PERCENT countries: when the loan file names none
    max_late_fee_rate: Decimal  # PERCENT countries: the cap; a fixed amount may not exceed it either
    citation: str  # what a refusal names
    sources: str


DEFAULT = CountryRules(
    Compounding.MONTHLY, LateCharge.PERCENT, Decimal("0.05"), Decimal("0.20"), "the default sanity bound",
    "no country rule in this table: 5% of P&I by default; 20% is a sanity bound, not a legal cap",
)  # fmt: skip

_EUROPEAN_UNION = (
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT",
    "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
)  # fmt: skip
_EU = CountryRules(
    Compounding.MONTHLY, LateCharge.FIXED, Decimal("0"), Decimal("0"), "Mortgage Credit Directive art. 28",
    "Mortgage Credit Directive 2014/17/EU art. 28: default charges no greater than needed to compensate "
    "the creditor; set as fixed amounts per portfolio",
)  # fmt: skip

COUNTRIES: dict[str, CountryRules] = {
    "US": CountryRules(
        Compounding.MONTHLY, LateCharge.PERCENT, Decimal("0.05"), Decimal("0.20"), "the default sanity bound",
        "Reg Z 1026.36(c)(2): no pyramiding; the note sets the charge (often 4-5%); state laws may cap lower",
    ),
    "CA": CountryRules(
        Compounding.SEMIANNUAL, LateCharge.PERCENT, Decimal("0.05"), Decimal("0.20"), "the default sanity bound",
        "Interest Act (R.S.C. 1985, c. I-15) s.6: a blended-payment mortgage states its rate compounded "
        "half-yearly; s.8: no charge on mortgage arrears beyond the mortgage rate (see late_charge)",
    ),
    "BR": CountryRules(
        Compounding.MONTHLY, LateCharge.PERCENT, Decimal("0.02"), Decimal("0.02"), "CDC art. 52 §1",
        "Código de Defesa do Consumidor (Lei 8.078/1990) art. 52 §1: late-payment fines at most 2% of the installment",
    ),
    "GB": CountryRules(
        Compounding.MONTHLY, LateCharge.FIXED, Decimal("0"), Decimal("0"), "MCOB 12.4.1R",
        "FCA MCOB 12.4.1R: arrears charges a reasonable estimate of the cost of the additional administration; "
        "set as fixed amounts per portfolio",
    ),
    **{country: _EU for country in _EUROPEAN_UNION},
}  # fmt: skip


def country_rules(country: str) -> CountryRules:
    """Return a country's rules, or the defaults for a country not in the table."""
    return COUNTRIES.get(country, DEFAULT)


def default_compounding(country: str, product: Product) -> Compounding:
    """Return how a loan's rate compounds when its file does not say: by the country, for mortgages."""
    return country_rules(country).mortgage_compounding if product is Product.MORTGAGE else Compounding.MONTHLY


def late_charge(country: str, product: Product) -> LateCharge:
    """Return how a loan may be charged for lateness: by the country, and a Canadian mortgage only by a fixed amount.

    Interest Act s.8 forbids a fine or penalty on mortgage arrears that raises their charge beyond the
    mortgage rate; a percentage of the installment is such a penalty, a fixed administrative fee is not.
    """
    if country == "CA" and product is Product.MORTGAGE:
        return LateCharge.FIXED
    return country_rules(country).late_charge
