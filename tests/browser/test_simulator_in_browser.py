"""The borrower simulator and the console side by side: a borrower asks for a person, a specialist's words arrive.

Two pages of one browser: the borrower writes in the simulator, the specialist claims and answers in the
console, and the server's own outbox worker carries the reply back to the simulator's page.
"""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

from tests.browser.conftest import Browsing, screenshot

EMMA = "Emma Wilson"  # LN-3007, en_CA: see docs/demo.md
ARRIVAL_MS = 20_000  # the worker idles 2 s between passes; the simulator polls every 1.5 s


def open_simulator_chat(page: Page, browsing: Browsing, name: str) -> None:
    """Open the simulator's chat as a demo borrower writing from the phone on file."""
    page.goto(browsing.console.page_url("/simulator/"))
    expect(page.get_by_role("heading", name="Talk to the bot as a demo borrower")).to_be_visible()
    screenshot(page, "simulator")
    row = page.get_by_role("row").filter(has_text=name)
    row.get_by_role("link", name="From the phone on file").click()
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()


def say_as_borrower(page: Page, text: str) -> None:
    """Type a message in the simulator and send it."""
    page.get_by_label("Message").fill(text)
    page.get_by_role("button", name="Send", exact=True).click()


def test_a_specialists_reply_reaches_the_borrower_in_the_simulator(browsing: Browsing) -> None:
    borrower, console = browsing.new_page(), browsing.new_page()
    open_simulator_chat(borrower, browsing, EMMA)
    say_as_borrower(borrower, "I want to talk to a person")
    chat = borrower.get_by_role("region", name="Conversation")
    expect(chat.get_by_text("I want to talk to a person")).to_be_visible()
    expect(chat.get_by_text(re.compile("specialist", re.IGNORECASE)).first).to_be_visible()

    browsing.log_in(console, "sam")
    console.goto(browsing.console.page_url("/console/queue/"))
    row = console.get_by_role("row").filter(has=console.get_by_role("link", name=EMMA))
    expect(row).to_contain_text("Simulator")
    row.get_by_role("button", name="Claim").click()
    expect(console).to_have_url(re.compile(r"/console/conversations/\d+$"))
    expect(console.get_by_role("region", name="Transcript").get_by_text("I want to talk to a person")).to_be_visible()
    words = f"Hi Emma, Sam here from the servicing team ({uuid.uuid4().hex[:8]})."
    console.get_by_label("Reply to the borrower").fill(words)
    console.get_by_role("button", name="Send reply").click()
    expect(console.get_by_text("Reply queued for the borrower.")).to_be_visible()

    expect(chat.get_by_text(words)).to_be_visible(timeout=ARRIVAL_MS)
    screenshot(borrower, "simulator-chat")

    console.get_by_role("button", name="Resolve: hand back to the assistant").click()
    expect(chat.get_by_text(re.compile("assistant is back", re.IGNORECASE))).to_be_visible(timeout=ARRIVAL_MS)
