"""A loan in a real browser: find it, quote its payoff for a chosen date, and place a forbearance with a reason."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import BorrowerChannels, BrowserReport, Browsing, screenshot

PAYOFF_LOAN = "LN-1001"  # Emily Carter's mortgage, current, escrowed (docs/demo.md)
FORBEARANCE_LOAN = "LN-1005"  # Robert Hayes's mortgage, about 45 days late, no workout yet
ROBERT = "+12145550104"
PLAN_LOAN = "LN-3004"  # Jean-François Côté's mortgage, about 75 days late
AMOUNT = re.compile(r"\$\d[\d,]*\.\d\d")


def open_loan(page: Page, loan_number: str, tab: str | None = None) -> None:
    """Find a loan through the Loans page's search and open it (on one of its tabs when given)."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Loans").click()
    page.get_by_label("Loan number or borrower's last name").fill(loan_number)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=loan_number, exact=True).click()
    expect(page.get_by_role("heading", name=f"Loan {loan_number}", level=1)).to_be_visible()
    if tab is not None:
        open_tab(page, tab)


def open_tab(page: Page, tab: str) -> None:
    """Open one of the loan page's tabs (each a link: the page works without script)."""
    page.locator(f"#tab-{tab}").click()
    expect(page.locator(f"#tab-{tab}")).to_have_attribute("aria-current", "page")


def second_person(browsing: Browsing) -> Browsing:
    """Return another browser (its own cookies) on the same console: the checker's, beside the maker's."""
    assert browsing.context.browser is not None
    context = browsing.context.browser.new_context(base_url=browsing.console.url, locale="en-US",
                                                   viewport={"width": 1280, "height": 900})  # fmt: skip
    return Browsing(browsing.console, context, BrowserReport())


def approve_as(browsing: Browsing, checker: str, loan_number: str) -> None:
    """Approve the loan's latest request waiting for approval, as a checker does: from the Approvals page."""
    other = second_person(browsing)
    page = other.new_page()
    other.log_in(page, checker)
    page.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile(r"^Approvals")).click()
    row = page.locator("#approval-requests tbody tr").filter(has_text=loan_number).last
    row.get_by_role("link", name=re.compile(r"^#\d+$")).click()
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status").filter(has_text="approved and done")).to_be_visible()
    assert not other.report.problems(), other.report.problems()
    other.context.close()


def confirm(page: Page, *, needs_approval: bool) -> None:
    """Read the preview and confirm it: do the action, or send it for approval."""
    expect(page.locator("#preview-note")).to_be_visible()
    expect(page.locator("#needs-approval")).to_have_count(1 if needs_approval else 0)
    page.locator("#confirm-submit").click()


def action_form(page: Page, heading: str) -> Locator:
    """Return the loan page's action form under a heading."""
    return page.locator("form").filter(has=page.get_by_role("heading", name=heading))


def test_a_payoff_quote_for_a_chosen_date_shows_its_total(browsing: Browsing, page: Page) -> None:
    browsing.log_in(page, "sam")
    open_loan(page, PAYOFF_LOAN)
    expect(page.locator("#principal-balance")).to_have_text(AMOUNT)
    screenshot(page, "loan")
    good_through = browsing.console.today + timedelta(days=26)

    page.get_by_role("link", name="Payoff quote").click()
    page.get_by_label("Good through").fill(good_through.isoformat())
    page.get_by_role("button", name="Quote").click()

    expect(page).to_have_url(re.compile(rf"/console/loans/{PAYOFF_LOAN}/payoff\?good_through={good_through}"))
    expect(page.get_by_role("heading", name=f"Payoff quote for loan {PAYOFF_LOAN}")).to_be_visible()
    expect(page.get_by_text(f"good through {good_through:%B} {good_through.day}, {good_through.year}")).to_be_visible()
    total = page.get_by_role("row", name=re.compile("Payoff amount"))
    expect(total).to_contain_text(AMOUNT)
    figures = payoff_figures(page)
    assert figures["Payoff amount"] > 0
    assert figures["Payoff amount"] == sum(amount for label, amount in figures.items() if label != "Payoff amount")
    screenshot(page, "payoff")


