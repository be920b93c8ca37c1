"""Running a shift in a real browser: presence and auto-assignment, a supervisor's reassignment, bulk resolve,
a transfer to a skill queue, and an administrator's new user who chooses a password at the first login.

The demo's own queue must not move: the conversations here are in Indonesian, and while a test runs, `sam`
speaks only Indonesian (restored afterwards) and the extra specialists speak only Indonesian. Every test
ends with its people offline, so the server's worker (which runs the assignment on every pass) leaves the
other tests' queue alone.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from servicing.conversations import EscalationReason, claim_conversation, escalate, record_inbound
from servicing.specialists import Role, add_specialist
from servicing.staffing.presence import set_presence
from servicing.store.models import Conversation, Specialist
from tests.browser.conftest import Browsing, LiveConsole, screenshot

INDONESIAN = "id"
ADMIN = ("adam", "Adam Admin", "admin-password-1")


def waiting_in_indonesian(console: LiveConsole, reason: EscalationReason = EscalationReason.ASKED) -> int:
    """Put an Indonesian conversation (from a number no borrower has) in the queue; return its id."""
    now = datetime.now(UTC)
    address = f"+6281{uuid.uuid4().int % 10**9:09d}"
    with console.sessions().begin() as session:
        inbound = record_inbound(session, "sms", address, "Saya perlu bantuan", provider_id=f"B{uuid.uuid4().hex}",
                                 now=now - timedelta(minutes=3))  # fmt: skip
        inbound.conversation.locale = INDONESIAN
        escalate(session, inbound.conversation, reason, now - timedelta(minutes=3))
        return inbound.conversation.id


def person(session: Session, username: str) -> Specialist:
    return session.scalars(select(Specialist).where(Specialist.username == username)).one()


def conversation(console: LiveConsole, conversation_id: int) -> Conversation:
    with console.sessions()() as session:
        return session.get_one(Conversation, conversation_id)


def offline(sessions: sessionmaker[Session], *usernames: str) -> None:
    """Take people offline (what they hold unanswered goes back to the queue)."""
    for username in usernames:
        with sessions.begin() as session:
            set_presence(session, username, "offline", datetime.now(UTC))


@pytest.fixture
def sam_speaks_indonesian(live_console: LiveConsole) -> Iterator[None]:
    """Let sam take only Indonesian conversations for one test, then restore him, offline."""
    sessions = live_console.sessions()
    with sessions.begin() as session:
        sam = person(session, "sam")
        languages, sam.languages = list(sam.languages), [INDONESIAN]
    try:
        yield
    finally:
        offline(sessions, "sam")
        with sessions.begin() as session:
            person(session, "sam").languages = languages


@pytest.fixture
def payoff_desk(live_console: LiveConsole) -> Iterator[str]:
    """An available Indonesian-speaking payoffs specialist (who never logs in); offline afterwards."""
    username = f"paula{uuid.uuid4().hex[:6]}"
    sessions = live_console.sessions()
    with sessions.begin() as session:
        paula = add_specialist(session, username, "paula-password-1", Role.SPECIALIST, display_name="Paula Payoffs",
                               actor="browser-tests")  # fmt: skip
        paula.presence, paula.languages, paula.skills = "available", [INDONESIAN], ["payoffs"]
    try:
        yield username
    finally:
        offline(sessions, username)


def status_form(page: Page) -> Locator:
    return page.locator("form#status")


def test_a_specialist_sets_available_and_gets_a_conversation_assigned(
    browsing: Browsing, page: Page, sam_speaks_indonesian: None
) -> None:
    console = browsing.console
    waiting_id = waiting_in_indonesian(console, EscalationReason.LOCKED_OUT)
    browsing.log_in(page, "sam")
    page.goto(console.page_url("/console/queue/?language=id"))
    expect(page.get_by_role("link", name=re.compile("Unknown borrower")).first).to_be_visible()

    status_form(page).get_by_label("My status").select_option("available")
    status_form(page).get_by_role("button", name="Set status").click()

    expect(page.get_by_text("Your status: Available.")).to_be_visible()
    page.get_by_role("link", name="My conversations").first.click()
    expect(page.locator(f'a[href="/console/conversations/{waiting_id}"]').first).to_be_visible()
    assert conversation(console, waiting_id).assigned_to == "sam"
    screenshot(page, "assignment-available")

    status_form(page).get_by_label("My status").select_option("offline")
    status_form(page).get_by_role("button", name="Set status").click()
    expect(page.get_by_text(re.compile(r"Back in the queue: \d+ conversations? you had not answered"))).to_be_visible()
    assert conversation(console, waiting_id).state == "queued"


def test_a_supervisor_reassigns_a_conversation_from_the_team_page(
    browsing: Browsing, page: Page, payoff_desk: str
) -> None:
    console = browsing.console
    held = waiting_in_indonesian(console)
    with console.sessions().begin() as session:
        claim_conversation(session, held, "sam", datetime.now(UTC))
    browsing.log_in(page, "sue")
    page.get_by_role("navigation").get_by_role("link", name="Team").click()
    expect(page.get_by_role("heading", name="Team", level=1)).to_be_visible()
    expect(page.locator("table.team").get_by_role("row").filter(has_text="Paula Payoffs")).to_contain_text("Available")
    row = page.get_by_role("row").filter(has=page.locator(f'a[href="/console/conversations/{held}"]'))
    row.get_by_label(f"Reassign conversation {held} to").select_option(payoff_desk)
    screenshot(page, "assignment-team")
    row.get_by_role("button", name="Reassign").click()

    expect(page.get_by_text(f"Conversation {held} reassigned to {payoff_desk}.")).to_be_visible()
    assert conversation(console, held).assigned_to == payoff_desk


def test_a_specialist_resolves_two_conversations_at_once(browsing: Browsing, page: Page) -> None:
    console = browsing.console
    first, second = waiting_in_indonesian(console), waiting_in_indonesian(console)
    browsing.log_in(page, "sam")
    page.goto(console.page_url("/console/queue/?language=id"))
    page.locator(f"#tick-{first}").check()
    page.locator(f"#tick-{second}").check()
    page.get_by_label("With the ticked conversations").select_option("resolve")
    screenshot(page, "assignment-bulk")
    page.locator("form#bulk").get_by_role("button", name="Apply").click()

    expect(page.get_by_text("Done: 2 conversations.")).to_be_visible()
    expect(page.locator(f"#tick-{first}")).to_have_count(0)
    assert conversation(console, first).state == conversation(console, second).state == "bot"


def test_a_specialist_transfers_a_conversation_to_the_payoffs_queue(
    browsing: Browsing, page: Page, payoff_desk: str
) -> None:
    console = browsing.console
    held = waiting_in_indonesian(console)
    with console.sessions().begin() as session:
        claim_conversation(session, held, "sam", datetime.now(UTC))
    browsing.log_in(page, "sam")
    page.goto(console.page_url(f"/console/conversations/{held}"))
    picker = page.get_by_label("Transfer to")
    expect(picker.locator("option").first).to_contain_text("Available")  # available people first, with their load
    picker.select_option(label="Queue: Payoffs")
    screenshot(page, "assignment-transfer")
    page.get_by_role("button", name="Transfer", exact=True).click()

    expect(page.get_by_text("Sent to the Payoffs queue.")).to_be_visible()
    moved = conversation(console, held)
    assert (moved.skill, moved.assigned_to) == ("payoffs", payoff_desk)  # the assignment gave it to the payoffs desk


def test_an_administrator_creates_a_user_who_chooses_a_password_at_the_first_login(
    browsing: Browsing, page: Page
) -> None:
    console = browsing.console
    username, name, password = ADMIN
    if username not in console.passwords:
        console.passwords[username] = password
        with console.sessions().begin() as session:
            add_specialist(session, username, password, Role.ADMIN, display_name=name, actor="browser-tests")
    newcomer = f"nina{uuid.uuid4().hex[:6]}"
    browsing.log_in(page, username)
    page.get_by_role("navigation").get_by_role("link", name="Users").click()
    form = page.locator("form.account")
    form.get_by_label("Username").fill(newcomer)
    form.get_by_label("Name", exact=True).fill("Nina Novak")
    form.get_by_label("Capacity (conversations at once)").fill("-4")
    form.get_by_label("Temporary password").fill("first-day-pass")
    form.get_by_role("button", name="Create user").click()
    expect(page.get_by_text("Not created: check the fields marked below.")).to_be_visible()  # nothing created
    form.get_by_label("Capacity (conversations at once)").fill("4")
    form.get_by_label("Disputes").check()
    form.get_by_label("Temporary password").fill("first-day-pass")
    screenshot(page, "admin-new-user")
    form.get_by_role("button", name="Create user").click()
    expect(page.get_by_text(f"User {newcomer} created")).to_be_visible()

    newcomer_page = browsing.context.browser.new_context(base_url=console.url).new_page()  # type: ignore[union-attr]
    newcomer_page.goto(console.page_url("/console/login"))
    newcomer_page.get_by_label("Username").fill(newcomer)
    newcomer_page.get_by_label("Password").fill("first-day-pass")
    newcomer_page.get_by_role("button", name="Log in").click()
    expect(newcomer_page).to_have_url(re.compile(r"/console/password$"))
    newcomer_page.goto(console.page_url("/console/queue/"))
    expect(newcomer_page).to_have_url(re.compile(r"/console/password$"))  # nothing else until a password is chosen
    newcomer_page.get_by_label("New password", exact=True).fill("nina's own secret")
    newcomer_page.get_by_label("New password again").fill("nina's own secret")
    screenshot(newcomer_page, "admin-choose-password")
    newcomer_page.get_by_role("button", name="Set my password").click()
    expect(newcomer_page.get_by_text("Your new password is set.")).to_be_visible()
    with console.sessions()() as session:
        nina = person(session, newcomer)
        assert not nina.must_change_password and nina.skills == ["disputes", "general"]
    newcomer_page.context.close()
