"""Mailing and property addresses: boarded from the loan file (all or nothing, checked), changed with a masked audit."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from servicing.boarding import parse_loan_row
from servicing.documents.addresses import change_address
from servicing.errors import InvalidInput
from servicing.importing import import_loans
from servicing.store.models import AuditEntry, Borrower, Loan
from tests.conftest import SECRET
from tests.integration.document_helpers import US_ADDRESS, a_loan
from tests.integration.helpers import MORTGAGE_ROW

PROPERTY = {"property_line1": "77 Elm Street", "property_line2": "Unit 2", "property_city": "Albany",
            "property_region": "ny", "property_postal_code": "12207-1234"}  # fmt: skip


def row(**fields: str) -> dict[str, str]:
    return {**MORTGAGE_ROW, "loan_number": "A-1", "phone": "+15550001001", **fields}


def write_file(path: Path, rows: list[dict[str, str]]) -> Path:
    columns = sorted({column for r in rows for column in r})
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_a_loan_file_boards_the_mailing_and_property_addresses(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    good = row(**US_ADDRESS, mailing_line2="Apt 4", **PROPERTY)
    abroad = row(loan_number="A-2", phone="+15550001002", mailing_line1="Flat 4", mailing_line2="27 Waterloo Road",
                 mailing_city="London", mailing_postal_code="se1 7pb", mailing_country="gb")  # fmt: skip
    bare = row(loan_number="A-3", phone="+15550001003")
    result = import_loans(sessions, write_file(tmp_path / "loans.csv", [good, abroad, bare]), secret=SECRET,
                          today=date(2026, 1, 1), actor="test")  # fmt: skip
    assert (result.imported, result.refused) == (["A-1", "A-2", "A-3"], [])
    with sessions() as session:
        loans = {loan.loan_number: loan for loan in session.scalars(select(Loan))}
        first, second, third = (session.get_one(Borrower, loans[n].borrower_id) for n in ("A-1", "A-2", "A-3"))
        assert (first.mailing_line1, first.mailing_line2, first.mailing_city, first.mailing_region,
                first.mailing_postal_code, first.mailing_country) == ("12 Main St", "Apt 4", "New York", "NY", "10001",
                                                                      "US")  # fmt: skip
        secured = loans["A-1"]
        assert (secured.property_line1, secured.property_region, secured.property_postal_code,
                secured.property_country) == ("77 Elm Street", "NY", "12207-1234", "US")  # fmt: skip
        assert (second.mailing_postal_code, second.mailing_country) == ("SE1 7PB", "GB")
        assert third.mailing_line1 is None and loans["A-3"].property_line1 is None


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"mailing_city": "New York", "mailing_postal_code": "10001"}, "mailing_line1: missing"),
        ({"mailing_line1": "12 Main St"}, "mailing_city, mailing_postal_code: give at least one"),
        ({**US_ADDRESS, "mailing_country": "XX"}, "mailing_country: 'XX' is not an ISO 3166-1 alpha-2"),
        ({**US_ADDRESS, "mailing_country": "USA"}, "mailing_country: longer than 2 characters"),
        ({**US_ADDRESS, "mailing_postal_code": "1000"}, "mailing_postal_code: '1000' is not a postal code of US"),
        ({**US_ADDRESS, "mailing_region": "New York"}, "mailing_region: 'New York' is not a US state"),
        ({**US_ADDRESS, "mailing_line1": "12 Main St\x1b"}, "mailing_line1: holds a control character (U+001B)"),
        ({**US_ADDRESS, "mailing_line2": "x" * 101}, "mailing_line2: longer than 100 characters"),
        ({"property_line1": "1 A St", "property_city": "Toronto", "property_region": "Ontario",
          "property_country": "CA"}, "property_region: 'Ontario' is not a CA state or province"),
        ({"property_line1": "1 A St", "property_postal_code": "H2X-1Y4", "property_country": "CA"},
         "property_postal_code: 'H2X-1Y4' is not a postal code of CA"),
    ],
)  # fmt: skip
def test_a_bad_address_in_a_loan_file_row_is_refused_naming_its_column(fields: dict[str, str], reason: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_loan_row(row(**fields))
    assert str(refused.value).startswith(reason)


def test_a_file_row_with_a_bad_address_is_refused_with_its_line_and_boards_nothing_of_it(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    rows = [
        row(**US_ADDRESS),
        row(loan_number="A-2", phone="+15550001002", **{**US_ADDRESS, "mailing_region": "ZZ"}),
        row(loan_number="A-3", phone="+15550001003", **{**US_ADDRESS, "mailing_city": "New\u2028York"}),
    ]
    result = import_loans(sessions, write_file(tmp_path / "loans.csv", rows), secret=SECRET, today=date(2026, 1, 1),
                          actor="test")  # fmt: skip
    assert result.imported == ["A-1"]
    assert [(r.line, r.reason) for r in result.refused] == [
        (3, "mailing_region: 'ZZ' is not a US state or province code (two letters, like NY)"),
        (4, "mailing_city: holds a control character (U+2028)"),
    ]
    with sessions() as session:
        assert session.scalars(select(Loan.loan_number)).all() == ["A-1"]


def audits(session: Session, action: str) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def test_a_changed_mailing_address_is_the_borrowers_and_is_audited_masked_with_the_reason(
    sessions: sessionmaker[Session],
) -> None:
    values: dict[str, Any] = {
        "mailing_line1": "400 Park Avenue South", "mailing_line2": "", "mailing_city": "New York",
        "mailing_region": "NY", "mailing_postal_code": "10016", "mailing_country": "",
    }  # fmt: skip
    with sessions.begin() as session:
        loan = a_loan(session)
        change = change_address(session, loan.loan_number, "mailing", values, actor="sam", reason="Borrower moved")
        assert change.changed == ("line1", "postal_code")
        borrower = session.get_one(Borrower, loan.borrower_id)
        assert (borrower.mailing_line1, borrower.mailing_postal_code, borrower.mailing_country) == (
            "400 Park Avenue South",
            "10016",
            "US",
        )
        [entry] = audits(session, "address.mailing_changed")
        assert (entry.actor, entry.subject_id) == ("sam", loan.loan_number)
        assert entry.detail["before"]["line1"] == "12 …" and entry.detail["after"]["line1"] == "400…"
        assert entry.detail["after"]["postal_code"] == "100…" and entry.detail["reason"] == "Borrower moved"
        assert "Park" not in str(entry.detail) and "10016" not in str(entry.detail)
        again = change_address(session, loan.loan_number, "mailing", values, actor="sam", reason="Again")
        assert again.changed == () and len(audits(session, "address.mailing_changed")) == 1


def test_removing_a_property_address_is_audited_and_a_bad_one_changes_nothing(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        number = a_loan(session, **PROPERTY).loan_number
    with sessions.begin() as session, pytest.raises(InvalidInput, match="property_postal_code"):
        change_address(session, number, "property", {"property_line1": "1 New St", "property_postal_code": "ABC"},
                       actor="sam", reason="typo")  # fmt: skip
    with sessions.begin() as session, pytest.raises(InvalidInput, match="reason: missing"):
        change_address(session, number, "property", {}, actor="sam", reason=" ")
    with sessions.begin() as session:
        loan = session.scalars(select(Loan).where(Loan.loan_number == number)).one()
        assert loan.property_line1 == "77 Elm Street"
        assert audits(session, "address.property_changed") == []
        removed = change_address(session, number, "property", {}, actor="sue", reason="Property sold")
        assert removed.address is None and "line1" in removed.changed
        assert loan.property_line1 is None and loan.property_country is None
        [entry] = audits(session, "address.property_changed")
        assert entry.detail["after"] is None and entry.detail["before"]["city"] == "Albany"
