"""Money: exact decimals in a loan's currency, rounded half-up to its minor units."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from functools import cache, lru_cache

from babel.numbers import get_currency_precision, list_currencies

from servicing.errors import InvalidInput

ZERO = Decimal(0)
STORAGE_PLACES = 4  # every stored amount is an integer of ten-thousandths
_AMOUNT = re.compile(r"^-?\d{1,15}(\.\d{1,8})?$")
_RATE = re.compile(r"^\d{1,3}(\.\d{1,10})?$")


@cache
def known_currencies() -> frozenset[str]:
    """Return the ISO 4217 codes Babel knows."""
    return frozenset(list_currencies())


def check_currency(code: str) -> str:
    """Return the currency code, or refuse one Babel does not know."""
    if code not in known_currencies():
        raise InvalidInput(f"unknown currency {code!r}")
    return code


@cache
def minor_unit(currency: str) -> Decimal:
    """Return the smallest amount of the currency (0.01 for USD, 1 for IDR per Babel)."""
    return Decimal(1).scaleb(-get_currency_precision(check_currency(currency)))


def currency_places(currency: str) -> int:
    """Return how many decimals the currency's minor unit has (USD 2, IDR per Babel)."""
    return get_currency_precision(check_currency(currency))


def to_money(amount: Decimal, currency: str) -> Decimal:
    """Round an amount half-up to the currency's minor units."""
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


def is_money(amount: Decimal, currency: str) -> bool:
    """Tell whether an amount is already a whole number of minor units."""
    return to_money(amount, currency) == amount


def parse_amount(text: str) -> Decimal:
    """Parse a plain decimal amount ("1234.50"); refuse floats' spellings, commas and symbols."""
    cleaned = text.strip()
    if not _AMOUNT.match(cleaned):
        raise InvalidInput(f"not an amount: {text!r}")
    return Decimal(cleaned)


def parse_rate(text: str) -> Decimal:
    """Parse an annual rate written as a fraction (0.065 is 6.5%)."""
    cleaned = text.strip()
    if not _RATE.match(cleaned):
        raise InvalidInput(f"not a rate: {text!r}")
    rate = Decimal(cleaned)
    if rate >= 1:
        raise InvalidInput(f"rate {text} looks like a percentage; write 0.065 for 6.5%")
    return rate


@lru_cache(maxsize=16384)
def precise_power(base: Decimal, exponent: Decimal) -> Decimal:
    """Raise a decimal to a fractional power with 34 significant digits."""
    with localcontext() as context:
        context.prec = 34
        try:
            return +(base**exponent)
        except InvalidOperation as error:  # pragma: no cover - only on nonsense input
            raise InvalidInput(f"cannot raise {base} to {exponent}") from error


def to_storage(amount: Decimal) -> int:
    """Return the integer of ten-thousandths an amount is stored as; refuse finer amounts."""
    scaled = amount.scaleb(STORAGE_PLACES)
    integral = scaled.to_integral_value()
    if integral != scaled:
        raise InvalidInput(f"{amount} has more than {STORAGE_PLACES} decimal places")
    return int(integral)


def from_storage(units: int) -> Decimal:
    """Return the amount an integer of ten-thousandths stands for."""
    return Decimal(units).scaleb(-STORAGE_PLACES)
