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
