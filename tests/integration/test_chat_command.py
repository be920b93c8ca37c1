"""`loanline chat`: anyone can talk to the bot in a terminal as a borrower."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from loanline.cli import main

FIXTURES = Path(__file__).parent.parent / "fixtures"


def test_chatting_as_a_borrower_verifies_and_answers_the_balance(
    cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOANLINE_TODAY", "2026-03-20")
    runner = CliRunner()
    assert runner.invoke(main, ["import-loans", str(FIXTURES / "loans_small.csv")]).exit_code == 0
    result = runner.invoke(main, ["chat", "--loan", "M-1001"], input="balance\n05/04/1980\n")
    assert result.exit_code == 0, result.output
    assert "bot> To protect your account, please reply with your date of birth." in result.output
    assert "principal balance $200,000.00" in result.output


def test_a_second_chat_session_is_answered_like_the_first(
    cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOANLINE_TODAY", "2026-03-20")
    runner = CliRunner()
    assert runner.invoke(main, ["import-loans", str(FIXTURES / "loans_small.csv")]).exit_code == 0
    for _ in range(2):
        result = runner.invoke(main, ["chat", "--loan", "M-1001"], input="hi\nbalance\n")
        assert result.exit_code == 0, result.output
        assert "bot> Hi! I'm the virtual assistant" in result.output
        assert "bot> To protect your account, please reply with your date of birth." in result.output


def test_chatting_as_an_unknown_loan_is_refused(cli_env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["chat", "--loan", "NOPE"], input="hi\n")
    assert result.exit_code == 1
    assert "unknown loan NOPE" in result.output
