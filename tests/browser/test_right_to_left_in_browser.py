"""Arabic in a real browser: the simulator and the console transcript lay an Arabic conversation out right to left,
with the loan numbers, amounts and references inside it still reading left to right, in order.

Megan Foster (LN-1014, docs/demo.md) has Arabic (ar_EG) put on file for the test, and English back after it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select

from servicing.store.models import Borrower, BorrowerPhone
from tests.browser.conftest import Browsing, screenshot
from tests.browser.test_simulator_in_browser import say_as_borrower

NAME, PHONE, LOAN = "Megan Foster", "+16125550113", "LN-1014"
ARRIVAL_MS = 20_000
TYPED = f"رقم قرضي {LOAN} وأريد معرفة الرصيد من فضلكم"
# Where each character of a run is drawn: x of its left edge, in the order the characters are stored.
CHARACTER_POSITIONS = """(element, run) => {
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const at = node.data.indexOf(run);
    if (at < 0) { continue; }
    return Array.from(run, (_, i) => {
      const range = document.createRange();
      range.setStart(node, at + i);
      range.setEnd(node, at + i + 1);
      return range.getBoundingClientRect().left;
    });
  }
  return null;
}"""


@pytest.fixture
def arabic_borrower(browsing: Browsing) -> Iterator[None]:
    """Put Arabic (Egypt) on file for Megan Foster for the test, then her English back."""
    with browsing.console.sessions().begin() as session:
        borrower = session.scalars(select(Borrower).join(BorrowerPhone).where(BorrowerPhone.e164 == PHONE)).one()
        before, borrower.locale = borrower.locale, "ar_EG"
    yield
    with browsing.console.sessions().begin() as session:
        session.scalars(select(Borrower).join(BorrowerPhone).where(BorrowerPhone.e164 == PHONE)).one().locale = before


def direction(element: Locator) -> str:
    return str(element.evaluate("(node) => getComputedStyle(node).direction"))


def reads_in_order(element: Locator, run: str) -> bool:
    """Tell whether a run of characters (a loan number, an amount) is drawn left to right, as it is written."""
    positions = element.evaluate(CHARACTER_POSITIONS, run)
    assert positions is not None, f"{run!r} is not in {element.inner_text()!r}"
    return bool(positions == sorted(positions) and positions[0] < positions[-1])


def open_chat(page: Page, browsing: Browsing) -> Locator:
    page.goto(browsing.console.page_url("/simulator/"))
    page.get_by_role("row").filter(has_text=NAME).get_by_role("link", name="From the phone on file").click()
    expect(page.get_by_role("heading", name=NAME, level=1)).to_be_visible()
    return page.get_by_role("region", name="Conversation")


def test_an_arabic_conversation_reads_right_to_left_in_the_simulator_and_the_console(
    browsing: Browsing, arabic_borrower: None
) -> None:
    borrower = browsing.new_page()
    chat = open_chat(borrower, browsing)

    say_as_borrower(borrower, TYPED)
    mine = chat.locator(".message.from-you .text").filter(has_text=LOAN).last
    expect(mine).to_be_visible()
    assert direction(mine) == "rtl" and reads_in_order(mine, LOAN)

    say_as_borrower(borrower, "1")  # the menu's number for the balance: the bot first asks who is writing
    prompts = chat.locator(".message.from-bot .text").filter(has_text="تاريخ ميلادكم")
    expect(prompts).to_have_count(2, timeout=ARRIVAL_MS)  # its answer to "1" too, or the next message races it
    asked = prompts.last
    assert direction(asked) == "rtl"
    borrower.get_by_role("button", name="1980-04-04").click()
    borrower.get_by_role("button", name="Send", exact=True).click()
    balance = chat.locator(".message.from-bot .text").filter(has_text="رصيد أصل القرض").last
    expect(balance).to_be_visible(timeout=ARRIVAL_MS)
    text = balance.inner_text()
    amount = re.search(r"\d{1,3}(?:,\d{3})+\.\d{2}", text)
    assert amount is not None, text
    assert direction(balance) == "rtl" and reads_in_order(balance, amount.group()) and reads_in_order(balance, "1014")
    screenshot(borrower, "simulator-arabic")

    say_as_borrower(borrower, "9")  # a person
    handed_over = re.compile("المختصين|المختصون")  # "a specialist replies shortly", or out of hours "... from Monday"
    expect(chat.locator(".message.from-bot .text").filter(has_text=handed_over).last).to_be_visible(timeout=ARRIVAL_MS)

    console = browsing.new_page()
    browsing.log_in(console, "sam")
    console.goto(browsing.console.page_url("/console/queue/"))
    console.get_by_role("row").filter(has=console.get_by_role("link", name=NAME)).get_by_role(
        "button", name="Claim"
    ).click()
    expect(console).to_have_url(re.compile(r"/console/conversations/\d+$"))
    transcript = console.get_by_role("region", name="Transcript")
    typed = transcript.locator(".message .body").filter(has_text=LOAN).first
    expect(typed).to_be_visible()
    assert direction(typed) == "rtl" and reads_in_order(typed, LOAN)
    answer = transcript.locator(".message .body").filter(has_text="رصيد أصل القرض").first
    assert direction(answer) == "rtl" and reads_in_order(answer, amount.group())
    assert direction(console.locator(".message .meta").first) == "ltr", "the console itself stays left to right"

    console.get_by_label("Canned response (in the borrower's language)").select_option("amount_due")
    console.get_by_role("button", name="Send reply").click()
    expect(console.get_by_text("Reply queued for the borrower.")).to_be_visible()
    arrived = chat.locator(".message.from-servicer .text").filter(has_text="المبلغ المستحق على القرض").last
    expect(arrived).to_be_visible(timeout=ARRIVAL_MS)
    assert direction(arrived) == "rtl" and reads_in_order(arrived, "1014")
    screenshot(console, "console-transcript-arabic")
    console.get_by_role("button", name="Resolve: hand back to the assistant").click()
