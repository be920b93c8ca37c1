"""Addresses: a borrower's mailing address and a loan's property address, read from a file or a form, changed by a
specialist with the audit.

An address is all or nothing: blank, or a street line, a city or postal code, and a country (ISO 3166-1 alpha-2;
the loan's country when left blank). Each part has the length of its column and holds no control character. The
postal code must look like one of its country's where the mail house would refuse it (US ZIP, ZIP+4, Canadian,
British, German, French, Italian, Spanish, Brazilian, Indian and Indonesian codes), and a US or Canadian address
names its state or province by its two-letter code. A change is audited with the parts that changed and both
versions masked: street lines and postal codes keep only their first characters (docs/documents.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from babel.core import get_global
from sqlalchemy import select
from sqlalchemy.orm import Session

from servicing.audit import record_audit
from servicing.documents.context import Address, mailing_address, property_address
from servicing.errors import InvalidInput, LoanNotFound
from servicing.store.models import Borrower, Loan

PARTS = ("line1", "line2", "city", "region", "postal_code", "country")
LENGTHS = {"line1": 100, "line2": 100, "city": 64, "region": 64, "postal_code": 20, "country": 2}
MAILING, PROPERTY = "mailing", "property"
# C0 and C1 controls, DEL, and the Unicode line and paragraph separators: as in a loan file (servicing/importing.py)
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
POSTAL_CODES = {
    "US": re.compile(r"\d{5}(-\d{4})?"),
    "CA": re.compile(r"[A-Z]\d[A-Z] ?\d[A-Z]\d"),
    "GB": re.compile(r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}"),
    "DE": re.compile(r"\d{5}"),
    "FR": re.compile(r"\d{5}"),
    "IT": re.compile(r"\d{5}"),
    "ES": re.compile(r"\d{5}"),
    "BR": re.compile(r"\d{5}-?\d{3}"),
    "IN": re.compile(r"\d{6}"),
    "ID": re.compile(r"\d{5}"),
}
OTHER_POSTAL_CODE = re.compile(r"[A-Z0-9][A-Z0-9 -]{0,19}")
# USPS codes of the states, the District of Columbia, the territories and the armed forces' post offices
US_REGIONS = frozenset({
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY", "LA",
    "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK",
    "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY", "DC", "PR", "VI", "GU",
    "AS", "MP", "UM", "AA", "AE", "AP",
})  # fmt: skip
CA_REGIONS = frozenset({"AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT"})
TWO_LETTER_REGIONS = {"US": US_REGIONS, "CA": CA_REGIONS}
# The parts that make an address (a country alone does not): by prefix, as a file or a form names them
_LINES = {prefix: tuple(f"{prefix}_{part}" for part in PARTS[:-1]) for prefix in (MAILING, PROPERTY)}


def check_country(code: str, field: str) -> str:
    """Return an ISO 3166-1 alpha-2 country code in capitals, or refuse it naming the field."""
    country = code.strip().upper()
    zones: Mapping[str, list[str]] = get_global("territory_zones")
    if not re.fullmatch(r"[A-Z]{2}", country) or country not in zones:
        raise InvalidInput(f"{field}: {code!r} is not an ISO 3166-1 alpha-2 country code")
    return country


def parse_address(values: Mapping[str, str | None], *, prefix: str, default_country: str) -> Address | None:
    """Read an address from `<prefix>_line1` ... `<prefix>_country` values; None when its parts are all blank.

    Refuses (InvalidInput naming the field) a control character, a part longer than its column, an address
    without a street line or without both city and postal code, an unknown country, a postal code or a US or
    Canadian region that cannot be right.
    """
    if not any(values.get(field) for field in _LINES[prefix]):  # most rows of a file: no address at all
        return None
    parts = {part: _part(values, prefix, part) for part in PARTS}
    if not any(parts[part] for part in PARTS if part != "country"):
        return None
    if not parts["line1"]:
        raise InvalidInput(f"{prefix}_line1: missing (an address needs its street line)")
    if not (parts["city"] or parts["postal_code"]):
        raise InvalidInput(f"{prefix}_city, {prefix}_postal_code: give at least one")
    country = check_country(parts["country"] or default_country, f"{prefix}_country")
    postal = _postal_code(parts["postal_code"], country, f"{prefix}_postal_code")
    region = _region(parts["region"], country, f"{prefix}_region")
    return Address(parts["line1"], parts["line2"], parts["city"], region, postal, country)


def _part(values: Mapping[str, str | None], prefix: str, part: str) -> str | None:
    field = f"{prefix}_{part}"
    raw = values.get(field) or ""
    control = CONTROL.search(raw)
    if control:
        raise InvalidInput(f"{field}: holds a control character (U+{ord(control.group()):04X})")
    value = " ".join(raw.split())
    if len(value) > LENGTHS[part]:
        raise InvalidInput(f"{field}: longer than {LENGTHS[part]} characters")
    return value or None


def _postal_code(text: str | None, country: str, field: str) -> str | None:
    if text is None:
        return None
    code = " ".join(text.upper().split())
    pattern = POSTAL_CODES.get(country, OTHER_POSTAL_CODE)
    if not pattern.fullmatch(code):
        raise InvalidInput(f"{field}: {text!r} is not a postal code of {country}")
    return code


def _region(text: str | None, country: str, field: str) -> str | None:
    if text is None or country not in TWO_LETTER_REGIONS:
        return text
    code = text.upper()
    if code not in TWO_LETTER_REGIONS[country]:
        raise InvalidInput(f"{field}: {text!r} is not a {country} state or province code (two letters, like NY)")
    return code


def address_columns(address: Address | None, prefix: str) -> dict[str, str | None]:
    """Return an address as the `<prefix>_...` columns of its table (all None for no address)."""
    return {f"{prefix}_{part}": getattr(address, part) if address else None for part in PARTS}


def masked_address(address: Address | None) -> dict[str, str | None] | None:
    """Return an address fit for the audit log: street lines and postal code cut to their first characters."""
    if address is None:
        return None
    return {
        "line1": _masked(address.line1, 3),
        "line2": _masked(address.line2, 3),
        "city": address.city,
        "region": address.region,
        "postal_code": _masked(address.postal_code, 3),
        "country": address.country,
    }


def _masked(text: str | None, keep: int) -> str | None:
    if text is None:
        return None
    return text if len(text) <= keep else f"{text[:keep]}…"


@dataclass(frozen=True)
class AddressChange:
    """What changing an address did: the parts that changed (none: nothing was written or audited)."""

    kind: str  # mailing | property
    changed: tuple[str, ...]
    address: Address | None


def change_address(
    session: Session, loan_number: str, kind: str, values: Mapping[str, str | None], *, actor: str, reason: str
) -> AddressChange:
    """Set a loan's `mailing` address (its borrower's, for all their loans) or its `property` address from the
    `<kind>_line1` ... values (all blank: remove it); audit the change masked, with the reason.

    Refused, changing nothing, for an address `parse_address` refuses or an empty reason. Paper already printed
    keeps the address it was printed with.
    """
    if kind not in (MAILING, PROPERTY):
        raise InvalidInput(f"kind: {kind!r} is not {MAILING} or {PROPERTY}")
    _check_reason(reason)
    loan = _loan(session, loan_number)
    address = parse_address(values, prefix=kind, default_country=loan.country)
    owner: Borrower | Loan = loan
    if kind == MAILING:
        owner = session.get_one(Borrower, loan.borrower_id, with_for_update=True)
        before = mailing_address(owner)
    else:
        owner = session.get_one(Loan, loan.id, with_for_update=True)
        before = property_address(owner)
    change = _change(kind, before, address)
    if change.changed:
        for column, value in address_columns(address, kind).items():
            setattr(owner, column, value)
        extra = {"borrower": loan.borrower_id} if kind == MAILING else {}
        _audit(session, loan, change, before, actor, reason, **extra)
    return change


def _check_reason(reason: str) -> None:
    if not reason.strip():
        raise InvalidInput("reason: missing")


def _loan(session: Session, loan_number: str) -> Loan:
    loan = session.scalar(select(Loan).where(Loan.loan_number == loan_number))
    if loan is None:
        raise LoanNotFound(loan_number)
    return loan


def _change(kind: str, before: Address, after: Address | None) -> AddressChange:
    was = before if any(getattr(before, part) for part in PARTS) else None
    changed = tuple(
        part
        for part in (f.name for f in fields(Address))
        if (getattr(was, part) if was else None) != (getattr(after, part) if after else None)
    )
    return AddressChange(kind, changed, after)


def _audit(
    session: Session, loan: Loan, change: AddressChange, before: Address, actor: str, reason: str, **extra: Any
) -> None:
    was = before if any(getattr(before, part) for part in PARTS) else None
    record_audit(
        session, actor, f"address.{change.kind}_changed", "loan", loan.loan_number,
        {"changed": list(change.changed), "before": masked_address(was), "after": masked_address(change.address),
         "reason": reason.strip(), **extra},
    )  # fmt: skip
