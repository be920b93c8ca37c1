"""A borrower asks for a person by SMS; a specialist claims, reads, answers and resolves in a real browser.

The borrower's side is real too: the SMS arrives through the signed Twilio webhook, and the reply leaves
through the outbox and the real Twilio client (over a recording HTTP client).
"""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import BorrowerChannels, Browsing, Delivered, LiveConsole, screenshot

OLIVIA = "+14035550139"  # Olivia Martin, LN-3009 (en_CA): see docs/demo.md
OLIVIA_NAME = "Olivia Martin"
LIAM = "+16045550138"  # Liam Thompson, LN-3008 (en_CA)
LIAM_NAME = "Liam Thompson"
MARCO = "+393335550162"  # Marco Russo, LN-5102 (it_IT): waiting in the demo's queue, not understood twice
MARCO_NAME = "Marco Russo"
ASKING = "Can I talk to a person please? AGENT"


def queue_row(page: Page, name: str) -> Locator:
    """Return the queue's row of a borrower."""
    return page.get_by_role("row").filter(has=page.get_by_role("link", name=name))


def test_a_borrower_who_asks_for_a_person_waits_in_the_queue(browsing: Browsing, page: Page) -> None:
    answer = browsing.console.text_from_borrower(OLIVIA, "AGENT")
    assert "specialist" in answer.lower()

    browsing.log_in(page, "sam")
    page.get_by_role("navigation").get_by_role("link", name="Queue").click()

    expect(page.get_by_role("heading", name="Queue", level=1)).to_be_visible()
    expect(queue_row(page, OLIVIA_NAME)).to_have_count(1)
    expect(queue_row(page, OLIVIA_NAME)).to_contain_text("SMS")
    expect(queue_row(page, OLIVIA_NAME)).to_contain_text("Asked for a person")
    # the demo's own waiting conversations (servicing/demo/conversations.py): a hardship in Spanish among them
    expect(queue_row(page, "José Hernández")).to_contain_text("Hardship")
    expect(queue_row(page, "José Hernández")).to_contain_text("(es_US)")
    screenshot(page, "queue")


def test_a_specialist_claims_answers_and_resolves_a_conversation(
    browsing: Browsing, page: Page, borrower_channels: BorrowerChannels
) -> None:
    console: LiveConsole = browsing.console
    console.text_from_borrower(LIAM, ASKING)
    words = f"Hello Liam, this is Sam. I can help with that ({uuid.uuid4().hex[:8]})."
    browsing.log_in(page, "sam")
    page.goto(console.page_url("/console/queue/"))

    queue_row(page, LIAM_NAME).get_by_role("button", name="Claim").click()

    expect(page).to_have_url(re.compile(r"/console/conversations/\d+$"))
    page.wait_for_load_state()  # the deferred conversation.js has run: its listeners are in place
    conversation_url = page.url
    transcript = page.get_by_role("region", name="Transcript")
    expect(transcript.get_by_text(ASKING)).to_be_visible()  # the transcript shows what the borrower wrote

    page.get_by_label("Reply to the borrower").fill(words)
    page.get_by_role("button", name="Send reply").click()

    expect(page.get_by_text("Reply queued for the borrower.")).to_be_visible()
    expect(transcript.get_by_text(words)).to_be_visible()
    screenshot(page, "conversation")
    assert Delivered("sms", LIAM, words) in borrower_channels.deliver()

    page.get_by_role("navigation").get_by_role("link", name="My conversations").click()
    expect(queue_row(page, LIAM_NAME)).to_have_count(1)
    page.goto(conversation_url)
    page.get_by_role("button", name="Resolve: hand back to the assistant").click()

    expect(page).to_have_url(re.compile(r"/console/queue/mine$"))
    expect(page.get_by_text("Resolved: the assistant answers this borrower again.")).to_be_visible()
    expect(queue_row(page, LIAM_NAME)).to_have_count(0)
    told = [d for d in borrower_channels.deliver() if d.address == LIAM and "assistant is back" in d.body]
    assert told, "the borrower is told the assistant is back"


def test_a_new_message_from_the_borrower_appears_without_reloading(browsing: Browsing, page: Page) -> None:
    console = browsing.console
    console.text_from_borrower(OLIVIA, "AGENT")
    browsing.log_in(page, "sam")
    page.goto(console.page_url("/console/queue/"))
    queue_row(page, OLIVIA_NAME).get_by_role("button", name="Claim").click()
    expect(page).to_have_url(re.compile(r"/console/conversations/\d+$"))
    page.wait_for_load_state()  # the deferred conversation.js has run: its listeners are in place

    later = f"Also, my address changed ({uuid.uuid4().hex[:8]})"
    console.text_from_borrower(OLIVIA, later)

    transcript = page.get_by_role("region", name="Transcript")
    expect(transcript.get_by_text(later)).to_be_visible(timeout=15_000)  # the page polls every few seconds
    page.get_by_role("button", name="Put back in the queue").click()
    expect(page).to_have_url(re.compile(r"/console/queue/$"))


def test_a_canned_response_fills_the_reply_and_reaches_the_borrower_as_shown(
    browsing: Browsing, page: Page, borrower_channels: BorrowerChannels
) -> None:
    browsing.log_in(page, "sam")
    page.goto(browsing.console.page_url("/console/queue/"))
    queue_row(page, MARCO_NAME).get_by_role("button", name="Claim").click()
    expect(page).to_have_url(re.compile(r"/console/conversations/\d+$"))
    page.wait_for_load_state()  # the deferred conversation.js has run: its listeners are in place

    canned = page.get_by_label("Canned response (in the borrower's language)")
    canned.select_option(index=1)
    chosen = canned.locator("option:checked").inner_text()
    expect(page.get_by_label("Reply to the borrower")).to_have_value(chosen)  # filled by conversation.js
    page.get_by_role("button", name="Send reply").click()

    expect(page.get_by_text("Reply queued for the borrower.")).to_be_visible()
    assert Delivered("sms", MARCO, chosen) in borrower_channels.deliver()
