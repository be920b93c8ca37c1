"""Bank accounts on file: checked, encrypted at rest, masked everywhere, audited; keys rotate."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from servicing.ach.accounts import (
    BankAccountRefused,
    add_bank_account,
    bank_accounts,
    check_bank_details,
    remove_bank_account,
    rotate_bank_account_keys,
)
from servicing.ach.vault import UnreadableSecret, Vault, new_key
from servicing.boarding import board_loans, parse_loan_row
from servicing.errors import InvalidInput
from servicing.store.models import AchFile, AuditEntry, BankAccount, Loan
from tests.conftest import SECRET
from tests.integration.ach_helpers import KEY, export, loan_on_autopay
from tests.integration.helpers import MORTGAGE_ROW, board

ACCOUNT = "000123456789"


def audit_text(session: Session) -> str:
    return json.dumps([e.detail for e in session.scalars(select(AuditEntry))])


def test_a_routing_number_with_a_wrong_check_digit_is_refused_by_name() -> None:
    with pytest.raises(InvalidInput, match="bank_routing: '121042883' is not a routing number"):
        check_bank_details("121042883", ACCOUNT, "checking")
    with pytest.raises(InvalidInput, match="bank_type"):
        check_bank_details("121042882", ACCOUNT, "brokerage")
    with pytest.raises(InvalidInput, match="bank_account: an account number is 4 to 17") as refused:
        check_bank_details("121042882", "12", "checking")
    assert "12'" not in str(refused.value)


def test_an_account_added_in_the_console_is_stored_encrypted_shown_masked_and_audited_masked(
    sessions: sessionmaker[Session],
) -> None:
    vault = Vault([new_key()])
    with sessions.begin() as session:
        number = board(session)
        add_bank_account(session, number, check_bank_details("121042882", ACCOUNT, "savings"), vault=vault,
                         actor="ana")  # fmt: skip
    with sessions() as session:
        stored = session.scalars(select(BankAccount)).one()
        assert ACCOUNT not in stored.account_encrypted and vault.open(stored.account_encrypted) == ACCOUNT
        (view,) = bank_accounts(session, number)
        assert (view.masked, view.routing, view.account_type) == ("****6789", "121042882", "savings")
        assert session.scalar(select(Loan.bank_account_last4)) == "6789"
        assert ACCOUNT not in audit_text(session) and "****6789" in audit_text(session)


def test_a_new_account_replaces_the_active_one_and_removal_needs_a_reason(sessions: sessionmaker[Session]) -> None:
    vault = Vault([new_key()])
    with sessions.begin() as session:
        number = board(session)
        add_bank_account(session, number, check_bank_details("121042882", ACCOUNT, "checking"), vault=vault,
                         actor="ana")  # fmt: skip
        add_bank_account(session, number, check_bank_details("231380104", "99887766", "checking"), vault=vault,
                         actor="ana")  # fmt: skip
        with pytest.raises(InvalidInput):
            remove_bank_account(session, number, actor="ana", reason=" ")
        remove_bank_account(session, number, actor="ana", reason="borrower closed the account")
    with sessions() as session:
        assert [(v.masked, v.status) for v in bank_accounts(session, number)] == [
            ("****7766", "removed"), ("****6789", "replaced")]  # fmt: skip
        assert session.scalar(select(Loan.bank_account_last4)) is None
        with pytest.raises(BankAccountRefused, match="no bank account on file"):
            remove_bank_account(session, number, actor="ana", reason="again")


def test_boarding_puts_the_bank_account_on_file_encrypted(sessions: sessionmaker[Session]) -> None:
    vault = Vault([new_key()])
    row = {**MORTGAGE_ROW, "loan_number": "B-1", "phone": "+15559990001", "bank_routing": "121042882",
           "bank_account": ACCOUNT, "bank_type": "savings"}  # fmt: skip
    with sessions.begin() as session:
        report = board_loans(session, [(2, parse_loan_row(row))], secret=SECRET, boarded_on=date(2026, 1, 1),
                             actor="import", vault=vault)  # fmt: skip
        assert report.boarded == ["B-1"]
    with sessions() as session:
        (view,) = bank_accounts(session, "B-1")
        assert (view.masked, view.source, view.account_type) == ("****6789", "boarding", "savings")
        assert session.scalar(select(Loan.bank_account_last4)) == "6789"
        assert ACCOUNT not in audit_text(session)


def test_boarding_refuses_half_a_bank_account_and_a_row_it_cannot_encrypt(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(InvalidInput, match="bank_routing and bank_account go together"):
        parse_loan_row({**MORTGAGE_ROW, "loan_number": "B-2", "phone": "+15559990002", "bank_account": ACCOUNT})
    record = parse_loan_row({**MORTGAGE_ROW, "loan_number": "B-3", "phone": "+15559990003",
                             "bank_routing": "121042882", "bank_account": ACCOUNT})  # fmt: skip
    with sessions.begin() as session:
        report = board_loans(session, [(2, record)], secret=SECRET, boarded_on=date(2026, 1, 1), actor="import")
    assert [r.reason for r in report.refused] == ["bank_account: no data key to encrypt it"]


def test_rotation_re_encrypts_with_the_new_key_while_the_old_one_still_opens_what_is_left(
    sessions: sessionmaker[Session],
) -> None:
    old, new = new_key(), new_key()
    with sessions.begin() as session:
        number = board(session)
        add_bank_account(session, number, check_bank_details("121042882", ACCOUNT, "checking"), vault=Vault([old]),
                         actor="ana")  # fmt: skip
    both = Vault([new, old])
    with sessions() as session:
        token = session.scalars(select(BankAccount.account_encrypted)).one()
        assert both.open(token) == ACCOUNT and not both.is_current(token)
    with sessions.begin() as session:
        assert rotate_bank_account_keys(session, both, actor="ops").rotated == 1
    with sessions.begin() as session:
        assert rotate_bank_account_keys(session, both, actor="ops").already_current == 1
        token = session.scalars(select(BankAccount.account_encrypted)).one()
    assert Vault([new]).open(token) == ACCOUNT
    with pytest.raises(UnreadableSecret):
        Vault([old]).open(token)


def test_rotation_re_encrypts_the_kept_origination_files_too(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        loan_on_autopay(session)
        export(session)
    both = Vault([new_key(), KEY])
    with sessions.begin() as session:
        rotation = rotate_bank_account_keys(session, both, actor="ops")
    assert rotation.rotated == 2  # the account number and the kept file
    with sessions() as session:
        kept = session.scalars(select(AchFile.content_encrypted)).one()
        assert kept is not None and both.is_current(kept) and "LOANPAYMNT" in both.open(kept)
