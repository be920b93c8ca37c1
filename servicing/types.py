"""Column types that keep money and rates exact on every database (no float columns anywhere)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from servicing.errors import InvalidInput


class ScaledDecimal(TypeDecorator[Decimal]):
    """A decimal stored as an integer count of 10**-places (money: ten-thousandths)."""

    impl = BigInteger
    cache_ok = True

    def __init__(self, places: int = 4) -> None:
        super().__init__()
        self.places = places

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        """Store a decimal as its integer of scaled units; refuse finer values."""
        if value is None:
            return None
        if type(value) is Decimal and value.is_finite():  # the common case, once per stored amount
            scaled: Decimal = value.scaleb(self.places)
            units = int(scaled)
            if units != scaled:
                raise InvalidInput(f"{value} has more than {self.places} decimal places")
            return units
        if isinstance(value, int) and not isinstance(value, bool):
            return value * 10**self.places
        if not isinstance(value, Decimal):
            raise InvalidInput(f"expected a Decimal, got {type(value).__name__}")
        scaled = value.scaleb(self.places)
        integral = scaled.to_integral_value()
        if integral != scaled:
            raise InvalidInput(f"{value} has more than {self.places} decimal places")
        return int(integral)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        """Return the exact decimal a stored integer stands for."""
        if value is None:
            return None
        return Decimal(int(value)).scaleb(-self.places)


def Money() -> ScaledDecimal:  # noqa: N802 - reads like a column type
    """Return the column type for amounts: integer ten-thousandths."""
    return ScaledDecimal(4)


def Rate() -> ScaledDecimal:  # noqa: N802 - reads like a column type
    """Return the column type for rates: integer 10**-10ths."""
    return ScaledDecimal(10)
