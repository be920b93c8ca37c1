"""The console's search page and borrower profile: changes with a reason and the audit, caller verification
counted with the bot's failures, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from servicing.conversations import (
    borrower_claim,
    borrower_paused_until,
    record_failed_verification,
    record_inbound,
)
from servicing.store.models import AuditEntry, Borrower, BorrowerPhone, Conversation, Loan, OptOut
from tests.integration.console_helpers import sessions_of, signed_in, staffed_console
from tests.integration.helpers import board
from tests.integration.test_console_auth import csrf_token
from tests.integration.test_console_queue import TODAY


@pytest.fixture
def app(database_url: str, cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    with staffed_console(database_url, TODAY, monkeypatch) as app:
        yield app


@pytest.fixture
def borrower_id(app: Flask) -> int:
    """Board Ana Silva (born 1980-05-04, tax ID ending 1234) with phone +15550002001; return her id."""
    with sessions_of(app).begin() as session:
        number = board(session, phone="+15550002001", email="ana.silva@example.com")
        return session.scalars(select(Loan.borrower_id).where(Loan.loan_number == number)).one()


@pytest.fixture
def sam(app: Flask) -> FlaskClient:
    """Return a client logged in once as sam (the login form allows 10 attempts in 5 minutes)."""
    return signed_in(app, "sam")


def post(client: FlaskClient, borrower_id: int, action: str, **form: str) -> str:
    """Submit one of the profile's forms; return the page it leads back to (flashes included)."""
    token = csrf_token(client, f"/console/borrowers/{borrower_id}")
    response = client.post(f"/console/borrowers/{borrower_id}/{action}", data={"csrf_token": token, **form},
                           follow_redirects=True)  # fmt: skip
    assert response.status_code == 200
    return response.get_data(as_text=True)


def audits(app: Flask, action: str) -> list[AuditEntry]:
    with sessions_of(app)() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def test_the_search_page_groups_results_by_kind_with_links(app: Flask, borrower_id: int) -> None:
    client = signed_in(app, "sam")
    page = client.get("/console/search/?q=ana+silva").get_data(as_text=True)
    assert f'href="/console/borrowers/{borrower_id}"' in page and "Borrowers" in page
    with sessions_of(app)() as session:
        number = session.scalars(select(Loan.loan_number).where(Loan.borrower_id == borrower_id)).one()
    assert f'href="/console/loans/{number}"' in page
    phone_page = client.get("/console/search/?q=%28555%29+000-2001").get_data(as_text=True)
    assert f'href="/console/borrowers/{borrower_id}"' in phone_page
    assert "Nothing matches" in client.get("/console/search/?q=zzzqqq").get_data(as_text=True)
    assert audits(app, "search")[0].detail["query"] == "an… si…"


def test_the_search_link_is_in_the_nav_and_an_empty_search_shows_the_form_without_an_audit(app: Flask) -> None:
    page = signed_in(app, "sam").get("/console/search/").get_data(as_text=True)
    assert 'href="/console/search/"' in page and 'name="q"' in page
    assert audits(app, "search") == []


def test_the_profile_shows_phones_loans_language_zone_and_is_an_audited_view(app: Flask, borrower_id: int) -> None:
    page = signed_in(app, "sam").get(f"/console/borrowers/{borrower_id}").get_data(as_text=True)
    assert "+15550002001" in page and "en_US" in page and "Verify a caller" in page
    [view] = audits(app, "view")[-1:]
    assert (view.subject_type, view.subject_id) == ("borrower", str(borrower_id))
    assert signed_in(app, "sam").get("/console/borrowers/999999").status_code == 404


def test_a_change_needs_a_reason_and_without_one_changes_nothing(app: Flask, borrower_id: int) -> None:
    client = signed_in(app, "sam")
    page = post(client, borrower_id, "language", locale="es_US", reason="  ")
    assert "Not changed: reason" in page
    with sessions_of(app)() as session:
        assert session.get_one(Borrower, borrower_id).locale == "en_US"
    assert audits(app, "borrower.language_changed") == []


def test_language_and_time_zone_change_with_a_reason_and_are_audited(app: Flask, borrower_id: int) -> None:
    client = signed_in(app, "sam")
    assert "Language changed." in post(client, borrower_id, "language", locale="es_US", reason="asked on the phone")
    assert "Time zone changed." in post(client, borrower_id, "time-zone", timezone="America/Chicago", reason="moved")
    assert "is not a time zone" in post(client, borrower_id, "time-zone", timezone="Mars/Base", reason="typo")
    with sessions_of(app)() as session:
        borrower = session.get_one(Borrower, borrower_id)
        assert (borrower.locale, borrower.timezone, borrower.timezone_given) == ("es_US", "America/Chicago", True)
    [changed] = audits(app, "borrower.language_changed")
    assert changed.detail == {"before": "en_US", "after": "es_US", "reason": "asked on the phone"}
    assert changed.actor == "sam"


