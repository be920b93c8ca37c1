"""Working faster in a real browser: a supervisor defines macros; a specialist applies one by its button and one
with Alt+digit; a note's @mention reaches a colleague's header and notifications page; the borrower answers the
satisfaction survey by SMS and the score shows in the report."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from servicing.store.models import AuditEntry, Conversation, SatisfactionSurvey
from tests.browser.conftest import BorrowerChannels, Browsing, screenshot


@pytest.fixture
def colleague(browser: Browser, browsing: Browsing) -> Iterator[Browsing]:
    """A second person at another desk: a context of their own (their own cookies), reporting to the same test."""
    context = browser.new_context(
        base_url=browsing.console.url, locale="en-US", viewport={"width": 1366, "height": 768}
    )
    yield Browsing(browsing.console, context, browsing.report)
    context.close()


KAREN = "+16025550109"  # Karen Mitchell, LN-1010 (en_US, Phoenix): see docs/demo.md
KAREN_NAME = "Karen Mitchell"
MEGAN = "+16125550113"  # Megan Foster, LN-1014 (en_US, Minneapolis)
MEGAN_NAME = "Megan Foster"
MICHAEL = "+14155550106"  # Michael Brooks, LN-1007 (en_US, San Francisco)
MICHAEL_NAME = "Michael Brooks"
ARABIC = "مرحبا، أحتاج إلى مساعدة في دفعتي"  # a borrower writing Arabic: "hello, I need help with my payment"


def define_macro(page: Page, name: str, shortcut: str, canned: str, note: str = "", resolve: bool = False) -> None:
    """Fill the new-macro form as a supervisor and save it."""
    form = page.locator("form.panel").filter(has=page.get_by_role("button", name="Save macro"))
    form.get_by_label("Name", exact=True).fill(name)
    form.get_by_label("Shortcut (Alt + digit)").select_option(shortcut)
    form.get_by_label("Canned reply (sent in the borrower's language)").select_option(canned)
    if note:
        form.get_by_label("Internal note (@username notifies a colleague)").fill(note)
    if resolve:
        form.get_by_label("Resolve: hand back to the assistant").check()
        form.get_by_label("With resolve, ask the borrower to rate the help (1 to 5)").check()
    form.get_by_role("button", name="Save macro").click()
    expect(page.get_by_role("status").filter(has_text=f"Macro {name} saved.")).to_be_visible()


def claim(browsing: Browsing, page: Page, phone: str, name: str) -> str:
    """Let the borrower ask for a person by SMS, claim them as sam; return the conversation's URL."""
    browsing.console.text_from_borrower(phone, "AGENT")
    browsing.log_in(page, "sam")
    page.goto(browsing.console.page_url("/console/queue/"))
    page.get_by_role("row").filter(has=page.get_by_role("link", name=name)).get_by_role("button", name="Claim").click()
    expect(page).to_have_url(re.compile(r"/console/conversations/\d+$"))
    page.wait_for_load_state()  # conversation.js listens for the shortcuts
    return page.url


def test_macros_by_click_and_by_keyboard_and_the_survey_answered_by_sms(
    browsing: Browsing, page: Page, borrower_channels: BorrowerChannels, colleague: Browsing
) -> None:
    console = browsing.console
    browsing.log_in(page, "sue")
    page.get_by_role("navigation").get_by_role("link", name="Macros").click()
    define_macro(page, "Looking into it", "1", "looking_into_it", note="Told the borrower we are checking")
    define_macro(page, "Close and ask", "2", "greeting", resolve=True)
    screenshot(page, "macros")

    sam = colleague.new_page()
    claim(colleague, sam, KAREN, KAREN_NAME)
    sam.get_by_role("group", name="Macros").get_by_role("button", name=re.compile("Looking into it")).click()
    expect(sam.get_by_role("status").filter(has_text="Macro Looking into it applied.")).to_be_visible()
    expect(sam.get_by_role("region", name="Transcript")).to_contain_text("Told the borrower we are checking")
    screenshot(sam, "conversation-macros")
    sent = [d.body for d in borrower_channels.deliver() if d.address == KAREN]
    assert any(body.startswith("Thank you for your patience, Karen.") for body in sent), sent

    sam.keyboard.press("Alt+2")
    expect(sam).to_have_url(re.compile(r"/console/queue/mine$"))
    expect(sam.get_by_role("status").filter(has_text="Macro Close and ask applied.")).to_be_visible()
    now = datetime.now(UTC)
    with console.sessions().begin() as session:
        survey = session.scalars(select(SatisfactionSurvey).order_by(SatisfactionSurvey.id.desc())).first()
        assert survey is not None and survey.specialist == "sam" and survey.status == "asked"
        goes_out = max(now, survey.asked_at or now)  # later than now in Karen's night: it waits for her morning
        survey.asked_at = min(goes_out, now)  # ... and, for this test, the morning has come
    sent = [d.body for d in borrower_channels.deliver_at(goes_out) if d.address == KAREN]
    assert any("Reply with a number from 1 (very dissatisfied) to 5 (very satisfied)." in body for body in sent), sent

    answer = console.text_from_borrower(KAREN, "5")
    assert "Thank you for your rating." in answer

    page.goto(console.page_url("/console/reports/satisfaction"))
    expect(page.get_by_role("heading", name="Satisfaction per specialist", level=1)).to_be_visible()
    row = page.locator("table.report tbody tr").filter(has_text="sam")
    expect(row).to_contain_text("5.00")
    screenshot(page, "report-satisfaction")


