"""A shift run from the console alone (issue 15's "done when"): a supervisor and two specialists, three browsers.

Borrowers write through the signed Twilio webhook and the server's own worker runs the assignment, as in production.
The two specialists speak borrower languages the demo's queue does not hold (Greta: German; Ravi: Hindi and
German), so the demo's waiting conversations never move; the borrowers are the demo's German and Hindi ones
(docs/demo.md). Every step asserts what the database and the pages show, not only that a button was clicked.
Afterwards both specialists are offline and every conversation of the shift is back with the assistant.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TypeVar

import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from sqlalchemy import select

from servicing.conversations import claim_conversation, resolve_conversation
from servicing.specialists import Role, add_specialist
from servicing.staffing.presence import set_presence
from servicing.store.models import AuditEntry, Conversation, Fee, Loan, Specialist
from tests.browser.conftest import BorrowerChannels, Browsing, LiveConsole, screenshot

T = TypeVar("T")


@dataclass(frozen=True)
class Person:
    """A specialist of the shift: who they are and what they take."""

    username: str
    name: str
    password: str
    languages: tuple[str, ...]
    skills: tuple[str, ...]


@dataclass(frozen=True)
class Borrower:
    """A demo borrower who writes in by SMS (docs/demo.md)."""

    phone: str
    name: str
    loan_number: str


GRETA = Person("greta", "Greta Gruber", "greta-password-1", ("de",), ("general", "loss_mitigation"))
RAVI = Person("ravi", "Ravi Rao", "ravi-password-1", ("hi", "de"), ("general", "disputes"))
VIKRAM = Borrower("+919000000175", "Vikram Singh", "LN-6005")  # hi_IN; a late fee of 1,529.79 INR, above 50.00
LUKAS = Borrower("+493023125151", "Lukas Müller", "LN-5001")  # de_DE
JONAS = Borrower("+496990009155", "Jonas Weber", "LN-5005")  # de_DE
MACRO = "Schicht: wir prüfen das"  # a canned reply in the borrower's language, then resolve
WAIT_SECONDS = 20  # the worker runs the assignment every 2 s when idle


def eventually(read: Callable[[], T], accept: Callable[[T], bool], what: str) -> T:
    """Return what `read` gives once `accept` likes it (the server's worker acts on its own time); else fail."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        value = read()
        if accept(value):
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: still {value!r} after {WAIT_SECONDS} s")
        time.sleep(0.25)


def latest_conversation(console: LiveConsole, borrower: Borrower) -> Conversation | None:
    with console.sessions()() as session:
        query = select(Conversation).where(Conversation.channel == "sms", Conversation.address == borrower.phone)
        return session.scalars(query.order_by(Conversation.id.desc())).first()


def held_conversation(console: LiveConsole, borrower: Borrower) -> Conversation:
    """Wait until the borrower's conversation is held by someone (the assignment ran); return it."""
    found = eventually(
        lambda: latest_conversation(console, borrower), lambda c: c is not None and c.state == "assigned", borrower.name
    )
    assert found is not None
    return found


def holder(console: LiveConsole, conversation_id: int) -> tuple[str, str | None]:
    with console.sessions()() as session:
        found = session.get_one(Conversation, conversation_id)
        return found.state, found.assigned_to


def presence_of(console: LiveConsole, username: str) -> str:
    with console.sessions()() as session:
        return session.scalars(select(Specialist.presence).where(Specialist.username == username)).one()


def outstanding_fee(console: LiveConsole, loan_number: str) -> tuple[int, Decimal]:
    with console.sessions()() as session:
        query = select(Fee.id, Fee.outstanding).join(Loan, Loan.id == Fee.loan_id)
        largest = query.where(Loan.loan_number == loan_number).order_by(Fee.outstanding.desc())
        return session.execute(largest).tuples().first() or (0, Decimal(0))


def fee_outstanding(console: LiveConsole, fee_id: int) -> Decimal:
    with console.sessions()() as session:
        return session.get_one(Fee, fee_id).outstanding


def set_status(page: Page, presence: str) -> None:
    """Set one's presence from the header's status form, on whatever page is open."""
    status = page.get_by_role("banner").locator("form#status")
    status.get_by_label("My status").select_option(presence)
    status.get_by_role("button", name="Set status").click()


def open_conversation(page: Page, conversation_id: int) -> None:
    """Open a conversation from the specialist's own list, as they would."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My conversations").click()
    page.locator(f'a[href="/console/conversations/{conversation_id}"]').first.click()
    expect(page).to_have_url(re.compile(rf"/console/conversations/{conversation_id}$"))


def team_row(page: Page, person: Person) -> Locator:
    return page.locator("table.team").get_by_role("row").filter(has_text=person.name)


@pytest.fixture
def shift(live_console: LiveConsole, browser: Browser, browsing: Browsing) -> Iterator[dict[str, Browsing]]:
    """Greta's and Ravi's desks (their own browsers, offline, nothing held); afterwards offline, and every
    conversation of the shift back with the assistant."""
    sessions = live_console.sessions()
    with sessions.begin() as session:
        for person in (GRETA, RAVI):
            found = session.scalars(select(Specialist).where(Specialist.username == person.username)).first()
            if found is None:
                found = add_specialist(session, person.username, person.password, Role.SPECIALIST,
                                       display_name=person.name, locale="en", actor="browser-tests")  # fmt: skip
            found.presence, found.capacity = "offline", 3
            found.languages, found.skills = list(person.languages), list(person.skills)
            live_console.passwords[person.username] = person.password
    desks = {}
    for person in (GRETA, RAVI):
        context = browser.new_context(
            base_url=live_console.url, locale="en-US", viewport={"width": 1366, "height": 768}
        )
        desks[person.username] = Browsing(live_console, context, browsing.report)  # problems fail the test
    try:
        yield desks
    finally:
        for desk in desks.values():
            desk.context.close()
        now = datetime.now(UTC)
        with sessions.begin() as session:
            for person in (GRETA, RAVI):
                set_presence(session, person.username, "offline", now)
        with sessions.begin() as session:
            for borrower in (VIKRAM, LUKAS, JONAS):
                query = select(Conversation).where(Conversation.address == borrower.phone,
                                                   Conversation.state.in_(("queued", "assigned")))  # fmt: skip
                for left in session.scalars(query).all():
                    if left.state == "queued":
                        claim_conversation(session, left.id, GRETA.username, now)
                    resolve_conversation(session, left.id, left.assigned_to or GRETA.username)


def test_a_supervisor_and_two_specialists_run_a_shift_from_the_console(
    browsing: Browsing, page: Page, shift: dict[str, Browsing], borrower_channels: BorrowerChannels
) -> None:
    console = browsing.console
    sue = page

    # The supervisor prepares a macro for the shift: a canned reply in the borrower's language, then resolve.
    browsing.log_in(sue, "sue")
    sue.get_by_role("navigation", name="Main").get_by_role("link", name="Macros").click()
    form = sue.locator("form.panel").filter(has=sue.get_by_role("button", name="Save macro"))
    form.get_by_label("Name", exact=True).fill(MACRO)
    form.get_by_label("Canned reply (sent in the borrower's language)").select_option("looking_into_it")
    form.get_by_label("Resolve: hand back to the assistant").check()
    form.get_by_role("button", name="Save macro").click()
    expect(sue.get_by_role("status").filter(has_text=f"Macro {MACRO} saved.")).to_be_visible()

    # Both specialists log in and set themselves available from the header of the home page.
    greta, ravi = shift["greta"].new_page(), shift["ravi"].new_page()
    for desk, desk_page, person in ((shift["greta"], greta, GRETA), (shift["ravi"], ravi, RAVI)):
        desk.log_in(desk_page, person.username)
        expect(desk_page.locator("form#status")).to_have_attribute("data-presence", "offline")
        set_status(desk_page, "available")
        expect(desk_page.get_by_role("status").filter(has_text="Your status: Available.")).to_be_visible()
        expect(desk_page).to_have_url(re.compile(r"/console/$"))  # the header's form brings them back where they were
        expect(desk_page.locator("form#status")).to_have_attribute("data-presence", "available")
        expect(desk_page.locator("#status-presence")).to_have_value("available")
        assert presence_of(console, person.username) == "available"
    screenshot(greta, "shift-available")

    # Borrowers write in; the assignment gives each to someone who speaks their language, the least loaded first.
    told = console.text_from_borrower(VIKRAM.phone, "agent se baat karao")
    assert "आपको एक विशेषज्ञ से जोड़ा जा रहा है, जो जल्द ही यहीं जवाब देंगे।" in told  # day or night: Ravi is at work
    vikram = held_conversation(console, VIKRAM)
    assert vikram.assigned_to == RAVI.username  # only Ravi speaks Hindi
    told = console.text_from_borrower(LUKAS.phone, "Mitarbeiter")
    assert "Ich verbinde Sie mit einem Berater, der Ihnen hier in Kürze antwortet." in told  # not "from Monday"
    lukas = held_conversation(console, LUKAS)
    assert lukas.assigned_to == GRETA.username  # both speak German: Greta holds nothing, Ravi one
    console.text_from_borrower(JONAS.phone, "Kundenservice")
    jonas = held_conversation(console, JONAS)
    assert jonas.assigned_to == RAVI.username  # one each: Ravi's last assignment is the older one

    for desk_page, mine in ((greta, (lukas,)), (ravi, (vikram, jonas))):
        desk_page.reload()  # still the home page: the nav counts what they hold
        held_link = desk_page.get_by_role("navigation", name="Main").get_by_role(
            "link", name=f"My conversations ({len(mine)})", exact=True
        )
        held_link.click()
        for held in mine:
            expect(desk_page.locator(f'a[href="/console/conversations/{held.id}"]').first).to_be_visible()
    screenshot(ravi, "shift-assigned")

    # The supervisor sees everyone's load.
    sue.get_by_role("navigation", name="Main").get_by_role("link", name="Team").click()
    expect(team_row(sue, GRETA)).to_contain_text("Available")
    expect(team_row(sue, GRETA)).to_contain_text("1 of 3")
    expect(team_row(sue, RAVI)).to_contain_text("2 of 3")
    screenshot(sue, "shift-team")

    # Greta answers Lukas with the macro: the German reply goes out and the conversation is resolved.
    open_conversation(greta, lukas.id)
    greta.get_by_role("group", name="Macros").get_by_role("button", name=re.compile(re.escape(MACRO))).click()
    expect(greta.get_by_role("status").filter(has_text=f"Macro {MACRO} applied.")).to_be_visible()
    expect(greta).to_have_url(re.compile(r"/console/queue/mine$"))
    assert holder(console, lukas.id) == ("bot", None)
    sent = [d.body for d in borrower_channels.deliver() if d.address == LUKAS.phone]
    assert any(body.startswith("Danke für Ihre Geduld, Lukas.") for body in sent), sent
    screenshot(greta, "shift-macro")

    # Ravi transfers Jonas to Greta with the picker.
    open_conversation(ravi, jonas.id)
    ravi.get_by_label("Transfer to").select_option(GRETA.username)
    screenshot(ravi, "shift-transfer")
    ravi.get_by_role("button", name="Transfer", exact=True).click()
    expect(ravi.get_by_role("status").filter(has_text=f"Transferred to {GRETA.username}.")).to_be_visible()
    assert holder(console, jonas.id) == ("assigned", GRETA.username)
    greta.reload()
    expect(greta.locator(f'a[href="/console/conversations/{jonas.id}"]').first).to_be_visible()

    # Ravi answers Vikram and asks the supervisor, in a note, to approve a fee waiver.
    open_conversation(ravi, vikram.id)
    ravi.get_by_label("Reply to the borrower").fill("Namaste Vikram ji, main aapki late fee dekh raha hoon.")
    ravi.get_by_role("button", name="Send reply").click()
    expect(ravi.get_by_role("status").filter(has_text="Reply queued for the borrower.")).to_be_visible()
    note = f"@sue please approve the late fee waiver on {VIKRAM.loan_number}"
    ravi.get_by_label("Internal note (never sent to the borrower; @username notifies a colleague)").fill(note)
    ravi.get_by_role("button", name="Add note").click()
    expect(ravi.get_by_role("status").filter(has_text="Notified: sue.")).to_be_visible()
    sent = [d.body for d in borrower_channels.deliver() if d.address == VIKRAM.phone]
    assert "Namaste Vikram ji, main aapki late fee dekh raha hoon." in sent, sent

    # Ravi asks for the waiver: above the threshold it is previewed and waits for a second person.
    fee_id, owed = outstanding_fee(console, VIKRAM.loan_number)
    assert owed > Decimal("50.00")
    ravi.goto(console.page_url(f"/console/loans/{VIKRAM.loan_number}?tab=ledger"))
    fee_row = (
        ravi.get_by_role("region", name="Fees")
        .get_by_role("row")
        .filter(has=ravi.locator(f'input[name="fee_id"][value="{fee_id}"]'))
    )
    fee_row.get_by_label("Reason").fill("Hardship after a hospital stay; first late fee in years")
    fee_row.get_by_role("button", name="Waive fee").click()
    expect(ravi.locator("#needs-approval")).to_be_visible()
    screenshot(ravi, "shift-waiver-preview")
    ravi.locator("#confirm-submit").click()
    expect(ravi.get_by_role("status").filter(has_text="Sent for approval")).to_be_visible()
    assert fee_outstanding(console, fee_id) == owed  # nothing moves before the approval
    ravi.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile(r"^Approvals")).click()
    ravi.locator("#approval-requests tbody tr").filter(has_text=VIKRAM.loan_number).last.get_by_role(
        "link", name=re.compile(r"^#\d+$")
    ).click()
    expect(ravi.locator("#maker-waits")).to_be_visible()  # the maker cannot approve their own
    expect(ravi.get_by_role("button", name="Approve")).to_have_count(0)

    # The supervisor sees the mention, then approves the waiver.
    sue.reload()
    mentions = sue.get_by_role("navigation").get_by_role("link", name=re.compile(r"^Notifications \d+ unread$"))
    expect(mentions).to_be_visible()
    mentions.click()
    expect(sue.get_by_role("row").filter(has_text=note)).to_contain_text(RAVI.username)
    sue.get_by_role("button", name="Mark all read").click()
    expect(sue.get_by_role("status").filter(has_text="1 notification marked read.")).to_be_visible()
    sue.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile(r"^Approvals")).click()
    sue.locator("#approval-requests tbody tr").filter(has_text=VIKRAM.loan_number).last.get_by_role(
        "link", name=re.compile(r"^#\d+$")
    ).click()
    screenshot(sue, "shift-approval")
    sue.get_by_role("button", name="Approve").click()
    expect(sue.get_by_role("status").filter(has_text="approved and done")).to_be_visible()
    assert fee_outstanding(console, fee_id) == Decimal(0)
    with console.sessions()() as session:
        approved = session.scalars(select(AuditEntry).where(AuditEntry.action == "approval.approved")).all()
    assert any((a.actor, a.detail["maker"], a.subject_id) == ("sue", RAVI.username, VIKRAM.loan_number)
               for a in approved)  # fmt: skip

    # The supervisor gives Jonas back to Ravi from the Team page.
    sue.get_by_role("navigation", name="Main").get_by_role("link", name="Team").click()
    row = sue.get_by_role("row").filter(has=sue.locator(f'a[href="/console/conversations/{jonas.id}"]'))
    row.get_by_label(f"Reassign conversation {jonas.id} to").select_option(RAVI.username)
    row.get_by_role("button", name="Reassign").click()
    expect(sue.get_by_text(f"Conversation {jonas.id} reassigned to {RAVI.username}.")).to_be_visible()
    assert holder(console, jonas.id) == ("assigned", RAVI.username)
    expect(team_row(sue, RAVI)).to_contain_text("2 of 3")
    expect(team_row(sue, GRETA)).to_contain_text("0 of 3")
    screenshot(sue, "shift-reassigned")

    # Ravi goes offline from the header of the loan page: Jonas, unanswered, goes back and the assignment offers
    # him to Greta; Vikram, answered, stays Ravi's.
    ravi.goto(console.page_url(f"/console/loans/{VIKRAM.loan_number}?tab=ledger"))
    set_status(ravi, "offline")
    expect(ravi.get_by_role("status").filter(has_text="Back in the queue: 1 conversation you had not answered.")
           ).to_be_visible()  # fmt: skip
    expect(ravi).to_have_url(re.compile(rf"/console/loans/{VIKRAM.loan_number}\?tab=ledger$"))
    expect(ravi.locator("form#status")).to_have_attribute("data-presence", "offline")
    screenshot(ravi, "shift-offline")
    assert presence_of(console, RAVI.username) == "offline"
    assert holder(console, vikram.id) == ("assigned", RAVI.username)
    eventually(lambda: holder(console, jonas.id), lambda h: h == ("assigned", GRETA.username), "Jonas re-offered")

    # Greta resolves Jonas and ends her shift.
    open_conversation(greta, jonas.id)
    greta.get_by_role("button", name="Resolve: hand back to the assistant").click()
    expect(greta.get_by_role("status").filter(has_text="Resolved: the assistant answers this borrower again.")
           ).to_be_visible()  # fmt: skip
    assert holder(console, jonas.id) == ("bot", None)
    set_status(greta, "offline")
    expect(greta.get_by_role("status").filter(has_text="Your status: Offline.")).to_be_visible()
    assert presence_of(console, GRETA.username) == "offline"
