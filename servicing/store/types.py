"""Column types that keep money and rates exact on every database (no float columns anywhere)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from servicing.errors import InvalidInput

KNOWN_AMOUNTS = 50_000  # distinct amounts each column type remembers the stored integer of
_DECIMAL_OR_NONE = frozenset((Decimal, type(None)))

ColumnConverter = Callable[[list[Any]], list[Any]]


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
        if isinstance(value, int) and not isinstance(value, bool):
            units: int = value * 10**self.places
            return units
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

    # The two processors below run once per amount read or written (millions in a bulk import or
    # end of day), so the common case is one plain function call; anything else, and any integer
    # column type that converts values itself, goes through the methods above.

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], int | None] | None:
        """Return the function that turns a decimal into its stored integer."""
        converters = self.unit_converters(dialect)
        return converters[0] if converters else super().bind_processor(dialect)

    def unit_converters(self, dialect: Dialect) -> tuple[Callable[[Any], int | None], ColumnConverter] | None:
        """Return (value converter, column converter) to stored integers, or None if the impl type converts itself.

        The column converter turns a whole list of values at once (bulk writes): amounts it has
        seen before are looked up without a Python call per value.
        """
        if self.impl_instance.bind_processor(dialect) is not None:
            return None
        places, general = self.places, self.process_bind_param
        known: dict[Decimal, int] = {}  # amounts repeat (zeros, rates, installments): remember them

        def to_units(value: Any) -> int | None:
            if type(value) is Decimal and value.is_finite():
                units = known.get(value)
                if units is not None:
                    return units
                scaled = value.scaleb(places)
                units = int(scaled)
                if units == scaled:
                    if len(known) >= KNOWN_AMOUNTS:
                        known.clear()
                    known[value] = units
                    return units
            return general(value, dialect)

        def column_to_units(values: list[Any]) -> list[Any]:
            # only exact Decimals (and None) may be looked up: True, 1.0 and 1 all equal Decimal(1)
            if not _DECIMAL_OR_NONE.issuperset(map(type, values)):
                return list(map(to_units, values))
            try:
                units = list(map(known.get, values))
            except TypeError:  # a signalling NaN cannot be hashed; let to_units refuse it
                return list(map(to_units, values))
            if None in units:
                units = [
                    to_units(value) if found is None else found for found, value in zip(units, values, strict=True)
                ]
            return units

        return to_units, column_to_units

    def result_processor(self, dialect: Dialect, coltype: Any) -> Callable[[Any], Decimal | None] | None:
        """Return the function that turns a stored integer back into its decimal."""
        if self.impl_instance.result_processor(dialect, coltype) is not None:
            return super().result_processor(dialect, coltype)
        exponent = -self.places

        def to_decimal(value: Any) -> Decimal | None:
            return None if value is None else Decimal(int(value)).scaleb(exponent)

        return to_decimal


def Money() -> ScaledDecimal:  # noqa: N802 - reads like a column type
    """Return the column type for amounts: integer ten-thousandths."""
    return ScaledDecimal(4)


def Rate() -> ScaledDecimal:  # noqa: N802 - reads like a column type
    """Return the column type for rates: integer 10**-10ths."""
    return ScaledDecimal(10)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC on every database and read back timezone-aware (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        """Store an aware timestamp as UTC; a naive one is taken to be UTC already."""
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise InvalidInput(f"expected a datetime, got {type(value).__name__}")
        moment: datetime = value if value.tzinfo else value.replace(tzinfo=UTC)
        as_utc = moment.astimezone(UTC)
        return as_utc.replace(tzinfo=None) if dialect.name == "sqlite" else as_utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Return the timestamp with UTC attached."""
        if not isinstance(value, datetime):
            return None
        return value if value.tzinfo else value.replace(tzinfo=UTC)
