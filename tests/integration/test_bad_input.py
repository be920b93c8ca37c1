"""Bad files through the real `loanline` command: a clear reason for each bad line, and no other change."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from loanline.cli import main
from servicing.store.models import Base

FIXTURES = Path(__file__).parent.parent / "fixtures"
TODAY = "2026-03-20"
COUNTED = ("borrowers", "borrower_phones", "loans", "installments", "fees", "payments", "ledger_entries")
PAYMENT_HEADER = "loan_number,amount,received_on,reference,method\n"

# One good boarding row; tests change a field or two. Every loan gets its own borrower (its own phone).
LOAN = {
    "loan_number": "L-1",
    "product": "mortgage",
    "borrower_first_name": "Ana",
    "borrower_last_name": "Silva",
    "date_of_birth": "1980-05-04",
    "tax_id_last4": "1234",
    "phone": "+15550000001",
    "email": "ana.silva@example.com",
    "postal_code": "10001",
    "country": "US",
    "locale": "en_US",
    "timezone": "America/New_York",
    "currency": "USD",
    "original_principal": "200000.00",
    "annual_rate": "0.06",
    "term_months": "360",
    "origination_date": "2026-01-15",
    "first_payment_date": "2026-03-01",
    "interest_method": "30/360",
    "escrow_monthly": "250.00",
    "escrow_balance": "500.00",
}

Counts = dict[str, int]


def run(*args: str) -> tuple[int, str]:
    """Run `loanline` and return its exit code and everything it printed (stdout and stderr)."""
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def loan(n: int, **changes: str) -> dict[str, str]:
    """Return boarding row L-n with its own borrower, changed where given."""
    return {**LOAN, "loan_number": f"L-{n}", "phone": f"+1555{n:07d}", **changes}


def loan_file(path: Path, rows: Iterable[Mapping[str, str]], columns: Iterable[str] = tuple(LOAN)) -> Path:
    """Write a boarding file with a header of `columns`."""
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def payment_file(path: Path, *rows: str) -> Path:
    """Write a payment file: the header, then one line per row."""
    path.write_text(PAYMENT_HEADER + "".join(f"{row}\n" for row in rows), encoding="utf-8")
    return path


def loan_json(number: str) -> dict[str, str]:
    code, output = run("loan", number, "--json")
    assert code == 0, output
    return dict(json.loads(output))


@pytest.fixture
def counts(engine: Engine) -> Callable[[], Counts]:
    """Return a function counting the rows of every table a file import writes to."""

    def count() -> Counts:
        with engine.connect() as connection:
            return {
                name: connection.execute(select(func.count()).select_from(Base.metadata.tables[name])).scalar_one()
                for name in COUNTED
            }

    return count


@pytest.fixture
def today(cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("LOANLINE_TODAY", TODAY)
    return TODAY


@pytest.fixture
def boarded(today: str) -> None:
    """Board M-1001 (USD 30/360 mortgage, escrow 500) and P-2001 (IDR actual/365 personal loan)."""
    code, output = run("import-loans", str(FIXTURES / "loans_small.csv"))
    assert code == 0, output


# -- loan boarding file -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"origination_date": "2026-02-30"}, "origination_date: '2026-02-30' is not a real date"),
        ({"origination_date": "02/01/2026"}, "origination_date: '02/01/2026' is not a date (YYYY-MM-DD)"),
        ({"original_principal": "-5"}, "original_principal: '-5' must be positive"),
        ({"original_principal": "0.00"}, "original_principal: '0.00' must be positive"),
        ({"original_principal": "abc"}, "original_principal: 'abc' is not an amount"),
        ({"original_principal": "1,000.00"}, "original_principal: '1,000.00' is not an amount"),
        ({"original_principal": "1e5"}, "original_principal: '1e5' is not an amount"),
        ({"original_principal": "NaN"}, "original_principal: 'NaN' is not an amount"),
        ({"original_principal": "$100.00"}, "original_principal: '$100.00' is not an amount"),
        (
            {"original_principal": "999999999999999.99"},
            "original_principal: '999999999999999.99' is too large (must be under 1000000000000)",
        ),
        ({"currency": "XYZ"}, "currency: unknown currency 'XYZ'"),
        ({"original_principal": "1.001"}, "original_principal: '1.001' has more decimals than USD allows"),
        (
            {"currency": "IDR", "original_principal": "100.5", "escrow_monthly": "0", "escrow_balance": "0"},
            "original_principal: '100.5' has more decimals than IDR allows",
        ),
        ({"escrow_monthly": "-250.00"}, "escrow_monthly: must not be negative"),
        ({"annual_rate": "6.5"}, "annual_rate: rate 6.5 looks like a percentage; write 0.065 for 6.5%"),
        ({"phone": "555-1234"}, "phone: '555-1234' is not an E.164 number (+ and 7 to 15 digits)"),
        ({"interest_method": "simple"}, "interest_method: 'simple' is not one of 30/360|actual/365"),
    ],
    ids=lambda v: "-".join(v.values()) if isinstance(v, dict) else None,
)
def test_a_bad_value_refuses_only_its_row_with_line_number_and_reason(
    today: str, tmp_path: Path, counts: Callable[[], Counts], changes: dict[str, str], reason: str
) -> None:
    path = loan_file(tmp_path / "loans.csv", [loan(1), loan(2, **changes), loan(3)])
    code, output = run("import-loans", str(path))
    assert code == 1
    assert f"line 3: L-2: {reason}" in output.splitlines()
    assert output.splitlines()[-1] == "3 rows: 2 boarded, 0 unchanged, 1 refused"
    after = counts()
    # two loans, each with a borrower, a phone, and two opening ledger lines (funding and escrow)
    assert (after["loans"], after["borrowers"], after["borrower_phones"], after["ledger_entries"]) == (
        2,
        2,
        2,
        4,
    )
    assert run("loan", "L-2") == (1, "Error: unknown loan L-2\n")
    assert loan_json("L-3")["principal_balance"] == "200000.00"


@pytest.mark.parametrize(
    ("columns", "missing"),
    [
        ([c for c in LOAN if c not in ("currency", "term_months")], "currency, term_months"),
        ([c for c in LOAN if c != "loan_number"], "loan_number"),
    ],
)
def test_a_file_missing_required_columns_is_refused_whole(
    today: str, tmp_path: Path, counts: Callable[[], Counts], columns: list[str], missing: str
) -> None:
    before = counts()
    path = loan_file(tmp_path / "loans.csv", [loan(1), loan(2)], columns)
    code, output = run("import-loans", str(path))
    assert code == 1
    assert output.strip() == f"Error: loans.csv: missing columns: {missing}"
    assert counts() == before


def test_a_file_with_an_unknown_column_is_refused_whole(
    today: str, tmp_path: Path, counts: Callable[[], Counts]
) -> None:
    before = counts()
    path = loan_file(tmp_path / "loans.csv", [{**loan(1), "ssn": "123-45-6789"}], [*LOAN, "ssn"])
    code, output = run("import-loans", str(path))
    assert (code, output.strip()) == (1, "Error: loans.csv: unknown columns: ssn")
    assert counts() == before


def test_a_loan_number_twice_in_one_file_boards_the_first_and_refuses_the_second(
    today: str, tmp_path: Path, counts: Callable[[], Counts]
) -> None:
    path = loan_file(tmp_path / "loans.csv", [loan(1), loan(2), loan(1, original_principal="150000.00")])
    code, output = run("import-loans", str(path))
    assert code == 1
    assert "line 4: L-1: duplicate loan number (first on line 2)" in output.splitlines()
    assert output.splitlines()[-1] == "3 rows: 2 boarded, 0 unchanged, 1 refused"
    assert loan_json("L-1")["principal_balance"] == "200000.00"
    assert counts()["loans"] == 2


def test_reimporting_a_loan_number_with_different_data_is_refused_and_keeps_the_boarded_loan(
    today: str, tmp_path: Path, counts: Callable[[], Counts]
) -> None:
    assert run("import-loans", str(loan_file(tmp_path / "first.csv", [loan(1)])))[0] == 0
    before, summary = counts(), loan_json("L-1")
    changed = loan_file(tmp_path / "second.csv", [loan(1, original_principal="150000.00")])
    code, output = run("import-loans", str(changed))
    assert code == 1
    assert "line 2: L-1: loan number already boarded with different data" in output.splitlines()
    assert (counts(), loan_json("L-1")) == (before, summary)


@pytest.mark.parametrize(
    ("prefix", "newline"),
    [(b"\xef\xbb\xbf", "\n"), (b"\xef\xbb\xbf", "\r\n"), (b"", "\r\n")],
    ids=["utf8-bom", "excel-bom-crlf", "crlf"],
)
def test_a_file_saved_by_excel_with_a_bom_and_crlf_boards_normally(
    today: str, tmp_path: Path, prefix: bytes, newline: str
) -> None:
    text = loan_file(tmp_path / "plain.csv", [loan(1), loan(2)]).read_text(encoding="utf-8")
    path = tmp_path / "excel.csv"
    path.write_bytes(prefix + text.replace("\n", newline).encode("utf-8"))
    code, output = run("import-loans", str(path))
    assert (code, output.strip()) == (0, "2 rows: 2 boarded, 0 unchanged, 0 refused")
    assert loan_json("L-1")["loan_number"] == "L-1"


def test_a_file_that_is_not_utf8_is_refused_whole_naming_the_line(
    today: str, tmp_path: Path, counts: Callable[[], Counts]
) -> None:
    before = counts()
    text = loan_file(tmp_path / "utf8.csv", [loan(1), loan(2, borrower_first_name="José")]).read_text("utf-8")
    path = tmp_path / "latin1.csv"
    path.write_bytes(text.encode("latin-1"))
    code, output = run("import-loans", str(path))
    assert code == 1
    assert output.strip() == "Error: latin1.csv: line 3: not UTF-8 (byte 0xe9); save the file as UTF-8"
    assert counts() == before


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda line: line + ",surplus", f"line 3: expected {len(LOAN)} fields, found {len(LOAN) + 1}"),
        (lambda line: line.rsplit(",", 1)[0], f"line 3: expected {len(LOAN)} fields, found {len(LOAN) - 1}"),
        (
            lambda line: line.replace(",Silva,", ',"Silva,'),
            "line 3: a quote opens a field and is not closed on its line",
        ),
        (
            lambda line: line.replace(",Silva,", ',Sil"va,'),
            "line 3: a quote inside a field that does not start with one",
        ),
        (lambda line: line.replace(",Silva,", ',"Sil"va,'), "line 3: a quoted field goes on after its closing quote"),
    ],
    ids=["more-fields", "fewer-fields", "unclosed-quote", "stray-quote", "text-after-quote"],
)
def test_a_loan_file_whose_csv_is_broken_is_refused_whole_naming_the_line(
    today: str, tmp_path: Path, counts: Callable[[], Counts], damage: Callable[[str], str], reason: str
) -> None:
    before = counts()
    lines = loan_file(tmp_path / "good.csv", [loan(1), loan(2), loan(3)]).read_text("utf-8").splitlines()
    lines[2] = damage(lines[2])  # L-2, on line 3
    path = tmp_path / "loans.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert run("import-loans", str(path)) == (1, f"Error: loans.csv: {reason}\n")
    assert counts() == before


def test_a_field_holding_a_line_break_refuses_the_file_naming_the_line_where_it_starts(
    today: str, tmp_path: Path, counts: Callable[[], Counts]
) -> None:
    before = counts()
    text = loan_file(tmp_path / "base.csv", [loan(1), loan(2, borrower_last_name="Silva\nCosta"), loan(3)])
    path = tmp_path / "loans.csv"
    path.write_text(text.read_text("utf-8"), encoding="utf-8")
    assert run("import-loans", str(path)) == (1, "Error: loans.csv: line 3: a quote opens a field and is not closed "
                                                 "on its line\n")  # fmt: skip
    assert counts() == before


def test_line_numbers_are_the_files_own_lines_around_blank_lines(
    today: str, tmp_path: Path, counts: Callable[[], Counts]
) -> None:
    text = loan_file(tmp_path / "base.csv", [loan(1, term_months="0"), loan(2), loan(3, currency="XYZ")]).read_text(
        "utf-8"
    )
    header, first, second, third = text.splitlines()
    path = tmp_path / "loans.csv"
    path.write_text("\n".join([header, first, "", second, " , ", third]) + "\n", "utf-8")
    code, output = run("import-loans", str(path))
    assert code == 1
    assert output.splitlines() == [
        "line 2: L-1: term_months: 0 is outside 1..600",
        "line 6: L-3: currency: unknown currency 'XYZ'",
        "3 rows: 1 boarded, 0 unchanged, 2 refused",
    ]
    assert counts()["loans"] == 1


def test_an_empty_loan_file_is_refused(today: str, tmp_path: Path, counts: Callable[[], Counts]) -> None:
    before = counts()
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    assert run("import-loans", str(path)) == (1, "Error: empty.csv: empty file\n")
    assert counts() == before


def test_a_header_only_loan_file_boards_nothing_and_succeeds(
    today: str, tmp_path: Path, counts: Callable[[], Counts]
) -> None:
    before = counts()
    path = loan_file(tmp_path / "header.csv", [])
    assert run("import-loans", str(path)) == (0, "0 rows: 0 boarded, 0 unchanged, 0 refused\n")
    assert counts() == before


@pytest.mark.slow  # about 8 s on SQLite, 30-50 s on PostgreSQL (psycopg parses each bulk INSERT)
def test_a_10_mb_file_boards_every_good_row_and_names_each_bad_line(
    today: str, tmp_path: Path, counts: Callable[[], Counts]
) -> None:
    good_rows = 36_000
    bad = {  # line number -> (row, printed reason)
        2: (
            loan(900_001, origination_date="2026-02-30"),
            "origination_date: '2026-02-30' is not a real date",
        ),
        20_000: (loan(900_002, original_principal="-5"), "original_principal: '-5' must be positive"),
        good_rows + 4: (loan(900_003, currency="XYZ"), "currency: unknown currency 'XYZ'"),
    }
    good = (
        loan(n, borrower_first_name="Alexandrina-Maxima", borrower_last_name="Montgomery-Featherstonehaugh",
             email=f"alexandrina.montgomery-featherstonehaugh.{n}@servicing.example.com",
             late_fee_grace_days="15", late_fee_rate="0.05", compounding="monthly", bank_account_last4="4321")
        for n in range(1, good_rows + 1)
    )  # fmt: skip
    rows = [bad[line][0] if line in bad else next(good) for line in range(2, good_rows + len(bad) + 2)]
    columns = [*LOAN, "late_fee_grace_days", "late_fee_rate", "compounding", "bank_account_last4"]
    path = loan_file(tmp_path / "big.csv", rows, columns)
    assert path.stat().st_size >= 10_000_000

    code, output = run("import-loans", str(path))

    assert code == 1
    assert output.splitlines() == [
        *(f"line {line}: {row['loan_number']}: {reason}" for line, (row, reason) in sorted(bad.items())),
        f"{good_rows + 3} rows: {good_rows} boarded, 0 unchanged, 3 refused",
    ]
    assert counts()["loans"] == good_rows
    assert loan_json(f"L-{good_rows}")["principal_balance"] == "200000.00"


# -- payment file -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("NOPE,100.00,2026-03-01,R9,ach", "R9: unknown loan NOPE"),
        ("M-1001,0,2026-03-01,R9,ach", "R9: amount: '0' must be positive"),
        ("M-1001,0.00,2026-03-01,R9,ach", "R9: amount: '0.00' must be positive"),
        ("M-1001,-5,2026-03-01,R9,ach", "R9: amount: '-5' must be positive"),
        ("M-1001,abc,2026-03-01,R9,ach", "R9: amount: 'abc' is not an amount"),
        ('M-1001,"1,449.10",2026-03-01,R9,ach', "R9: amount: '1,449.10' is not an amount"),
        ("M-1001,1e3,2026-03-01,R9,ach", "R9: amount: '1e3' is not an amount"),
        (
            "M-1001,999999999999999,2026-03-01,R9,ach",
            "R9: amount: '999999999999999' is too large (must be under 1000000000000)",
        ),
        ("M-1001,10.001,2026-03-01,R9,ach", "R9: amount 10.001 is finer than USD allows"),
        ("P-2001,100.5,2026-03-01,R9,ach", "R9: amount 100.5 is finer than IDR allows"),
        ("M-1001,100.00,2026-03-21,R9,ach", "R9: received date 2026-03-21 is in the future"),
        ("M-1001,100.00,2026-13-01,R9,ach", "R9: received_on: '2026-13-01' is not a real date"),
        ("M-1001,100.00,03/01/2026,R9,ach", "R9: received_on: '03/01/2026' is not a date (YYYY-MM-DD)"),
        (
            "M-1001,100.00,2016-03-01,R9,ach",
            "R9: received date 2016-03-01 is before the loan was originated (2026-01-15)",
        ),
        (
            "M-1001,100.00,2026-03-01,R9,bitcoin",
            "R9: method: 'bitcoin' is not one of ach|check|card|wire|cash",
        ),
        (",100.00,2026-03-01,R9,ach", "R9: loan_number: missing"),
        ("M-1001,100.00,2026-03-01,,ach", "reference: missing or longer than 64 characters"),
    ],
)
def test_a_bad_payment_is_refused_with_line_and_reason_and_changes_nothing(
    boarded: None, tmp_path: Path, counts: Callable[[], Counts], row: str, reason: str
) -> None:
    before, summaries = counts(), (loan_json("M-1001"), loan_json("P-2001"))
    code, output = run("import-payments", str(payment_file(tmp_path / "p.csv", row)))
    assert code == 1
    assert output.splitlines() == [f"line 2: {reason}", "1 rows: 0 posted, 0 unchanged, 1 refused"]
    assert counts() == before
    assert (loan_json("M-1001"), loan_json("P-2001")) == summaries


def test_a_payment_received_today_is_posted_but_one_received_tomorrow_is_refused(boarded: None, tmp_path: Path) -> None:
    path = payment_file(
        tmp_path / "p.csv", f"M-1001,100.00,{TODAY},TODAY1,ach", "M-1001,100.00,2026-03-21,TOMORROW1,ach"
    )
    code, output = run("import-payments", str(path))
    assert code == 1
    assert output.splitlines() == [
        "line 3: TOMORROW1: received date 2026-03-21 is in the future",
        "2 rows: 1 posted, 0 unchanged, 1 refused",
    ]
    assert loan_json("M-1001")["suspense_balance"] == "100.00"


def test_a_reference_twice_in_one_file_posts_the_first_and_refuses_the_second(
    boarded: None, tmp_path: Path, counts: Callable[[], Counts]
) -> None:
    before = counts()
    path = payment_file(tmp_path / "p.csv", "M-1001,1449.10,2026-03-01,R1,ach", "M-1001,1449.10,2026-03-01,R1,ach")
    code, output = run("import-payments", str(path))
    assert code == 1
    assert output.splitlines() == [
        "line 3: R1: duplicate reference R1 (first on line 2)",
        "2 rows: 1 posted, 0 unchanged, 1 refused",
    ]
    assert counts()["payments"] == before["payments"] + 1
    assert loan_json("M-1001")["principal_balance"] == "199800.90"


def test_a_repeated_reference_is_refused_on_the_later_line_even_when_that_one_was_received_earlier(
    boarded: None, tmp_path: Path
) -> None:
    path = payment_file(tmp_path / "p.csv", "M-1001,1449.10,2026-03-05,R1,ach", "M-1001,1449.10,2026-03-01,R1,ach")
    code, output = run("import-payments", str(path))
    assert code == 1
    assert output.splitlines() == [
        "line 3: R1: duplicate reference R1 (first on line 2)",
        "2 rows: 1 posted, 0 unchanged, 1 refused",
    ]


def test_importing_the_same_payment_file_twice_posts_once(
    boarded: None, tmp_path: Path, counts: Callable[[], Counts]
) -> None:
    path = payment_file(tmp_path / "p.csv", "M-1001,1449.10,2026-03-01,R1,ach", "P-2001,2353674,2026-02-10,R2,check")
    assert run("import-payments", str(path)) == (0, "2 rows: 2 posted, 0 unchanged, 0 refused\n")
    after_first, summaries = counts(), (loan_json("M-1001"), loan_json("P-2001"))
    assert run("import-payments", str(path)) == (0, "2 rows: 0 posted, 2 unchanged, 0 refused\n")
    assert counts() == after_first
    assert (loan_json("M-1001"), loan_json("P-2001")) == summaries
    assert summaries[0]["principal_balance"] == "199800.90"


def test_a_reference_reused_for_a_different_payment_is_refused_and_changes_nothing(
    boarded: None, tmp_path: Path, counts: Callable[[], Counts]
) -> None:
    assert run("import-payments", str(payment_file(tmp_path / "a.csv", "M-1001,1449.10,2026-03-01,R1,ach")))[0] == 0
    before, summary = counts(), loan_json("M-1001")
    code, output = run("import-payments", str(payment_file(tmp_path / "b.csv", "M-1001,50.00,2026-03-02,R1,ach")))
    assert code == 1
    assert output.splitlines()[0] == "line 2: R1: duplicate reference R1: already used for a different payment"
    assert (counts(), loan_json("M-1001")) == (before, summary)


@pytest.mark.parametrize("number", ["M-1001", "P-2001"])
def test_a_loan_paid_off_with_its_quoted_total_closes_at_zero_and_refuses_further_payments(
    boarded: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, counts: Callable[[], Counts], number: str
) -> None:
    code, output = run("payoff", number, "--json")
    assert code == 0, output
    quote = json.loads(output)
    monkeypatch.setenv("LOANLINE_TODAY", quote["good_through"])
    payoff = payment_file(tmp_path / "payoff.csv", f"{number},{quote['total']},{quote['good_through']},PAYOFF1,wire")
    assert run("import-payments", str(payoff)) == (0, "1 rows: 1 posted, 0 unchanged, 0 refused\n")

    closed = loan_json(number)
    assert closed["status"] == "paid_off"
    zero = "0.00" if quote["currency"] == "USD" else "0"
    balances = ("principal_balance", "escrow_balance", "suspense_balance", "deferred_balance", "unpaid_fees")
    assert {name: closed[name] for name in balances} == dict.fromkeys(balances, zero)

    before = counts()
    late = payment_file(tmp_path / "late.csv", f"{number},100,{quote['good_through']},AFTER1,ach")
    code, output = run("import-payments", str(late))
    assert code == 1
    assert output.splitlines() == [
        f"line 2: AFTER1: loan {number} is paid off",
        "1 rows: 0 posted, 0 unchanged, 1 refused",
    ]
    assert (counts(), loan_json(number)) == (before, closed)


def test_a_mixed_payment_file_posts_the_good_rows_and_lists_the_bad_by_line(
    boarded: None, tmp_path: Path, counts: Callable[[], Counts]
) -> None:
    before = counts()
    path = payment_file(
        tmp_path / "p.csv",
        "M-1001,1449.10,2026-03-01,G1,ach",
        "NOPE,100.00,2026-02-01,B1,ach",
        "P-2001,-1,2026-03-01,B2,ach",
        "P-2001,2353674,2026-02-10,G2,card",
        "M-1001,100.00,2026-04-01,B3,ach",
        "M-1001,1449.10,2026-03-01,G1,ach",
    )
    code, output = run("import-payments", str(path))
    assert code == 1
    assert output.splitlines() == [
        "line 3: B1: unknown loan NOPE",
        "line 4: B2: amount: '-1' must be positive",
        "line 6: B3: received date 2026-04-01 is in the future",
        "line 7: G1: duplicate reference G1 (first on line 2)",
        "6 rows: 2 posted, 0 unchanged, 4 refused",
    ]
    assert counts()["payments"] == before["payments"] + 2
    assert loan_json("M-1001")["principal_balance"] == "199800.90"
    assert loan_json("P-2001")["next_due_date"] == "2026-03-10"


def test_an_empty_payment_file_is_refused_and_a_file_without_a_reference_column_too(
    boarded: None, tmp_path: Path, counts: Callable[[], Counts]
) -> None:
    before = counts()
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    assert run("import-payments", str(empty)) == (1, "Error: empty.csv: empty file\n")
    headless = tmp_path / "noref.csv"
    headless.write_text("loan_number,amount,received_on\nM-1001,1449.10,2026-03-01\n", encoding="utf-8")
    assert run("import-payments", str(headless)) == (1, "Error: noref.csv: missing columns: reference\n")
    assert counts() == before


@pytest.mark.parametrize(
    ("rows", "reason"),
    [
        (
            ("M-1001,100.00,2026-03-01,R2,ach", 'M-1001,100.00,2026-03-01,"R3,ach', "M-1001,100.00,2026-03-01,R4,ach"),
            "line 3: a quote opens a field and is not closed on its line",
        ),
        (
            ("M-1001,100.00,2026-03-01,R2,ach", 'M-1001,100.00,2026-03-01,"R3,ach', 'M-1001,100.00,2026-03-01,R4",ach'),
            "line 3: a quote opens a field and is not closed on its line",
        ),
        (
            ("M-1001,100.00,2026-03-01,R2,ach", 'M-1001,100.00,2026-03-01,"R3'),
            "line 3: a quote opens a field and is not closed on its line",
        ),
        (("M-1001,100.00,2026-03-01,R2,ach", "M-1001,100.00,2026-03-01,R3"), "line 3: expected 5 fields, found 4"),
        (("M-1001,100.00,2026-03-01,R2,ach,extra",), "line 2: expected 5 fields, found 6"),
        (
            ("M-1001,100.00,2026-03-01,R2,ach", "M-1001,100.00,2026-03-01,R3\r,ach"),  # a lone CR ends a line
            "line 3: expected 5 fields, found 4",
        ),
        (
            ("M-1001,100.00,2026-03-01,R2,ach", 'M-1001,100.00,2026-03-01,R"3,ach'),
            "line 3: a quote inside a field that does not start with one",
        ),
    ],
    ids=[
        "unclosed-quote",
        "row-swallowed-into-reference",
        "unclosed-at-end",
        "fewer-fields",
        "more-fields",
        "carriage-return",
        "stray-quote",
    ],
)
def test_a_payment_file_whose_csv_is_broken_is_refused_whole_and_posts_nothing(
    boarded: None, tmp_path: Path, counts: Callable[[], Counts], rows: tuple[str, ...], reason: str
) -> None:
    before, summary = counts(), loan_json("M-1001")
    path = tmp_path / "p.csv"
    path.write_text(PAYMENT_HEADER + "\n".join(rows) + "\n", "utf-8", newline="")
    assert run("import-payments", str(path)) == (1, f"Error: p.csv: {reason}\n")
    assert (counts(), loan_json("M-1001")) == (before, summary)


@pytest.mark.parametrize("character", ["\x00", "\x01", "\x1b", "\x7f", "\x85", "\t", "\x0b", "\u2028"])
def test_a_control_character_in_any_field_refuses_only_its_row(
    boarded: None, tmp_path: Path, counts: Callable[[], Counts], character: str
) -> None:
    before = counts()
    path = payment_file(
        tmp_path / "p.csv",
        "M-1001,1449.10,2026-03-01,G1,ach",
        f"M-1001,100.00,2026-03-01,R{character}2,ach",
        f"M-1001{character},100.00,2026-03-01,R3,ach",
        f"M-1001,100.00,2026-03-01,R4,ach{character}",
    )
    code, output = run("import-payments", str(path))
    assert code == 1
    named = f"U+{ord(character):04X}"
    assert output.splitlines() == [
        f"line 3: reference: holds a control character ({named})",
        f"line 4: loan_number: holds a control character ({named})",
        f"line 5: method: holds a control character ({named})",
        "4 rows: 1 posted, 0 unchanged, 3 refused",
    ]
    assert counts()["payments"] == before["payments"] + 1


def test_a_control_character_in_a_loan_row_refuses_only_that_loan(
    today: str, tmp_path: Path, counts: Callable[[], Counts]
) -> None:
    path = loan_file(tmp_path / "loans.csv", [loan(1), loan(2, borrower_last_name="Sil\x00va"), loan(3)])
    code, output = run("import-loans", str(path))
    assert code == 1
    assert output.splitlines() == [
        "line 3: borrower_last_name: holds a control character (U+0000)",
        "3 rows: 2 boarded, 0 unchanged, 1 refused",
    ]
    assert counts()["loans"] == 2
