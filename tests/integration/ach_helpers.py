"""ACH in database tests: loans with a bank account and autopay, exports, and return files built from them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from servicing.ach.accounts import add_bank_account, check_bank_details
from servicing.ach.autopay import AmountKind, AutopayTerms, autopay_offer, enrol_autopay
from servicing.ach.nacha import returns_for
from servicing.ach.origination import Export, export_drafts
from servicing.ach.returns import ReturnsContext
from servicing.ach.vault import Vault, new_key
from servicing.config import AchSettings
from tests.integration.helpers import board

KEY = new_key()
VAULT = Vault([KEY])
SETTINGS = AchSettings()
NOW = datetime(2026, 1, 30, 21, 0, tzinfo=UTC)
BUSINESS_DATE = date(2026, 1, 30)  # a Friday
EFFECTIVE = date(2026, 2, 2)  # the Monday after the first due date (Sunday 1 February)
ROUTING, ACCOUNT = "121042882", "000123456789"


def loan_on_autopay(session: Session, terms: AutopayTerms | None = None, account: str = ACCOUNT, **fields: str) -> str:
    """Board a loan, put a checking account on file and enrol it in autopay of the amount due; return its number."""
    number = board(session, **fields)
    add_bank_account(session, number, check_bank_details(ROUTING, account, "checking"), vault=VAULT, actor="ana")
    terms = terms or AutopayTerms(AmountKind.DUE)
    offer = autopay_offer(session, number, terms, servicer="Loanline", phone="+1 800 555 0100")
    enrol_autopay(session, offer, terms, channel="console_phone", actor="ana", now=NOW, disclosure_confirmed=True)
    return number


def export(session: Session, effective: date = EFFECTIVE, business_date: date = BUSINESS_DATE) -> Export:
    """Export the origination file of a date with the default originator settings."""
    return export_drafts(session, effective, settings=SETTINGS, vault=VAULT, business_date=business_date,
                         country="US", actor="test", now=NOW)  # fmt: skip


def context(business_date: date, fee: str = "25.00") -> ReturnsContext:
    """Return what applying a returns file needs on a business date."""
    return ReturnsContext(business_date, business_date, NOW, "test", Decimal(fee), "+1 800 555 0100", VAULT)


def returns_file(origination: bytes, codes: dict[str, str], corrected: dict[str, str] | None = None) -> bytes:
    """Return a bank's file returning (R..) or correcting (C..) the entries of our file, by trace number."""
    return returns_for(origination, codes, corrected, created=datetime(2026, 2, 4, 6, 0))