def test_a_phone_is_added_in_any_format_and_removed_audited_by_its_last_4(app: Flask, borrower_id: int) -> None:
    client = signed_in(app, "sam")
    assert "Phone added." in post(client, borrower_id, "phones", phone="(555) 000-2002", reason="new mobile")
    assert "already on file" in post(client, borrower_id, "phones", phone="+1 555 000 2002", reason="again")
    assert "not a phone number" in post(client, borrower_id, "phones", phone="call me", reason="typo")
    with sessions_of(app)() as session:
        phones = {
            p.e164: p.id for p in session.scalars(select(BorrowerPhone).where(BorrowerPhone.borrower_id == borrower_id))
        }
    assert set(phones) == {"+15550002001", "+15550002002"}
    assert "Phone removed." in post(client, borrower_id, f"phones/{phones['+15550002001']}/remove", reason="lost")
    assert "only phone on file" in post(client, borrower_id, f"phones/{phones['+15550002002']}/remove", reason="x")
    with sessions_of(app)() as session:
        [left] = session.scalars(select(BorrowerPhone).where(BorrowerPhone.borrower_id == borrower_id)).all()
        assert (left.e164, left.is_primary) == ("+15550002002", True)
    details = [entry.detail for entry in audits(app, "borrower.phone_added") + audits(app, "borrower.phone_removed")]
    assert details == [{"phone": "…2002", "reason": "new mobile"}, {"phone": "…2001", "reason": "lost"}]


def test_a_telegram_chat_is_unlinked_and_no_longer_verified(app: Flask, borrower_id: int) -> None:
    now = datetime.now(UTC)
    with sessions_of(app).begin() as session:
        chat = record_inbound(session, "telegram", "7000123456", "hi", provider_id="t1", now=now).conversation
        chat.borrower_id, chat.verified_until = borrower_id, now.replace(year=now.year + 1)
        chat_id = chat.id
    client = signed_in(app, "sam")
    assert "…3456" in client.get(f"/console/borrowers/{borrower_id}").get_data(as_text=True)
    assert "unlinked" in post(client, borrower_id, f"telegram/{chat_id}/unlink", reason="phone stolen")
    with sessions_of(app)() as session:
        chat = session.get_one(Conversation, chat_id)
        assert (chat.borrower_id, chat.verified_until) == (None, None)
    [entry] = audits(app, "telegram.unlinked")
    assert entry.detail["chat"] == "telegram:…3456" and "7000123456" not in str(entry.detail)


def test_consent_to_a_purpose_is_revoked_and_given_back_on_a_phone(app: Flask, borrower_id: int) -> None:
    client = signed_in(app, "sam")
    with sessions_of(app)() as session:
        phone_id = session.scalars(select(BorrowerPhone.id).where(BorrowerPhone.borrower_id == borrower_id)).one()
    assert "Consent recorded." in post(client, borrower_id, "consent", phone=str(phone_id), purpose="collection",
                                       revoked="yes", reason="asked in writing")  # fmt: skip
    with sessions_of(app)() as session:
        row = session.get_one(OptOut, ("sms", "+15550002001", "collection"))
        assert row.opted_out is True
    assert "purpose: one of" in post(client, borrower_id, "consent", phone=str(phone_id), purpose="all",
                                     revoked="yes", reason="x")  # fmt: skip
    assert [e.detail["phone"] for e in audits(app, "consent.revoked")] == ["…2001"]


def test_the_name_is_corrected_with_a_reason_audited_masked_and_search_finds_the_new_one(
    app: Flask, borrower_id: int
) -> None:
    client = signed_in(app, "sam")
    page = post(client, borrower_id, "name", first_name=" Ana  María ", last_name="Silva Costa", reason="married")
    assert "Name changed." in page and "Ana María Silva Costa" in page
    with sessions_of(app)() as session:
        borrower = session.get_one(Borrower, borrower_id)
        assert (borrower.first_name, borrower.last_name) == ("Ana María", "Silva Costa")
    found = client.get("/console/search/?q=maria+costa").get_data(as_text=True)
    assert f'href="/console/borrowers/{borrower_id}"' in found
    [entry] = audits(app, "borrower.name_changed")
    assert entry.detail == {"before": "An… Si…", "after": "An… Ma… Si… Co…", "reason": "married"}
    assert entry.actor == "sam"


