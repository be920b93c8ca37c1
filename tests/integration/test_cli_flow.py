"""The operator's day through the `loanline` command: board, post, end of day, payoff."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from loanline.cli import main

FIXTURES = Path(__file__).parent.parent / "fixtures"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def boarded(cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOANLINE_TODAY", "2026-03-20")
    code, output = run("import-loans", str(FIXTURES / "loans_small.csv"))
    assert code == 0, output


def test_boarding_then_posting_then_eod_gives_the_hand_checked_payoff(boarded: None, tmp_path: Path) -> None:
    payments = write(
        tmp_path / "p.csv",
        "loan_number,amount,received_on,reference,method\nM-1001,1449.10,2026-03-01,R1,ach\n",
    )
    assert run("import-payments", str(payments))[0] == 0
    assert run("eod", "--through", "2026-03-20")[0] == 0
    _, output = run("payoff", "M-1001", "--json")
    quote = json.loads(output)
    # installment 1 (due 2026-03-01): interest 200000 x 0.06 / 12 = 1000.00, principal 1199.10 - 1000 = 199.10
    assert quote["principal"] == "199800.90"
    # paid through 2026-02-28; good through 2026-03-30 (quote 2026-03-20 + 10): 30 days of 30/360
    # 199800.90 x 0.06 x 30 / 360 = 999.0045 -> 999.00
    assert quote["interest"] == "999.00"
    assert quote["total"] == "200799.90"
    assert quote["escrow_refund"] == "750.00"  # 500 boarded + 250 deposited with installment 1


def test_reimporting_the_same_files_changes_nothing(boarded: None, tmp_path: Path) -> None:
    payments = write(tmp_path / "p.csv", "loan_number,amount,received_on,reference\nM-1001,1449.10,2026-03-01,R1\n")
    assert run("import-payments", str(payments))[0] == 0
    code, output = run("import-loans", str(FIXTURES / "loans_small.csv"))
    assert (code, output.strip().splitlines()[-1]) == (0, "2 rows: 0 boarded, 2 unchanged, 0 refused")
    code, output = run("import-payments", str(payments))
    assert (code, output.strip()) == (0, "1 rows: 0 posted, 1 unchanged, 0 refused")
    assert json.loads(run("loan", "M-1001", "--json")[1])["principal_balance"] == "199800.90"


def test_a_reused_reference_for_another_payment_is_refused(boarded: None, tmp_path: Path) -> None:
    first = write(tmp_path / "a.csv", "loan_number,amount,received_on,reference\nM-1001,1449.10,2026-03-01,R1\n")
    second = write(tmp_path / "b.csv", "loan_number,amount,received_on,reference\nM-1001,50.00,2026-03-02,R1\n")
    run("import-payments", str(first))
    code, output = run("import-payments", str(second))
    assert code == 1
    assert "line 2: R1: duplicate reference R1: already used for a different payment" in output


def test_the_demo_command_loads_loans_conversations_and_a_login_per_role(
    cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOANLINE_TODAY", "2026-03-20")
    assert run("init")[0] == 0
    code, output = run("demo")
    assert code == 0, output
    assert "Console logins (demo):" in output
    for role in ("specialist", "supervisor", "admin"):
        assert f" {role} " in output
    code, report = run("report", "queue", "--format", "json")
    assert code == 0, report


@pytest.mark.parametrize(("setting", "escrow_left"), [("refund", "0.00"), ("credit", "40.00")])
def test_end_of_day_analyzes_escrow_with_the_servicers_small_surplus_setting(
    cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, setting: str, escrow_left: str
) -> None:
    # A mortgage boarded mid-life on 15 January 2026, installments from 1 March 2025, the next due 1 February
    # 2026, no escrow deposit and no bills, 40.00 left in escrow: end of day analyzes it the day after the
    # twelfth installment, 2 February. Nothing to pay: no cushion, the whole 40 is a surplus under 50, and
    # one day past due is current. "refund" sends it back; "credit" cannot lower a deposit of zero, so it stays.
    monkeypatch.setenv("LOANLINE_TODAY", "2026-01-15")
    monkeypatch.setenv("LOANLINE_ESCROW_SMALL_SURPLUS", setting)
    loans = write(
        tmp_path / "mid.csv",
        "loan_number,product,borrower_first_name,borrower_last_name,date_of_birth,tax_id_last4,phone,postal_code,"
        "country,locale,currency,original_principal,annual_rate,term_months,origination_date,first_payment_date,"
        "interest_method,principal_balance,next_due_date,escrow_monthly,escrow_balance\n"
        "M-3001,mortgage,Ana,Silva,1980-05-04,1234,+15551230001,10001,US,en_US,USD,200000.00,0.06,360,2025-01-20,"
        "2025-03-01,30/360,197500.00,2026-02-01,,40.00\n",
    )
    assert run("import-loans", str(loans))[0] == 0
    monkeypatch.setenv("LOANLINE_TODAY", "2026-02-02")
    code, output = run("eod", "--through", "2026-02-02")
    assert code == 0 and "escrow analyzed 1" in output, output
    assert json.loads(run("loan", "M-3001", "--json")[1])["escrow_balance"] == escrow_left