def test_a_supervisor_places_a_forbearance_and_the_loan_and_the_borrower_show_it(
    browsing: Browsing, page: Page, borrower_channels: BorrowerChannels
) -> None:
    browsing.log_in(page, "sue")
    open_loan(page, FORBEARANCE_LOAN, "workouts")
    form = action_form(page, "Place a forbearance")

    form.get_by_label("Months").fill("6")
    form.get_by_label("Reduced payment").fill("0")
    form.get_by_label("Reason").fill("Lost his job in January; hardship documents received")
    form.get_by_label(re.compile("has not verified on the channel the notice goes to")).check()  # he has not
    form.get_by_role("button", name="Place forbearance").click()
    confirm(page, needs_approval=True)
    expect(page.get_by_role("status").filter(has_text="Sent for approval")).to_be_visible()
    approve_as(browsing, "ada", FORBEARANCE_LOAN)

    page.reload()
    expect(page.get_by_text(re.compile(r"In an active Forbearance since"))).to_be_visible()
    workouts = page.get_by_role("region", name="Workouts")
    expect(workouts.get_by_role("row").filter(has_text="Forbearance")).to_contain_text("ada")
    expect(action_form(page, "End the forbearance")).to_be_visible()
    screenshot(page, "loan-forbearance")

    daytime = next_daytime_in_the_us()
    notices = [d for d in borrower_channels.deliver_at(daytime) if d.address == ROBERT]
    assert any("forbearance on the loan ending in 1005" in notice.body.lower() for notice in notices), notices
    assert not any(FORBEARANCE_LOAN in notice.body for notice in notices), notices


def test_a_forbearance_without_a_reason_is_refused_and_changes_nothing(browsing: Browsing, page: Page) -> None:
    browsing.log_in(page, "sue")
    open_loan(page, "LN-1007", "workouts")
    form = action_form(page, "Place a forbearance")
    form.get_by_label("Reason").evaluate("field => field.removeAttribute('required')")  # the server must refuse it

    form.get_by_role("button", name="Place forbearance").click()

    expect(page.get_by_role("status").filter(has_text="Reason")).to_be_visible()
    expect(page.get_by_role("region", name="Workouts")).to_contain_text("No workouts.")


def test_a_specialist_may_ask_for_a_workout_but_sees_no_supervisors_forms(browsing: Browsing, page: Page) -> None:
    browsing.log_in(page, "sam")
    open_loan(page, "LN-1007", "workouts")

    expect(page.get_by_role("region", name="Workouts")).to_be_visible()
    expect(action_form(page, "Place a forbearance")).to_have_count(1)  # asked for: a supervisor approves it
    expect(action_form(page, "Record the referral to foreclosure")).to_have_count(0)
    open_tab(page, "escrow")
    expect(action_form(page, "Analyze the escrow account now")).to_have_count(0)


def payoff_figures(page: Page) -> dict[str, Decimal]:
    """Return each line of the payoff table as shown (the suspense line is negative)."""
    figures = {}
    for row in page.locator("table.payoff tr").all():
        shown = row.locator("td").inner_text().replace("$", "").replace(",", "")
        figures[row.locator("th").inner_text()] = Decimal(shown)
    return figures


def next_daytime_in_the_us() -> datetime:
    """Return the next 17:00 UTC (morning to noon across the US): outside every US borrower's quiet hours."""
    now = datetime.now(UTC)
    at = now.replace(hour=17, minute=0, second=0, microsecond=0)
    return at if at > now else at + timedelta(days=1)


def test_a_supervisor_approves_a_repayment_plan_and_the_loan_shows_it(browsing: Browsing, page: Page) -> None:
    browsing.log_in(page, "sue")
    open_loan(page, PLAN_LOAN, "workouts")
    form = action_form(page, "Record a workout decision")

    form.get_by_label("Option").select_option(label="Repayment plan")
    form.get_by_label("Decision").select_option(label="Approve")
    form.get_by_label("Months (plan or deferral)").fill("6")
    form.get_by_label("Reason").fill("Back at work since February; can pay the arrears over six months")
    form.get_by_label(re.compile("has not verified on the channel the notice goes to")).check()  # the plan's figures
    form.get_by_role("button", name="Record decision").click()
    confirm(page, needs_approval=True)
    expect(page.get_by_role("status").filter(has_text="Sent for approval")).to_be_visible()
    approve_as(browsing, "ada", PLAN_LOAN)

    page.reload()
    workouts = page.get_by_role("region", name="Workouts")
    expect(workouts.get_by_role("row").filter(has_text="Repayment plan")).to_contain_text("ada")


def test_every_field_of_the_loan_page_has_its_own_label(browsing: Browsing, page: Page) -> None:
    """The loan page has several forms with like-named fields: no id may repeat, or a label names another's field."""
    browsing.log_in(page, "sue")
    open_loan(page, "LN-1007", "workouts")

    duplicated = page.evaluate(
        "() => { const seen = {}; document.querySelectorAll('[id]').forEach(e => seen[e.id] = (seen[e.id] || 0) + 1);"
        " return Object.keys(seen).filter(id => seen[id] > 1); }"
    )
    assert duplicated == []
    months = action_form(page, "Record a workout decision").get_by_label("Months (plan or deferral)")
    expect(months).to_have_count(1)