@pytest.mark.parametrize(
    ("first", "last", "reason", "said"),
    [("", "Silva", "typo", "first name: missing"), ("Ana", "1234", "typo", "last name: missing"),
     ("Ana\x07", "Silva", "typo", "control character"), ("A" * 101, "Silva", "typo", "at most 100"),
     ("Ana", "Silva", "same", "already the borrower"), ("Bea", "Silva", " ", "reason: say why")],
)  # fmt: skip
def test_a_bad_name_is_refused_with_a_message_and_changes_nothing(
    app: Flask, borrower_id: int, first: str, last: str, reason: str, said: str
) -> None:
    page = post(signed_in(app, "sam"), borrower_id, "name", first_name=first, last_name=last, reason=reason)
    assert "Not changed" in page and said in page
    with sessions_of(app)() as session:
        borrower = session.get_one(Borrower, borrower_id)
        assert (borrower.first_name, borrower.last_name) == ("Ana", "Silva")
    assert audits(app, "borrower.name_changed") == []


def test_the_email_is_changed_validated_and_removed_with_a_reason_and_audited_masked(
    app: Flask, borrower_id: int
) -> None:
    client = signed_in(app, "sam")
    assert "Email changed." in post(client, borrower_id, "email", email="Ana.S@Correo.Example", reason="new job")
    with sessions_of(app)() as session:
        assert session.get_one(Borrower, borrower_id).email == "Ana.S@correo.example"
    found = client.get("/console/search/?q=ana.s%40correo.example").get_data(as_text=True)
    assert f'href="/console/borrowers/{borrower_id}"' in found
    refused = (("ana.s@", "nothing after the @"), ("ana.s@correo", "is not a domain"),
               ("ana s@correo.example", "before the @"), ("ana@@correo.example", "not an email address"),
               ("ana@localhost", "is not a domain"), ("Ana.S@CORREO.example", "already the borrower"))  # fmt: skip
    for typed, said in refused:
        page = post(client, borrower_id, "email", email=typed, reason="typo")
        assert "Not changed: email:" in page and said in page, typed
    assert "Email removed." in post(client, borrower_id, "email", email="  ", reason="asked us to forget it")
    with sessions_of(app)() as session:
        assert session.get_one(Borrower, borrower_id).email is None
    changed, removed = audits(app, "borrower.email_changed"), audits(app, "borrower.email_removed")
    assert [e.detail for e in changed] == [{"before": "a…@example.com", "after": "A…@correo.example",
                                            "reason": "new job"}]  # fmt: skip
    assert [e.detail for e in removed] == [{"before": "A…@correo.example", "after": None,
                                            "reason": "asked us to forget it"}]  # fmt: skip


MAILING = {"mailing_line1": "12 Rue des Lilas", "mailing_city": "Montreal", "mailing_region": "QC",
           "mailing_postal_code": "H2X 1Y4", "mailing_country": "CA"}  # fmt: skip


def test_the_mailing_address_is_saved_refused_when_bad_and_removed_with_a_reason(app: Flask, borrower_id: int) -> None:
    client = signed_in(app, "sam")
    assert "Address saved." in post(client, borrower_id, "address", **MAILING, reason="moved to Montreal")
    assert "nothing changed" in post(client, borrower_id, "address", **MAILING, reason="again")
    bad = post(client, borrower_id, "address", **{**MAILING, "mailing_postal_code": "90210"}, reason="typo")
    assert "Not changed: mailing_postal_code: &#39;90210&#39; is not a postal code of CA." in bad
    assert "Not changed: reason" in post(client, borrower_id, "address", **{**MAILING, "mailing_city": "Laval"},
                                         reason="")  # fmt: skip
    with sessions_of(app)() as session:
        borrower = session.get_one(Borrower, borrower_id)
        assert (borrower.mailing_line1, borrower.mailing_city, borrower.mailing_postal_code) == (
            "12 Rue des Lilas", "Montreal", "H2X 1Y4")  # fmt: skip
    [saved] = audits(app, "address.mailing_changed")
    assert saved.detail["reason"] == "moved to Montreal" and saved.detail["after"]["line1"] == "12 …"
    assert saved.detail["borrower"] == borrower_id
    assert "Address removed." in post(client, borrower_id, "address", reason="returned mail")
    with sessions_of(app)() as session:
        assert session.get_one(Borrower, borrower_id).mailing_line1 is None


