"""`loanline ach export`, `ach returns`, `report ach` and `keys` as a script runs them: exit codes and files."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from loanline.cli import main
from servicing.ach.accounts import add_bank_account, check_bank_details
from servicing.ach.autopay import AmountKind, AutopayTerms, autopay_offer, enrol_autopay
from servicing.ach.vault import Vault
from servicing.config import Settings
from servicing.errors import InvalidInput
from servicing.store.db import make_engine, make_session_factory
from servicing.store.models import AchDraft, Payment
from tests.integration.ach_helpers import NOW, returns_file
from tests.integration.helpers import board


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False, prog_name="loanline")
    assert "Traceback" not in result.output
    return result.exit_code, result.output


@pytest.fixture
def autopay_loan(cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> str:
    """A loan on autopay drafting Monday 2 February 2026, set up with the deployment's own data key."""
    monkeypatch.setenv("LOANLINE_TODAY", "2026-01-30")
    vault = Vault(Settings.from_env().data_keys)
    engine = make_engine(cli_env["LOANLINE_DATABASE_URL"])
    try:
        with make_session_factory(engine).begin() as session:
            number = board(session)
            add_bank_account(session, number, check_bank_details("121042882", "000123456789", "checking"),
                             vault=vault, actor="ana")  # fmt: skip
            terms = AutopayTerms(AmountKind.DUE)
            offer = autopay_offer(session, number, terms, servicer="Loanline", phone="+1 800 555 0100")
            enrol_autopay(session, offer, terms, channel="console_phone", actor="ana", now=NOW,
                          disclosure_confirmed=True)  # fmt: skip
    finally:
        engine.dispose()
    return number


def test_export_writes_the_next_business_days_file_once_and_returns_apply_once(
    autopay_loan: str, cli_env: dict[str, str], tmp_path: Path
) -> None:
    code, output = run("ach", "export", "--out", str(tmp_path / "a.ach"))
    assert code == 0, output
    assert "1 debits effective 2026-02-02" in output
    code, again = run("ach", "export", "--out", str(tmp_path / "b.ach"))
    assert code == 0 and "the same file again" in again
    assert (tmp_path / "a.ach").read_bytes() == (tmp_path / "b.ach").read_bytes()
    assert (tmp_path / "a.ach").stat().st_mode & 0o077 == 0
    engine = make_engine(cli_env["LOANLINE_DATABASE_URL"])
    try:
        with make_session_factory(engine)() as session:
            trace = session.scalars(select(AchDraft.trace_number)).one()
    finally:
        engine.dispose()
    returns = tmp_path / "returns.ach"
    returns.write_bytes(returns_file((tmp_path / "a.ach").read_bytes(), {trace: "R01"}))
    code, output = run("ach", "returns", str(returns))
    assert code == 0, output
    assert f"{autopay_loan} R01: draft returned before it posted" in output
    code, output = run("ach", "returns", str(returns))
    assert code == 1 and "already applied" in output
    code, output = run("report", "ach")
    assert code == 0 and "2026-02-02,USD,1," in output and "R01:1" in output


def test_a_malformed_returns_file_exits_1_with_its_line_and_changes_nothing(
    autopay_loan: str, cli_env: dict[str, str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.ach"
    bad.write_text("101 bad\n")
    code, output = run("ach", "returns", str(bad))
    assert code == 1 and "line 1: a record is 94 characters, this line has 7" in output
    engine = make_engine(cli_env["LOANLINE_DATABASE_URL"])
    try:
        with make_session_factory(engine)() as session:
            assert session.scalar(select(Payment.id)) is None
    finally:
        engine.dispose()


def test_export_refuses_a_weekend_and_keys_rotate_runs_twice_harmlessly(autopay_loan: str, tmp_path: Path) -> None:
    code, output = run("ach", "export", "--date", "2026-02-01", "--out", str(tmp_path / "x.ach"))
    assert code == 1 and "not a business day" in output
    assert not (tmp_path / "x.ach").exists()
    code, output = run("keys", "rotate")
    assert code == 0 and "0 bank account numbers and kept ACH files re-encrypted" in output
    code, key = run("keys", "new")
    assert code == 0 and len(key.strip()) == 44


def test_a_malformed_ach_setting_is_refused_by_name(cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOANLINE_ACH_IMMEDIATE_DESTINATION", "091000018")
    with pytest.raises(InvalidInput, match="LOANLINE_ACH_IMMEDIATE_DESTINATION: the routing number's check digit"):
        Settings.from_env()
    monkeypatch.setenv("LOANLINE_ACH_IMMEDIATE_DESTINATION", "091000019")
    monkeypatch.setenv("LOANLINE_DATA_KEY", "not-a-key")
    with pytest.raises(InvalidInput, match="LOANLINE_DATA_KEY: key 1 is not a Fernet key"):
        Settings.from_env()
