"""Search on SQLite (FTS5) and PostgreSQL (full text, pg_trgm): every kind of record, any script, audited masked."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from servicing.cases import CaseKind, open_case
from servicing.conversations import add_internal_note, record_inbound, record_outbound
from servicing.search.find import last_four, search_console
from servicing.store.models import AuditEntry, Borrower, BorrowerPhone, Loan, Message
from tests.integration.helpers import board

NOW = datetime(2026, 3, 20, 15, 0, tzinfo=UTC)


def borrower_of(session: Session, loan_number: str) -> Borrower:
    loan = session.scalars(select(Loan).where(Loan.loan_number == loan_number)).one()
    return session.get_one(Borrower, loan.borrower_id)


def search(sessions: sessionmaker[Session], typed: str, **options: object):  # type: ignore[no-untyped-def]
    with sessions.begin() as session:
        return search_console(session, typed, region="US", actor="sam", **options)  # type: ignore[arg-type]


@pytest.fixture
def people(sessions: sessionmaker[Session]) -> dict[str, str]:
    """Board borrowers with names in several scripts; return name -> loan number."""
    names = {
        "José Müller": ("José", "Müller", "+15550001001", "jose.muller@example.com"),
        "王小明": ("小明", "王", "+15550001002", None),
        "محمد الأحمد": ("مُحَمَّد", "الأحمد", "+15550001003", None),
        "अनीता गुप्ता": ("अनीता", "गुप्ता", "+15550001004", None),
        "Ana Silva": ("Ana", "Silva", "+15550001005", "ana@example.com"),
    }
    numbers = {}
    with sessions.begin() as session:
        for label, (first, last, phone, email) in names.items():
            numbers[label] = board(session, borrower_first_name=first, borrower_last_name=last, phone=phone,
                                   **({"email": email} if email else {}))  # fmt: skip
    return numbers


def borrower_names(results) -> list[str]:  # type: ignore[no-untyped-def]
    return [hit.name for hit in results.borrowers]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("jose muller", "José Müller"),
        ("JOSÉ", "José Müller"),
        ("müller josé", "José Müller"),
        ("王小明", "王 小明"),  # a name's first and last name are stored apart: both words are looked for
        ("王", "小明 王"),
        ("محمد", "مُحَمَّد الأحمد"),
        ("गुप्ता", "अनीता गुप्ता"),
        ("ana@example.com", "Ana Silva"),
    ],
)
def test_a_borrower_is_found_by_name_in_any_script_accent_and_case_insensitive(
    sessions: sessionmaker[Session], people: dict[str, str], typed: str, expected: str
) -> None:
    results = search(sessions, typed)
    found = borrower_names(results)
    assert any(sorted(name.split()) == sorted(expected.split()) for name in found), found


def test_a_borrower_found_by_name_is_listed_with_their_loan_numbers(
    sessions: sessionmaker[Session], people: dict[str, str]
) -> None:
    results = search(sessions, "silva")
    [hit] = results.borrowers
    assert hit.loan_numbers == (people["Ana Silva"],)
    assert hit.phones == ("…1005",)


@pytest.mark.parametrize("typed", ["+1 555 000 1005", "(555) 000-1005", "555.000.1005", "15550001005", "+15550001005"])
def test_a_phone_in_any_format_finds_its_borrower(
    sessions: sessionmaker[Session], people: dict[str, str], typed: str
) -> None:
    results = search(sessions, typed)
    assert borrower_names(results) == ["Ana Silva"]
    assert results.borrowers[0].matched_on == ("phone",)


def test_the_last_4_digits_find_the_phone_and_the_loan_ending_so(
    sessions: sessionmaker[Session], people: dict[str, str]
) -> None:
    results = search(sessions, "1004")
    assert "अनीता गुप्ता" in borrower_names(results)
    assert results.borrowers[0].matched_on == ("phone_last4",)


def test_the_last_4_digits_are_looked_up_in_an_index_not_read_from_every_phone_and_loan(engine: Engine) -> None:
    explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    for wanted in (select(BorrowerPhone.id).where(last_four(BorrowerPhone.e164) == "1004"),
                   select(Loan.id).where(last_four(Loan.loan_number) == "1004")):  # fmt: skip
        sql = str(wanted.compile(engine, compile_kwargs={"literal_binds": True}))
        with engine.connect() as connection:
            if engine.dialect.name == "postgresql":
                connection.exec_driver_sql("SET enable_seqscan = off")  # an empty table: a scan costs nothing
            plan = " ".join(str(row) for row in connection.exec_driver_sql(explain + sql).all())
        assert "_last4" in plan, plan


def test_a_loan_number_in_any_case_finds_the_loan_and_its_borrower(
    sessions: sessionmaker[Session], people: dict[str, str]
) -> None:
    number = people["Ana Silva"]
    results = search(sessions, number.lower())
    assert [hit.loan_number for hit in results.loans] == [number]
    assert results.loans[0].borrower_name == "Ana Silva"


def test_a_case_reference_finds_the_case(sessions: sessionmaker[Session], people: dict[str, str]) -> None:
    with sessions.begin() as session:
        borrower = borrower_of(session, people["Ana Silva"])
        loan_id = session.scalars(select(Loan.id).where(Loan.loan_number == people["Ana Silva"])).one()
        case = open_case(session, CaseKind.LOSS_MITIGATION, loan_id=loan_id, borrower_id=borrower.id,
                         opened_on=NOW.date(), source="console", actor="sam", country="US")  # fmt: skip
        reference = case.reference
    results = search(sessions, reference.lower())
    assert [(hit.reference, hit.loan_number) for hit in results.cases] == [(reference, people["Ana Silva"])]


def test_words_in_messages_are_found_newest_first_accents_and_case_aside_on_sqlite(
    sessions: sessionmaker[Session], people: dict[str, str]
) -> None:
    with sessions.begin() as session:
        inbound = record_inbound(session, "sms", "+15550001005", "My furnace broke and I need help", provider_id="a",
                                 now=NOW)  # fmt: skip
        conversation = inbound.conversation
        record_outbound(session, conversation, "Sorry to hear about the furnace.", author="bot", now=NOW)
        add_internal_note(session, conversation.id, "sam", "Called about the FURNACE repair", NOW)
        record_inbound(session, "sms", "+15550009999", "Nothing to see", provider_id="b", now=NOW)
    results = search(sessions, "Furnace")
    assert [hit.snippet for hit in results.messages] == [
        "Called about the FURNACE repair", "Sorry to hear about the furnace.", "My furnace broke and I need help",
    ]  # fmt: skip
    assert results.messages[0].internal is True
    assert search(sessions, "furn").messages, "a word is found by its beginning too"
    assert [hit.snippet for hit in search(sessions, "furnace help").messages] == ["My furnace broke and I need help"]


def test_message_results_page_back_twenty_at_a_time(sessions: sessionmaker[Session], people: dict[str, str]) -> None:
    with sessions.begin() as session:
        for n in range(25):
            record_inbound(session, "sms", "+15550001005", f"escrow question {n}", provider_id=f"m{n}", now=NOW)
    first = search(sessions, "escrow")
    assert len(first.messages) == 20 and first.older_messages is not None
    second = search(sessions, "escrow", before_message=first.older_messages)
    assert [hit.snippet for hit in second.messages] == [f"escrow question {n}" for n in range(4, -1, -1)]
    assert second.older_messages is None


def test_a_message_edited_or_deleted_leaves_the_index_with_it(
    sessions: sessionmaker[Session], people: dict[str, str]
) -> None:
    with sessions.begin() as session:
        message = record_inbound(session, "sms", "+15550001005", "pineapple", provider_id="x", now=NOW).message
        assert message is not None
        message.body = "mango"
    assert not search(sessions, "pineapple").messages
    assert search(sessions, "mango").messages
    with sessions.begin() as session:
        session.delete(session.scalars(select(Message).where(Message.body == "mango")).one())
    assert not search(sessions, "mango").messages


def test_a_phone_with_no_borrower_finds_its_conversation(
    sessions: sessionmaker[Session], people: dict[str, str]
) -> None:
    with sessions.begin() as session:
        record_inbound(session, "sms", "+15559998888", "hello", provider_id="s", now=NOW)
    results = search(sessions, "(555) 999-8888")
    assert [(hit.address, hit.borrower_name) for hit in results.conversations] == [("sms:…8888", None)]


def test_every_search_is_audited_with_its_query_masked(sessions: sessionmaker[Session], people: dict[str, str]) -> None:
    search(sessions, "+1 555 000 1005")
    search(sessions, "ana@example.com")
    search(sessions, "José Müller")
    with sessions() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "search").order_by(AuditEntry.id)).all()
    assert [entry.detail["query"] for entry in entries] == ["phone …1005", "email a…@example.com", "Jo… Mü…"]
    assert all(entry.actor == "sam" for entry in entries)
    assert entries[0].detail["found"]["borrowers"] == 1 and len(entries[0].detail["borrowers"]) == 1
    assert "5550001005" not in str([entry.detail for entry in entries])


def test_an_empty_or_punctuation_query_finds_nothing_and_changes_nothing(
    sessions: sessionmaker[Session], people: dict[str, str]
) -> None:
    for typed in ("", "   ", '"*"', "%", "_", "'); DROP TABLE messages; --", "AND OR NOT"):
        results = search(sessions, typed)
        assert results.loans == [] and results.cases == []
    with sessions() as session:
        assert session.scalars(select(Message)).all() == []


def test_on_postgresql_messages_beyond_the_recent_window_are_found_through_the_index_in_order(
    sessions: sessionmaker[Session], people: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("servicing.search.backends.RECENT_WINDOW", 7)
    with sessions.begin() as session:
        for n in range(25):
            body = f"escrow question {n}" if n % 3 == 0 else f"something else {n}"
            record_inbound(session, "sms", "+15550001005", body, provider_id=f"w{n}", now=NOW)
    first = search(sessions, "escrow")
    assert [hit.snippet for hit in first.messages] == [f"escrow question {n}" for n in range(24, -1, -3)]
    assert search(sessions, "zebra").messages == []
    paged = search(sessions, "escrow", before_message=first.messages[3].id)
    assert [hit.snippet for hit in paged.messages] == [f"escrow question {n}" for n in range(12, -1, -3)]
