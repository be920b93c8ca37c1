"""The NACHA fixed-width format: one test per record type against the layout, and real sample files."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from servicing.ach.nacha import (
    ADDENDA_05,
    ADDENDA_98,
    ADDENDA_99,
    BATCH_CONTROL,
    BATCH_HEADER,
    ENTRY_DETAIL,
    FILE_CONTROL,
    FILE_HEADER,
    PADDING,
    Addenda,
    Batch,
    Entry,
    FileHeader,
    NachaError,
    NachaFile,
    entry_hash,
    format_record,
    is_routing_number,
    read_file,
    returns_for,
    routing_check_digit,
    write_file,
)

SAMPLES = Path(__file__).parents[1] / "fixtures" / "nacha"


def debit(trace: str, routing: str = "231380104", cents: int = 100000000, addenda: tuple[Addenda, ...] = ()) -> Entry:
    return Entry("27", routing, "12345678", cents, "", "Receiver Account Name", trace, addenda=addenda)


def one_batch_file(*entries: Entry) -> NachaFile:
    header = FileHeader("231380104", "0121042882", datetime(2019, 6, 24, 0, 0), "A", "Federal Reserve Bank",
                        "My Bank Name")  # fmt: skip
    batch = Batch("Name on Account", "121042882", "PPD", "REG.SALARY", date(2019, 6, 25), "12104288", 1,
                  tuple(entries))  # fmt: skip
    return NachaFile(header, (batch,))


def test_every_layout_covers_94_positions_without_gaps() -> None:
    for layout in (FILE_HEADER, BATCH_HEADER, ENTRY_DETAIL, ADDENDA_05, ADDENDA_98, ADDENDA_99, BATCH_CONTROL,
                   FILE_CONTROL):  # fmt: skip
        positions = [p for f in layout for p in range(f.start, f.end + 1)]
        assert positions == list(range(1, 95)), layout[0].constant


def test_the_file_header_puts_destination_origin_date_and_names_where_the_layout_says() -> None:
    record = write_file(one_batch_file(debit("121042880000001"))).decode().splitlines()[0]
    assert record[0:3] == "101"
    assert record[3:13] == " 231380104" and record[13:23] == "0121042882"
    assert record[23:29] == "190624" and record[29:33] == "0000" and record[33] == "A"
    assert record[34:40] == "094101"
    assert record[40:63] == "Federal Reserve Bank   " and record[63:86] == "My Bank Name           "


def test_the_batch_header_carries_the_company_sec_code_and_effective_date() -> None:
    record = write_file(one_batch_file(debit("121042880000001"))).decode().splitlines()[1]
    assert record[0:4] == "5225"
    assert record[4:20] == "Name on Account "
    assert record[40:50] == "121042882 " and record[50:53] == "PPD" and record[53:63] == "REG.SALARY"
    assert record[69:75] == "190625" and record[75:78] == "   " and record[78] == "1"
    assert record[79:87] == "12104288" and record[87:94] == "0000001"


def test_the_entry_detail_splits_routing_into_dfi_and_check_digit_and_zero_fills_the_amount() -> None:
    record = debit("121042880000001").record()
    assert record == ("62723138010412345678         0100000000               Receiver Account Name   0"
                      "121042880000001")  # fmt: skip


def test_a_return_addenda_holds_the_reason_and_the_original_trace_number() -> None:
    values = {"return_reason_code": "R01", "original_entry_trace_number": "091400600000001",
              "original_receiving_dfi": "09100001", "trace_number": "091000017611242"}  # fmt: skip
    record = format_record(ADDENDA_99, values)
    assert record[0:6] == "799R01" and record[6:21] == "091400600000001" and record[21:27] == " " * 6
    assert record[27:35] == "09100001" and record[79:94] == "091000017611242" and len(record) == 94


def test_a_notification_of_change_addenda_holds_the_change_code_and_corrected_data() -> None:
    record = format_record(ADDENDA_98, {"change_code": "C01", "original_entry_trace_number": "121042880000001",
                                        "original_receiving_dfi": "12104288", "corrected_data": "1918171614",
                                        "trace_number": "091012980000088"})  # fmt: skip
    assert record == ("798C01121042880000001      121042881918171614" + " " * 34 + "091012980000088")


def test_a_payment_addenda_carries_its_text_and_sequence_numbers() -> None:
    record = format_record(ADDENDA_05, {"payment_related_information": "LOAN L-1", "addenda_sequence_number": "1",
                                        "entry_detail_sequence_number": "1"})  # fmt: skip
    assert record[0:3] == "705" and record[3:11] == "LOAN L-1" and record[83:87] == "0001" and record[87:] == "0000001"


def test_the_batch_control_counts_entries_and_addenda_hashes_and_totals_them() -> None:
    note = Addenda("05", {"payment_related_information": "x", "addenda_sequence_number": "1",
                          "entry_detail_sequence_number": "2"})  # fmt: skip
    lines = write_file(one_batch_file(debit("121042880000001"), debit("121042880000002", "091000019", 250,
                                                                      (note,)))).decode().splitlines()  # fmt: skip
    control = lines[5]
    assert control[0:4] == "8225"
    assert control[4:10] == "000003"  # two entries and one addenda
    assert control[10:20] == f"{23138010 + 9100001:010d}"
    assert control[20:32] == "000100000250" and control[32:44] == "0" * 12
    assert control[44:54] == "121042882 " and control[79:87] == "12104288" and control[87:94] == "0000001"


def test_the_file_control_and_padding_make_a_block_of_ten_records() -> None:
    lines = write_file(one_batch_file(debit("121042880000001"))).decode().splitlines()
    assert len(lines) == 10 and all(len(line) == 94 for line in lines)
    assert lines[4] == "9000001000001000000010023138010000100000000000000000000" + " " * 39
    assert lines[5:] == [PADDING] * 5


def test_the_entry_hash_keeps_only_the_low_ten_digits() -> None:
    entries = [debit(f"{n:015d}", "999999992") for n in range(200)]
    assert entry_hash(entries) == (99999999 * 200) % 10**10


def test_a_routing_number_is_checked_by_its_aba_check_digit() -> None:
    assert routing_check_digit("12104288") == "2"
    assert is_routing_number("121042882") and is_routing_number("231380104")
    assert not is_routing_number("121042883") and not is_routing_number("12104288") and not is_routing_number("abc")


def test_our_file_matches_the_sample_ppd_debit_byte_for_byte() -> None:
    sample = (SAMPLES / "ppd-debit.ach").read_bytes()
    assert write_file(one_batch_file(debit("121042880000001"))) == sample + b"\n"


def test_the_sample_ppd_debit_reads_back_as_one_debit() -> None:
    nacha = read_file((SAMPLES / "ppd-debit.ach").read_bytes())
    (entry,) = list(nacha.entries())
    assert (entry.transaction_code, entry.routing, entry.account_number, entry.amount_cents) == (
        "27",
        "231380104",
        "12345678",
        100000000,
    )
    assert nacha.batches[0].effective_date == date(2019, 6, 25)
    assert write_file(nacha) == (SAMPLES / "ppd-debit.ach").read_bytes() + b"\n"


def test_the_sample_return_file_reads_two_returns_with_their_codes_and_original_traces() -> None:
    nacha = read_file((SAMPLES / "return-WEB.ach").read_bytes())
    returns = [(e.addenda[0].code, e.addenda[0].original_trace, e.amount_cents, e.line) for e in nacha.entries()]
    assert returns == [("R01", "091400600000001", 12354, 3), ("R03", "091400600000003", 4565, 7)]


def test_the_sample_notification_of_change_reads_the_corrected_account_number() -> None:
    nacha = read_file((SAMPLES / "cor-example.ach").read_bytes())
    (entry,) = list(nacha.entries())
    (addenda,) = entry.addenda
    assert (addenda.addenda_type, addenda.code, addenda.original_trace) == ("98", "C01", "121042880000001")
    assert addenda.fields["corrected_data"] == "1918171614"


def test_a_file_without_line_breaks_is_read_in_94_character_records() -> None:
    sample = (SAMPLES / "ppd-debit.ach").read_bytes().replace(b"\n", b"")
    assert len(list(read_file(sample).entries())) == 1


@pytest.mark.parametrize(
    ("change", "line", "reason"),
    [
        (lambda lines: lines.__setitem__(2, lines[2][:-1]), 3, "this line has 93"),
        (lambda lines: lines.__setitem__(2, lines[2][:29] + "01000000x0" + lines[2][39:]), 3, "amount"),
        (lambda lines: lines.__setitem__(3, lines[3][:20] + "000100000001" + lines[3][32:]), 4, "total debit"),
        (lambda lines: lines.__setitem__(4, lines[4][:21] + "0023138011" + lines[4][31:]), 5, "entry hash"),
        (lambda lines: lines.__setitem__(2, "4" + lines[2][1:]), 3, "unknown record type"),
        (lambda lines: lines.__delitem__(0), 1, "file header"),
        (lambda lines: lines.__setitem__(6, "8" * 94), 7, "only lines of 94 '9's"),
        (lambda lines: lines.__setitem__(2, lines[2][:78] + "1" + lines[2][79:]), 3, "addenda"),
    ],
    ids=["short line", "letters in an amount", "wrong batch total", "wrong file entry hash", "unknown record",
         "no file header", "garbage after the control", "missing addenda"],
)  # fmt: skip
def test_a_malformed_file_is_refused_with_its_line_and_reason(change: object, line: int, reason: str) -> None:
    lines = (SAMPLES / "ppd-debit.ach").read_text().split("\n")
    change(lines)  # type: ignore[operator]
    with pytest.raises(NachaError) as refused:
        read_file("\n".join(lines).encode())
    assert refused.value.line == line and reason in refused.value.reason


def test_a_non_ascii_file_is_refused_with_its_line() -> None:
    with pytest.raises(NachaError, match=r"line 2: .*ASCII"):
        read_file("1\né".encode())


def test_a_returns_file_built_from_ours_names_each_original_trace_and_reads_back() -> None:
    sample = (SAMPLES / "ppd-debit.ach").read_bytes()
    back = read_file(returns_for(sample, {"121042880000001": "R01"}, created=datetime(2019, 6, 27, 6, 0)))
    (entry,) = list(back.entries())
    assert (entry.transaction_code, entry.amount_cents, entry.addenda[0].code) == ("26", 100000000, "R01")
    assert entry.addenda[0].original_trace == "121042880000001"
