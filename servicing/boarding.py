"""Boarding loans: validate a loan file's rows and create borrowers, loans and opening ledger entries."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from operator import attrgetter
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from servicing.ach.accounts import BankDetails, board_bank_accounts, check_bank_details
from servicing.ach.vault import Vault
from servicing.documents.addresses import MAILING, PROPERTY, address_columns, parse_address
from servicing.documents.addresses import PARTS as ADDRESS_PARTS
from servicing.documents.context import Address
from servicing.errors import InvalidInput
from servicing.payments import Refusal
from servicing.rules.account import Product
from servicing.rules.countries import CountryRules, LateCharge, country_rules, default_compounding, late_charge
from servicing.rules.escrow import ESCROWED_PRODUCTS, next_analysis_date
from servicing.rules.factors import Factor, factor_hash, new_salt
from servicing.rules.interest import Compounding, InterestMethod, level_payment
from servicing.rules.ledger import EntryKind
from servicing.rules.money import ZERO, check_currency, currency_places, is_money, parse_amount, parse_rate
from servicing.rules.schedule import add_months, due_date_of
from servicing.rules.searching import borrower_search_key
from servicing.store.bulk import chunked, insert_rows, insert_rows_returning_ids
from servicing.store.models import Borrower, BorrowerPhone, LedgerEntry, Loan, utcnow

REQUIRED_COLUMNS = (
    "loan_number", "product", "borrower_first_name", "borrower_last_name", "date_of_birth",
    "tax_id_last4", "phone", "postal_code", "country", "locale", "currency", "original_principal",
    "annual_rate", "term_months", "origination_date", "first_payment_date", "interest_method",
)  # fmt: skip
OPTIONAL_COLUMNS = (
    "email", "timezone", "principal_balance", "next_due_date", "escrow_monthly", "escrow_balance",
    "late_fee_grace_days", "late_fee_rate", "late_fee_amount", "compounding", "bank_account_last4",
    "interest_paid_through",
    *(f"{prefix}_{part}" for prefix in (MAILING, PROPERTY) for part in ADDRESS_PARTS),
    "interest_paid_through", "bank_routing", "bank_account", "bank_type",
)  # fmt: skip

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_LOAN_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,31}$")
_FOUR_DIGITS = re.compile(r"^\d{4}$")
_UP_TO_FOUR_DIGITS = re.compile(r"\d{1,4}")
# Amounts are stored as 64-bit integers of ten-thousandths (at most about 9.2e14); keep file amounts
# far below that so balances built from them cannot overflow the column.
MAX_AMOUNT = Decimal("1000000000000")


@dataclass(frozen=True)
class LoanRecord:
    """One validated row of a loan boarding file."""

    loan_number: str
    product: Product
    first_name: str
    last_name: str
    date_of_birth: date
    tax_id_last4: str
    phone: str
    email: str | None
    postal_code: str
    country: str
    locale: str
    timezone: str
    currency: str
    original_principal: Decimal
    annual_rate: Decimal
    term_months: int
    origination_date: date
    first_payment_date: date
    interest_method: InterestMethod
    compounding: Compounding
    principal_balance: Decimal
    next_due_date: date
    escrow_monthly: Decimal
    escrow_balance: Decimal
    late_fee_grace_days: int
    late_fee_rate: Decimal
    late_fee_amount: Decimal
    bank_account_last4: str | None
    interest_paid_through: date | None
    fingerprint: str
    mailing_address: Address | None = None  # where the borrower's paper goes (docs/documents.md)
    property_address: Address | None = None  # the property securing the loan
    timezone_given: bool = True  # False: the file had none and the country's main zone was taken
    # the bank account on file (docs/ach.md): encrypted when boarded, never kept in the clear
    bank_routing: str | None = None
    bank_account: str | None = None
    bank_type: str | None = None

    def bank_details(self) -> BankDetails | None:
        """Return the boarded bank account, checked, or None when the row names none."""
        if not self.bank_routing or not self.bank_account:
            return None
        return check_bank_details(self.bank_routing, self.bank_account, self.bank_type or "checking")

    @property
    def boarded_mid_life(self) -> bool:
        """Tell whether the loan arrives with payments already made."""
        return self.next_due_date != self.first_payment_date or self.principal_balance != self.original_principal

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle as plain field values, amounts as text and dates as day numbers: a large file's
        records come back from a second process, and this pickles three times faster than the default."""
        values = list(_record_values(self))
        for index in _DECIMAL_FIELDS:
            values[index] = str(values[index])
        for index in _DATE_FIELDS:
            if values[index] is not None:
                values[index] = values[index].toordinal()
        return _loan_record, tuple(values)