def test_a_mention_in_a_note_reaches_the_colleagues_header_and_notifications(
    browsing: Browsing, page: Page, colleague: Browsing
) -> None:
    claimed = claim(browsing, page, MEGAN, MEGAN_NAME)
    browsing.console.text_from_borrower(MEGAN, ARABIC)
    transcript = page.get_by_role("region", name="Transcript")
    arabic = transcript.get_by_text(ARABIC)
    expect(arabic).to_be_visible(timeout=15_000)  # added by the page's poll, as the server would render it
    assert arabic.evaluate("node => node.matches(':dir(rtl)')"), "Arabic reads right to left"
    assert transcript.get_by_text("AGENT").first.evaluate("node => node.matches(':dir(ltr)')")
    page.reload()
    assert transcript.get_by_text(ARABIC).evaluate("node => node.matches(':dir(rtl)')")
    page.get_by_label("Internal note (never sent to the borrower; @username notifies a colleague)").fill(
        "@sue can you approve a fee waiver here? @nobody"
    )
    page.get_by_role("button", name="Add note").click()
    expect(page.get_by_role("status").filter(has_text="Notified: sue.")).to_be_visible()

    sue = colleague.new_page()
    colleague.log_in(sue, "sue")
    link = sue.get_by_role("navigation").get_by_role("link", name=re.compile(r"^Notifications \d+ unread$"))
    expect(link).to_be_visible()
    link.click()
    row = sue.get_by_role("row").filter(has_text="@sue can you approve a fee waiver here?")
    expect(row).to_contain_text("sam")
    screenshot(sue, "notifications")
    row.get_by_role("link").click()
    expect(sue).to_have_url(claimed)
    sue.goto(browsing.console.page_url("/console/notifications/"))
    sue.get_by_role("button", name="Mark all read").click()
    expect(sue.get_by_role("navigation").get_by_role("link", name="Notifications", exact=True)).to_be_visible()
    page.get_by_role("button", name="Resolve: hand back to the assistant").click()  # Megan's queue is clear again
    expect(page.get_by_role("status").first).to_be_visible()


def test_a_macro_sends_the_conversation_to_a_skill_queue(browsing: Browsing, page: Page, colleague: Browsing) -> None:
    browsing.log_in(page, "sue")
    page.get_by_role("navigation").get_by_role("link", name="Macros").click()
    form = page.locator("form.panel").filter(has=page.get_by_role("button", name="Save macro"))
    form.get_by_label("Name", exact=True).fill("Send to payoffs")
    form.get_by_label("Transfer to a skill queue").select_option(label="Queue: Payoffs")
    form.get_by_label("Resolve: hand back to the assistant").check()
    form.get_by_role("button", name="Save macro").click()  # a transfer and resolve together: refused
    expect(page.get_by_role("status").filter(has_text="not both")).to_be_visible()
    form = page.locator("form.panel").filter(has=page.get_by_role("button", name="Save macro"))
    form.get_by_label("Name", exact=True).fill("Send to payoffs")
    form.get_by_label("Shortcut (Alt + digit)").select_option("3")
    form.get_by_label("Internal note (@username notifies a colleague)").fill("Wants a payoff quote")
    form.get_by_label("Transfer to a skill queue").select_option(label="Queue: Payoffs")
    form.get_by_role("button", name="Save macro").click()
    expect(page.get_by_role("status").filter(has_text="Macro Send to payoffs saved.")).to_be_visible()
    expect(page.locator("table.macros")).to_contain_text("Queue: Payoffs")

    sam = colleague.new_page()
    claimed = claim(colleague, sam, MICHAEL, MICHAEL_NAME)
    conversation_id = int(claimed.rsplit("/", 1)[1])
    sam.get_by_role("group", name="Macros").get_by_role("button", name=re.compile("Send to payoffs")).click()
    expect(sam).to_have_url(re.compile(r"/console/queue/mine$"))
    expect(sam.get_by_role("status").filter(has_text="sent to the Payoffs queue")).to_be_visible()
    screenshot(sam, "macro-transfer")
    with browsing.console.sessions()() as session:
        conversation = session.get_one(Conversation, conversation_id)
        assert conversation.skill == "payoffs" and conversation.assigned_to != "sam"
        moved = session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "conversation.transferred", AuditEntry.subject_id == str(conversation_id)
            )
        ).one()
    assert (moved.actor, moved.detail) == ("sam", {"to_queue": "payoffs"})
