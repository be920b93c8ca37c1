"""The `loanline` command's contract with scripts: help everywhere, exit 2 on bad usage, 1 on a refusal."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from loanline.cli import main
from servicing.store.models import Base

FIXTURES = Path(__file__).parent.parent / "fixtures"
TODAY = "2026-03-20"
COMMANDS = ["init", "import-loans", "import-payments", "eod", "loan", "payoff", "report", "statements"]


def run(*args: str) -> tuple[int, str]:
    """Run `loanline` and return its exit code and everything it printed (stdout and stderr)."""
    result = CliRunner().invoke(main, list(args), catch_exceptions=False, prog_name="loanline")
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def rows_in(engine: Engine, table: str) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(Base.metadata.tables[table])).scalar_one()


@pytest.fixture
def boarded(cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOANLINE_TODAY", TODAY)
    code, output = run("import-loans", str(FIXTURES / "loans_small.csv"))
    assert code == 0, output


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_explains_itself_with_help(command: str) -> None:
    code, output = run(command, "--help")
    assert code == 0
    assert output.startswith(f"Usage: loanline {command} [OPTIONS]")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["eod", "--through", "03/20/2026"],
            "Invalid value for '--through': '03/20/2026' is not a date (YYYY-MM-DD)",
        ),
        (
            ["eod", "--through", "2026-02-30"],
            "Invalid value for '--through': '2026-02-30' is not a date (YYYY-MM-DD)",
        ),
        (["eod", "--thru", "2026-03-20"], "No such option '--thru'. Did you mean '--through'?"),
        (["loan", "M-1001", "--as-of", "tomorrow"], "Invalid value for '--as-of': 'tomorrow' is not a date"),
        (["payoff", "M-1001", "--good-through", "2026/03/30"], "Invalid value for '--good-through'"),
        (["loan", "M-1001", "--jsn"], "No such option '--jsn'. Did you mean '--json'?"),
        (["loan"], "Missing argument 'LOAN_NUMBER'"),
        (["report", "balances"], "'balances' is not one of 'delinquency', 'payments', 'cases', 'audit'"),
        (["report", "payments", "--format", "xml"], "Invalid value for '--format': 'xml' is not one of"),
        (["import-loans", "no-such-file.csv"], "File 'no-such-file.csv' does not exist"),
        (["import-payments", "."], "is a directory"),
        (["reboot"], "No such command 'reboot'"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_bad_usage_exits_2_with_the_reason_and_runs_nothing(
    boarded: None, engine: Engine, args: list[str], message: str
) -> None:
    code, output = run(*args)
    assert code == 2
    assert message in output
    assert rows_in(engine, "business_days") == 0
    assert rows_in(engine, "payments") == 0


@pytest.mark.parametrize("command", ["loan", "payoff"])
def test_an_unknown_loan_number_is_a_refusal_not_a_crash(boarded: None, command: str) -> None:
    assert run(command, "NOPE") == (1, "Error: unknown loan NOPE\n")
    assert run(command, "NOPE", "--json") == (1, "Error: unknown loan NOPE\n")