_RECORD_FIELDS = tuple(f.name for f in fields(LoanRecord))
_DECIMAL_FIELDS = tuple(i for i, f in enumerate(fields(LoanRecord)) if f.type == "Decimal")
_DATE_FIELDS = tuple(i for i, f in enumerate(fields(LoanRecord)) if f.type in ("date", "date | None"))
_record_values = attrgetter(*_RECORD_FIELDS)


def _loan_record(*pickled: Any) -> LoanRecord:
    """Rebuild a pickled LoanRecord from its field values (they were validated when it was made)."""
    values = list(pickled)
    for index in _DECIMAL_FIELDS:
        values[index] = Decimal(values[index])
    for index in _DATE_FIELDS:
        if values[index] is not None:
            values[index] = date.fromordinal(values[index])
    record = object.__new__(LoanRecord)
    record.__dict__.update(zip(_RECORD_FIELDS, values, strict=True))
    return record


def parse_date(text: str, field: str) -> date:
    """Parse a YYYY-MM-DD date or refuse with the field's name."""
    if not _DATE.match(text.strip()):
        raise InvalidInput(f"{field}: {text!r} is not a date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(text.strip())
    except ValueError as error:
        raise InvalidInput(f"{field}: {text!r} is not a real date") from error


def _amount(text: str, field: str) -> Decimal:
    try:
        amount = parse_amount(text)
    except InvalidInput as error:
        raise InvalidInput(f"{field}: {text!r} is not an amount") from error
    if abs(amount) >= MAX_AMOUNT:
        raise InvalidInput(f"{field}: {text!r} is too large (must be under {MAX_AMOUNT:f})")
    return amount


def _int(text: str, field: str, low: int, high: int) -> int:
    if not _UP_TO_FOUR_DIGITS.fullmatch(text.strip()):
        raise InvalidInput(f"{field}: {text!r} is not a whole number")
    value = int(text)
    if not low <= value <= high:
        raise InvalidInput(f"{field}: {value} is outside {low}..{high}")
    return value


def _choice(text: str, field: str, enum: Any) -> Any:
    try:
        return enum(text.strip())
    except ValueError as error:
        allowed = "|".join(e.value for e in enum)
        raise InvalidInput(f"{field}: {text!r} is not one of {allowed}") from error


_currency_places = lru_cache(maxsize=256)(currency_places)


@lru_cache(maxsize=256)
def check_locale(text: str) -> str:
    """Return a locale Babel knows, or a language Babel knows spoken in a country (zh_Hans_US, vi_US: CLDR has
    no such locale, and US residents are borrowers in those languages); refuse anything else."""
    cleaned = text.strip().replace("-", "_")
    try:
        return str(Locale.parse(cleaned))
    except (ValueError, UnknownLocaleError) as error:
        *language, region = cleaned.split("_")
        if language and re.fullmatch(r"[A-Z]{2}", region) and region in get_global("territory_zones"):
            try:
                return f"{Locale.parse('_'.join(language))}_{region}"
            except (ValueError, UnknownLocaleError):
                pass
        raise InvalidInput(f"locale: {text!r} is not a known locale") from error


@lru_cache(maxsize=512)
def check_timezone(text: str) -> str:
    """Return an IANA time zone name, or refuse it."""
    try:
        ZoneInfo(text.strip())
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise InvalidInput(f"timezone: {text!r} is not an IANA time zone") from error
    return text.strip()


# Countries spanning several zones: the zone most of their people live in (CLDR lists them alphabetically).
MAIN_TIMEZONES = {
    "US": "America/New_York", "CA": "America/Toronto", "BR": "America/Sao_Paulo", "ID": "Asia/Jakarta",
    "MX": "America/Mexico_City", "AU": "Australia/Sydney", "RU": "Europe/Moscow",
    "AR": "America/Argentina/Buenos_Aires", "CL": "America/Santiago", "ES": "Europe/Madrid",
    "PT": "Europe/Lisbon", "DE": "Europe/Berlin",
    "EC": "America/Guayaquil", "KZ": "Asia/Almaty", "MN": "Asia/Ulaanbaatar", "NZ": "Pacific/Auckland",
    "CD": "Africa/Kinshasa", "UA": "Europe/Kyiv", "MY": "Asia/Kuala_Lumpur", "CN": "Asia/Shanghai",
}  # fmt: skip


@lru_cache(maxsize=256)
def country_timezone(country: str) -> str:
    """Return the main time zone of a country (ISO 3166-1 alpha-2), or refuse an unknown country."""
    zones: Mapping[str, list[str]] = get_global("territory_zones")
    if not re.fullmatch(r"[A-Z]{2}", country) or country not in zones or not zones[country]:
        raise InvalidInput(f"country: {country!r} is not an ISO 3166-1 alpha-2 code")
    return MAIN_TIMEZONES.get(country) or zones[country][0]


def _text(row: Mapping[str, str], field: str, limit: int) -> str:
    value = (row.get(field) or "").strip()
    if not value:
        raise InvalidInput(f"{field}: missing")
    if len(value) > limit:
        raise InvalidInput(f"{field}: longer than {limit} characters")
    return value


def _optional(row: Mapping[str, str], field: str) -> str | None:
    value = (row.get(field) or "").strip()
    return value or None


def parse_loan_row(row: Mapping[str, str]) -> LoanRecord:
    """Validate one boarding-file row; raise InvalidInput with the first reason it is refused."""
    loan_number = _text(row, "loan_number", 32)
    if not _LOAN_NUMBER.match(loan_number):
        raise InvalidInput(f"loan_number: {loan_number!r} may hold only letters, digits and dashes")
    currency = _text(row, "currency", 3)
    try:
        check_currency(currency)
    except InvalidInput as error:
        raise InvalidInput(f"currency: unknown currency {currency!r}") from error
    phone = _text(row, "phone", 16)
    if not _E164.match(phone):
        raise InvalidInput(f"phone: {phone!r} is not an E.164 number (+ and 7 to 15 digits)")
    tax = _text(row, "tax_id_last4", 4)
    if not _FOUR_DIGITS.match(tax):
        raise InvalidInput("tax_id_last4: must be exactly 4 digits")
    country = _text(row, "country", 2).upper()
    zone = _optional(row, "timezone")
    timezone = check_timezone(zone) if zone else country_timezone(country)
    if zone:
        country_timezone(country)
    dob = parse_date(_text(row, "date_of_birth", 10), "date_of_birth")
    origination = parse_date(_text(row, "origination_date", 10), "origination_date")
    first_due = parse_date(_text(row, "first_payment_date", 10), "first_payment_date")
    if not dob < origination:
        raise InvalidInput("date_of_birth: must be before the origination date")
    if not origination < first_due <= add_months(origination, 3):
        raise InvalidInput("first_payment_date: must fall after origination, within 3 months")
    principal = _positive_money(_text(row, "original_principal", 20), "original_principal", currency)
    balance_text = _optional(row, "principal_balance")
    balance = _positive_money(balance_text, "principal_balance", currency) if balance_text else principal
    rate = _rate(_text(row, "annual_rate", 14))
    term = _int(_text(row, "term_months", 4), "term_months", 1, 600)
    next_due = _next_due(row, first_due, term)
    escrow_monthly = _money(_optional(row, "escrow_monthly") or "0", "escrow_monthly", currency)
    if escrow_monthly < 0:
        raise InvalidInput("escrow_monthly: must not be negative")
    product = _choice(_text(row, "product", 10), "product", Product)
    compounding = _choice(
        _optional(row, "compounding") or default_compounding(country, product).value, "compounding", Compounding
    )
    late_fee_rate, late_fee_amount = _late_charge(row, country, product, currency)
    if late_fee_amount:
        _refuse_charge_above_cap(late_fee_amount, level_payment(principal, rate, term, currency, compounding), country)
    bank = _optional(row, "bank_account_last4")
    if bank and not _FOUR_DIGITS.match(bank):
        raise InvalidInput("bank_account_last4: must be exactly 4 digits")
    bank_account = _bank_account(row, bank)
    if bank_account is not None:
        bank = bank_account.last4
    email = _optional(row, "email")
    if email and ("@" not in email or len(email) > 254):
        raise InvalidInput(f"email: {email!r} is not an address")
    paid_through_text = _optional(row, "interest_paid_through")
    return LoanRecord(
        loan_number=loan_number,
        product=product,
        first_name=_text(row, "borrower_first_name", 100),
        last_name=_text(row, "borrower_last_name", 100),
        date_of_birth=dob,
        tax_id_last4=tax,
        phone=phone,
        email=email,
        postal_code=_text(row, "postal_code", 20),
        country=country,
        locale=check_locale(_text(row, "locale", 10)),
        timezone=timezone,
        currency=currency,
        original_principal=principal,
        annual_rate=rate,
        term_months=term,
        origination_date=origination,
        first_payment_date=first_due,
        interest_method=_choice(_text(row, "interest_method", 10), "interest_method", InterestMethod),
        compounding=compounding,
        principal_balance=balance,
        next_due_date=next_due,
        escrow_monthly=escrow_monthly,
        escrow_balance=_money(_optional(row, "escrow_balance") or "0", "escrow_balance", currency),
        late_fee_grace_days=_int(_optional(row, "late_fee_grace_days") or "15", "late_fee_grace_days", 0, 60),
        late_fee_rate=late_fee_rate,
        late_fee_amount=late_fee_amount,
        bank_account_last4=bank,
        interest_paid_through=parse_date(paid_through_text, "interest_paid_through") if paid_through_text else None,
        fingerprint=hashlib.sha256(repr(sorted(row.items())).encode()).hexdigest()[:32],
        mailing_address=parse_address(row, prefix=MAILING, default_country=country),
        property_address=parse_address(row, prefix=PROPERTY, default_country=country),
        timezone_given=zone is not None,
        bank_routing=bank_account.routing if bank_account else None,
        bank_account=bank_account.account_number if bank_account else None,
        bank_type=bank_account.account_type.value if bank_account else None,
    )


def _bank_account(row: Mapping[str, str], last4: str | None) -> BankDetails | None:
    """Return the row's bank account (bank_routing, bank_account, bank_type: checking unless given), or None."""
    routing, number, kind = (_optional(row, f"bank_{part}") for part in ("routing", "account", "type"))
    if not (routing or number or kind):
        return None
    if not (routing and number):
        raise InvalidInput("bank_routing and bank_account go together: give both or neither")
    details = check_bank_details(routing, number, kind or "checking")
    if last4 and last4 != details.last4:
        raise InvalidInput("bank_account_last4: does not match the last 4 digits of bank_account")
    return details


def _late_charge(row: Mapping[str, str], country: str, product: Product, currency: str) -> tuple[Decimal, Decimal]:
    """Return the loan's late-fee rate and fixed late charge: the file's, else the country's default, within its cap."""
    rate_text, amount_text = _optional(row, "late_fee_rate"), _optional(row, "late_fee_amount")
    if rate_text and amount_text:
        raise InvalidInput("late_fee_rate, late_fee_amount: give one of them, not both")
    rules = country_rules(country)
    amount = _money(amount_text, "late_fee_amount", currency) if amount_text else ZERO
    if amount < 0:
        raise InvalidInput("late_fee_amount: must not be negative")
    if late_charge(country, product) is LateCharge.FIXED:
        if rate_text and _rate(rate_text, "late_fee_rate") != 0:
            citation = _fixed_citation(country, rules)
            raise InvalidInput(
                f"late_fee_rate: late charges on this {country} loan are fixed amounts ({citation}); "
                "give late_fee_amount instead"
            )
        return ZERO, amount
    if amount_text:
        return ZERO, amount
    rate = _rate(rate_text, "late_fee_rate") if rate_text else rules.default_late_fee_rate
    if rate > rules.max_late_fee_rate:
        raise InvalidInput(
            f"late_fee_rate: {rate} is above {country}'s cap of {rules.max_late_fee_rate} ({rules.citation})"
        )
    return rate, ZERO


def _fixed_citation(country: str, rules: CountryRules) -> str:
    return "Interest Act s.8" if rules.late_charge is LateCharge.PERCENT else rules.citation


def _refuse_charge_above_cap(amount: Decimal, payment: Decimal, country: str) -> None:
    """Refuse a fixed late charge above what the country's percentage cap allows on the installment."""
    rules = country_rules(country)
    if rules.late_charge is LateCharge.PERCENT and amount > payment * rules.max_late_fee_rate:
        raise InvalidInput(
            f"late_fee_amount: {amount} is above {country}'s cap of {rules.max_late_fee_rate} of the "
            f"{payment} installment ({rules.citation})"
        )


def _money(text: str, field: str, currency: str) -> Decimal:
    amount = _amount(text, field)
    if not is_money(amount, currency):
        raise InvalidInput(f"{field}: {text!r} has more decimals than {currency} allows")
    return amount


def _positive_money(text: str, field: str, currency: str) -> Decimal:
    amount = _money(text, field, currency)
    if amount <= 0:
        raise InvalidInput(f"{field}: {text!r} must be positive")
    return amount


def _rate(text: str, field: str = "annual_rate") -> Decimal:
    try:
        return parse_rate(text)
    except InvalidInput as error:
        raise InvalidInput(f"{field}: {error}") from error


def _next_due(row: Mapping[str, str], first_due: date, term: int) -> date:
    text = _optional(row, "next_due_date")
    if not text:
        return first_due
    next_due = parse_date(text, "next_due_date")
    months = (next_due.year - first_due.year) * 12 + next_due.month - first_due.month
    if months < 0 or months >= term or due_date_of(first_due, months + 1) != next_due:
        raise InvalidInput("next_due_date: not one of the loan's due dates")
    return next_due


# -- writing ------------------------------------------------------------------------------------------


@dataclass
class BoardingReport:
    """What boarding a file did."""

    boarded: list[str]
    unchanged: list[str]
    refused: list[Refusal]


def opening_position(record: LoanRecord, boarded_on: date) -> tuple[int, date]:
    """Return (installments already paid, interest-paid-through date) of a loan as it is boarded."""
    paid = (record.next_due_date.year - record.first_payment_date.year) * 12 + (
        record.next_due_date.month - record.first_payment_date.month
    )
    if record.interest_method is InterestMethod.SCHEDULED_30_360:
        return paid, add_months(record.next_due_date, -1) - timedelta(days=1)
    if not record.boarded_mid_life:
        return paid, record.origination_date
    return paid, record.interest_paid_through or boarded_on - timedelta(days=1)


def servicing_start(record: LoanRecord) -> date:
    """Return the first date end of day must run for this loan."""
    if record.boarded_mid_life:
        return add_months(record.next_due_date, -1)
    return record.origination_date


def board_loans(
    session: Session,
    records: Sequence[tuple[int | None, LoanRecord]],
    *,
    secret: str,
    boarded_on: date,
    actor: str,
    vault: Vault | None = None,
) -> BoardingReport:
    """Create borrowers, loans and opening ledger entries for new loan numbers; skip repeats.

    A row with a bank account needs `vault` (the data keys) to put it on file encrypted; without one it is refused.
    """
    report = BoardingReport([], [], [])
    existing = _existing_loans(session, [r.loan_number for _, r in records])
    phones = _existing_phones(session, [r.phone for _, r in records])
    new: list[tuple[int | None, LoanRecord]] = []
    first_line: dict[str, int | None] = {}
    for line, record in records:
        if record.origination_date > boarded_on:
            report.refused.append(
                Refusal(line, record.loan_number, f"origination_date: {record.origination_date} is in the future")
            )
        elif vault is None and record.bank_account:
            report.refused.append(Refusal(line, record.loan_number, "bank_account: no data key to encrypt it"))
        elif record.loan_number in first_line:
            where = first_line[record.loan_number]
            report.refused.append(Refusal(line, record.loan_number, f"duplicate loan number (first on line {where})"))
        elif record.loan_number in existing:
            if existing[record.loan_number] == record.fingerprint:
                report.unchanged.append(record.loan_number)
            else:
                report.refused.append(
                    Refusal(line, record.loan_number, "loan number already boarded with different data")
                )
        else:
            first_line[record.loan_number] = line
            new.append((line, record))
    borrower_ids = _board_borrowers(session, new, phones, secret, report)
    accepted = [(line, r) for line, r in new if r.loan_number in borrower_ids]
    ids = _insert_loans(session, [r for _, r in accepted], borrower_ids, boarded_on, actor)
    banked = [(i, r.loan_number, d) for i, (_, r) in zip(ids, accepted, strict=True) if (d := r.bank_details())]
    if vault is not None:
        board_bank_accounts(session, banked, vault=vault, actor=actor)
    report.boarded.extend(r.loan_number for _, r in accepted)
    return report


def _existing_loans(session: Session, numbers: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for part in chunked(sorted(set(numbers))):
        query = select(Loan.loan_number, Loan.source_fingerprint).where(Loan.loan_number.in_(part))
        found.update({n: f for n, f in session.execute(query)})
    return found


def _existing_phones(session: Session, phones: Sequence[str]) -> dict[str, tuple[int, str]]:
    found: dict[str, tuple[int, str]] = {}
    for part in chunked(sorted(set(phones))):
        query = (
            select(BorrowerPhone.e164, Borrower.id, Borrower.date_of_birth_hash, Borrower.factor_salt)
            .join(Borrower, Borrower.id == BorrowerPhone.borrower_id)
            .where(BorrowerPhone.e164.in_(part))
        )
        for e164, borrower_id, dob_hash, salt in session.execute(query):
            found[e164] = (borrower_id, f"{salt}:{dob_hash}")
    return found


def _board_borrowers(
    session: Session,
    new: list[tuple[int | None, LoanRecord]],
    phones: dict[str, tuple[int, str]],
    secret: str,
    report: BoardingReport,
) -> dict[str, int]:
    """Return loan number -> borrower id, creating borrowers for phones not yet on file."""
    borrower_ids: dict[str, int] = {}
    pending: dict[str, LoanRecord] = {}
    pending_loans: dict[str, list[str]] = {}
    for line, record in new:
        known = phones.get(record.phone)
        if known is not None:
            borrower_id, salted = known
            salt, stored = salted.split(":", 1)
            if factor_hash(secret, salt, Factor.DATE_OF_BIRTH, record.date_of_birth.isoformat()) != stored:
                report.refused.append(Refusal(line, record.loan_number, "phone already on file for another borrower"))
                continue
            borrower_ids[record.loan_number] = borrower_id
            continue
        first = pending.setdefault(record.phone, record)
        if first is not record and first.date_of_birth != record.date_of_birth:
            report.refused.append(Refusal(line, record.loan_number, "phone already on file for another borrower"))
            continue
        pending_loans.setdefault(record.phone, []).append(record.loan_number)
    rows = [_borrower_row(record, secret) for record in pending.values()]
    ids = insert_rows_returning_ids(session, cast(Table, Borrower.__table__), rows)
    phone_rows = []
    for borrower_id, (phone, _) in zip(ids, pending.items(), strict=True):
        phone_rows.append({"borrower_id": borrower_id, "e164": phone, "is_primary": True})
        for loan_number in pending_loans.get(phone, []):
            borrower_ids[loan_number] = borrower_id
    insert_rows(session, BorrowerPhone.__table__, phone_rows)
    return borrower_ids


def _borrower_row(record: LoanRecord, secret: str) -> dict[str, Any]:
    salt = new_salt()
    return {
        "first_name": record.first_name,
        "last_name": record.last_name,
        "email": record.email,
        "postal_code": record.postal_code,
        "country": record.country,
        "locale": record.locale,
        "timezone": record.timezone,
        "timezone_given": record.timezone_given,
        "factor_salt": salt,
        "date_of_birth_hash": factor_hash(secret, salt, Factor.DATE_OF_BIRTH, record.date_of_birth.isoformat()),
        "tax_id_last4_hash": factor_hash(secret, salt, Factor.TAX_ID_LAST4, record.tax_id_last4),
        "postal_code_hash": factor_hash(secret, salt, Factor.POSTAL_CODE, record.postal_code),
        "search_key": borrower_search_key(record.first_name, record.last_name, record.email),
        "created_at": utcnow(),
        **address_columns(record.mailing_address, MAILING),
    }


def _insert_loans(
    session: Session,
    records: Sequence[LoanRecord],
    borrower_ids: Mapping[str, int],
    boarded_on: date,
    actor: str,
) -> list[int]:
    loan_rows = [_loan_row(r, borrower_ids[r.loan_number], boarded_on) for r in records]
    ids = insert_rows_returning_ids(session, cast(Table, Loan.__table__), loan_rows)
    entries: list[dict[str, Any]] = []
    now = utcnow()
    for loan_id, record in zip(ids, records, strict=True):
        entries.extend(_opening_entries(loan_id, record, boarded_on, actor, now))
    insert_rows(session, LedgerEntry.__table__, entries)
    return ids


def _loan_row(record: LoanRecord, borrower_id: int, boarded_on: date) -> dict[str, Any]:
    paid, paid_through = opening_position(record, boarded_on)
    payment = level_payment(
        record.original_principal, record.annual_rate, record.term_months, record.currency, record.compounding
    )
    return {
        "loan_number": record.loan_number,
        "borrower_id": borrower_id,
        "product": record.product.value,
        "country": record.country,
        "currency": record.currency,
        "minor_units": _currency_places(record.currency),
        "interest_method": record.interest_method.value,
        "compounding": record.compounding.value,
        "original_principal": record.original_principal,
        "annual_rate": record.annual_rate,
        "original_term_months": record.term_months,
        "term_months": record.term_months,
        "origination_date": record.origination_date,
        "first_payment_date": record.first_payment_date,
        "schedule_anchor": record.first_payment_date,
        "monthly_payment": payment,
        "late_fee_rate": record.late_fee_rate,
        "late_fee_amount": record.late_fee_amount,
        "late_fee_grace_days": record.late_fee_grace_days,
        "escrow_monthly": record.escrow_monthly,
        "bank_account_last4": record.bank_account_last4,
        "status": "active",
        "boarded_on": boarded_on,
        "servicing_from": servicing_start(record),
        "source_fingerprint": record.fingerprint,
        "principal_balance": record.principal_balance,
        "interest_balance": ZERO,
        "escrow_balance": record.escrow_balance,
        "fees_balance": ZERO,
        "suspense_balance": ZERO,
        "deferred_balance": ZERO,
        "interest_paid_through": paid_through,
        "installments_paid": paid,
        "dsi_credit": ZERO,
        "late_fee_through": None,
        "fee_seq": 0,
        "next_due_date": record.next_due_date,
        "days_past_due": 0,
        "accrued_interest": ZERO,
        "escrow_analysis_on": first_escrow_analysis(record, boarded_on),
        **address_columns(record.property_address, PROPERTY),
    }


def first_escrow_analysis(record: LoanRecord, boarded_on: date) -> date | None:
    """Return when end of day first analyzes the loan's escrow account: the end of its current computation year."""
    escrowed = record.escrow_monthly > 0 or record.escrow_balance != 0
    if record.product not in ESCROWED_PRODUCTS or not escrowed:
        return None
    return next_analysis_date(record.first_payment_date, boarded_on)


def _opening_entries(loan_id: int, record: LoanRecord, boarded_on: date, actor: str, now: Any) -> list[dict[str, Any]]:
    day = boarded_on if record.boarded_mid_life else record.origination_date
    memo = "boarded balance" if record.boarded_mid_life else "loan funded"
    base = {
        "loan_id": loan_id,
        "payment_id": None,
        "effective_date": day,
        "posted_at": now,
        "principal": ZERO,
        "interest": ZERO,
        "escrow": ZERO,
        "fees": ZERO,
        "suspense": ZERO,
        "deferred": ZERO,
        "reference": f"board:{record.loan_number}",
        "posted_by": actor,
    }
    entries = [{**base, "kind": EntryKind.DISBURSEMENT.value, "principal": record.principal_balance, "memo": memo}]
    if record.escrow_balance:
        entries.append(
            {
                **base,
                "kind": EntryKind.ESCROW_DEPOSIT.value,
                "escrow": record.escrow_balance,
                "memo": "boarded escrow balance",
            }
        )
    return entries
