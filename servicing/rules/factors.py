"""Knowledge factors (date of birth, tax-id last 4, postal code): stored as keyed hashes, checked, never shown.

The values are low-entropy, so a plain hash could be reversed by trying every date; a keyed HMAC
with the server's secret (kept outside the database) and a per-borrower salt cannot be, and the
bot's lockout after three failures limits guessing online. The loan numbers and phones that
verification attempts claim are counted under a keyed hash too (`identity_key`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from enum import StrEnum


class Factor(StrEnum):
    """A fact only the borrower should know."""

    DATE_OF_BIRTH = "date_of_birth"
    TAX_ID_LAST4 = "tax_id_last4"
    POSTAL_CODE = "postal_code"


def new_salt() -> str:
    """Return a fresh per-borrower salt."""
    return secrets.token_hex(8)


def normalize_factor(factor: Factor, answer: str) -> str:
    """Return the canonical form of an answer: digits only for dates and tax ids, no spaces in postcodes."""
    if factor is Factor.POSTAL_CODE:
        return re.sub(r"[\s-]", "", answer).upper()
    return re.sub(r"\D", "", answer)


def factor_hash(secret: str, salt: str, factor: Factor, answer: str) -> str:
    """Return the keyed hash of a factor's canonical answer."""
    message = f"{salt}:{factor.value}:{normalize_factor(factor, answer)}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def factor_matches(secret: str, salt: str, factor: Factor, answer: str, stored: str) -> bool:
    """Tell, in constant time, whether an answer matches the stored hash."""
    return hmac.compare_digest(factor_hash(secret, salt, factor, answer), stored)


def identity_key(secret: str, kind: str, value: str) -> str:
    """Return the keyed hash that names a claimed loan number or phone without storing it (32 hex digits)."""
    message = f"identity:{kind}:{value.strip().upper()}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:32]
