"""The other console pages in a real browser: worklists, reports (charts, CSV), and every page under the CSP."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import Browsing, screenshot

NAV = ("Home", "Queue", "My conversations", "Loans", "Worklists", "Reports", "Audit log")


def test_the_worklists_show_the_overdue_information_request(browsing: Browsing, page: Page) -> None:
    browsing.log_in(page, "sam")
    page.get_by_role("navigation").get_by_role("link", name="Worklists").click()

    expect(page.get_by_role("heading", name="Worklists", level=1)).to_be_visible()
    requests = page.get_by_role("row").filter(has=page.get_by_role("link", name="Information requests"))
    expect(requests).to_have_class(re.compile(r"\boverdue\b"))  # docs/demo.md: LN-2006's request is past due
    screenshot(page, "worklists")

    requests.get_by_role("link", name="Information requests").click()
    case = page.get_by_role("row").filter(has=page.get_by_role("link", name="LN-2006"))
    expect(case.first).to_contain_text("Overdue")
    case.first.get_by_role("link").first.click()
    expect(page.get_by_role("heading", name="Deadlines")).to_be_visible()
    expect(page.get_by_role("link", name="LN-2006")).to_be_visible()
    screenshot(page, "case")

    acknowledge = page.get_by_role("group", name="Acknowledge")
    acknowledge.get_by_label("Note").fill("Acknowledged by letter today; the history goes out this week")
    acknowledge.get_by_role("button", name="Acknowledge").click()

    expect(page.get_by_role("status").filter(has_text="Decision recorded on")).to_be_visible()
    expect(page.get_by_role("group", name="Acknowledge")).to_have_count(0)
    expect(page.locator("table.history")).to_contain_text("sam")


def test_a_report_draws_its_chart_and_downloads_as_csv(browsing: Browsing, page: Page, tmp_path: Path) -> None:
    browsing.log_in(page, "sam")
    page.get_by_role("navigation").get_by_role("link", name="Reports").click()
    page.get_by_role("link", name="Delinquency buckets").click()

    expect(page.get_by_role("heading", name="Delinquency buckets", level=1)).to_be_visible()
    expect(page.get_by_role("img").first).to_be_visible()  # an inline SVG chart
    rows = page.locator("table.report tbody tr")
    expect(rows.first).to_contain_text(re.compile(r"current|\d+"))
    screenshot(page, "report")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    saved = tmp_path / "delinquency.csv"
    download.value.save_as(saved)
    table = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    assert table and {"bucket", "currency", "loans"} <= set(table[0])
    assert sum(int(row["loans"]) for row in table) == 69  # docs/demo.md: 70 loans, LN-1011 paid off


def test_every_page_in_the_navigation_obeys_the_content_security_policy(browsing: Browsing, page: Page) -> None:
    browsing.log_in(page, "sue")
    seen = []
    for label in NAV:
        link = re.compile(rf"^{re.escape(label)}( \(\d+\))?$")  # a counted link says how many, as "(2)"
        page.get_by_role("navigation").get_by_role("link", name=link).click()
        expect(page.get_by_role("navigation").get_by_role("link", name=link)).to_have_attribute("aria-current", "page")
        page.wait_for_load_state("load")  # CSP violations are reported while the page is parsed
        seen.append(page.url)

    assert len(set(seen)) == len(NAV)
    assert not browsing.report.problems(), browsing.report.problems()


def test_every_report_opens_and_the_modification_calculator_works_it_out(browsing: Browsing, page: Page) -> None:
    browsing.log_in(page, "sue")
    page.goto(browsing.console.page_url("/console/reports/"))
    reports = page.locator("ul.reports li").get_by_role("link").filter(has_not_text="CSV")
    titles = reports.all_inner_texts()
    assert len(titles) >= 5

    for title in titles:
        page.goto(browsing.console.page_url("/console/reports/"))
        page.get_by_role("main").get_by_role("link", name=title, exact=True).click()
        expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()
    page.goto(browsing.console.page_url("/console/loans/LN-1007"))
    page.get_by_role("link", name="Modification calculator").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("LN-1007")
    page.get_by_label("Modification rate (0.045 for 4.5%)").fill("0.04")
    page.get_by_role("button", name="Work it out").click()
    expect(page.get_by_text(re.compile(r"Payment before: \$[\d,]+\.\d\d"))).to_be_visible()
    expect(page.locator("table.waterfall tbody tr").first).to_be_visible()
    assert not browsing.report.problems(), browsing.report.problems()