def test_each_loans_property_address_is_editable_from_the_profile_and_only_the_borrowers_own(
    app: Flask, borrower_id: int
) -> None:
    with sessions_of(app).begin() as session:
        number = session.scalars(select(Loan.loan_number).where(Loan.borrower_id == borrower_id)).one()
        other = board(session, phone="+15550002009")
    client = signed_in(app, "sam")
    page = client.get(f"/console/borrowers/{borrower_id}").get_data(as_text=True)
    assert f'action="/console/borrowers/{borrower_id}/property-address/{number}"' in page and other not in page
    where = {"property_line1": "400 Oak Ave", "property_city": "Austin", "property_region": "TX",
             "property_postal_code": "78701", "property_country": "US"}  # fmt: skip
    assert "Address saved." in post(client, borrower_id, f"property-address/{number}", **where, reason="survey")
    bad = post(client, borrower_id, f"property-address/{number}", **{**where, "property_region": "ZZ"}, reason="x")
    assert "is not a US state or province code" in bad
    theirs = post(client, borrower_id, f"property-address/{other}", **where, reason="wrong borrower")
    assert "Not changed: loan: not one of this borrower&#39;s." in theirs
    with sessions_of(app)() as session:
        mine = session.scalars(select(Loan).where(Loan.loan_number == number)).one()
        assert (mine.property_line1, mine.property_region, mine.property_postal_code) == ("400 Oak Ave", "TX", "78701")
        assert session.scalars(select(Loan.property_line1).where(Loan.loan_number == other)).one() is None
    [entry] = audits(app, "address.property_changed")
    assert (entry.subject_id, entry.detail["reason"], entry.actor) == (number, "survey", "sam")
    assert "400 Oak Ave" in client.get(f"/console/borrowers/{borrower_id}").get_data(as_text=True)


def test_a_caller_who_answers_right_is_a_match(app: Flask, borrower_id: int) -> None:
    client = signed_in(app, "sam")
    page = post(client, borrower_id, "verify-caller", date_of_birth="1980-05-04", tax_id_last4="1234")
    assert "Match: the caller" in page
    assert [e.detail for e in audits(app, "verification.caller")] == [{"outcome": "match"}]


def test_caller_failures_count_with_the_bots_and_lock_the_borrower_out(app: Flask, borrower_id: int) -> None:
    now = datetime.now(UTC)
    with sessions_of(app).begin() as session:  # one failure in a chat of the bot's, against the same borrower
        chat = record_inbound(session, "sms", "+15550002001", "1999-01-01", provider_id="f1", now=now).conversation
        record_failed_verification(session, chat, now, [borrower_claim(borrower_id)])
    client = signed_in(app, "sam")
    assert "No match. The failure counts" in post(client, borrower_id, "verify-caller", date_of_birth="1980-05-04",
                                                   tax_id_last4="9999")  # fmt: skip
    third = post(client, borrower_id, "verify-caller", date_of_birth="1981-05-04", tax_id_last4="1234")
    assert "that was the third failure" in third
    with sessions_of(app)() as session:
        assert borrower_paused_until(session, borrower_id, datetime.now(UTC)) is not None
    paused = post(client, borrower_id, "verify-caller", date_of_birth="1980-05-04", tax_id_last4="1234")
    assert "verification is paused after failed attempts" in paused
    outcomes = [e.detail["outcome"] for e in audits(app, "verification.caller")]
    assert outcomes == ["no_match", "locked", "paused"]
    assert "1234" not in str([e.detail for e in audits(app, "verification.caller")])


@pytest.mark.parametrize(
    ("dob", "last4", "said"),
    [("", "1234", "enter a date"), ("1980-13-40", "1234", "enter a date"), ("2999-01-01", "1234", "not a possible"),
     ("1980-05-04", "12a4", "last 4 digits"), ("1980-05-04", "", "last 4 digits")],
)  # fmt: skip
def test_a_caller_check_with_bad_input_is_refused_and_counts_nothing(
    app: Flask, borrower_id: int, dob: str, last4: str, said: str
) -> None:
    page = post(signed_in(app, "sam"), borrower_id, "verify-caller", date_of_birth=dob, tax_id_last4=last4)
    assert "Not checked" in page and said in page
    assert audits(app, "verification.caller") == []


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(typed=st.text(max_size=80))
def test_any_text_typed_in_search_gets_a_page_never_an_error(sam: FlaskClient, borrower_id: int, typed: str) -> None:
    response = sam.get("/console/search/", query_string={"q": typed, "before": "12"})
    assert response.status_code == 200
