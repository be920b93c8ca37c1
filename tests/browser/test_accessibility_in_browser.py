"""Every console page passes axe-core with no serious or critical violation, at desktop and tablet widths.

axe-core is the npm package (`make browser-deps` installs it in test-artifacts/node); it is injected into each
page by Playwright. The console's CSP rightly refuses an injected script, so these pages are opened in a context
that bypasses the CSP (the CSP itself is checked by every other browser test). The pages are found by crawling
the console's links from home as a supervisor, one page per kind of URL, so a page added later is checked too;
a conversation the supervisor holds (its reply form and macros) and the login page are added on purpose.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from urllib.parse import urljoin, urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import REPO, LiveConsole, screenshot

AXE = REPO / "test-artifacts" / "node" / "node_modules" / "axe-core" / "axe.min.js"
FAILING_IMPACTS = ("serious", "critical")
MAX_PAGES = 80
# Not pages: downloads, JSON polls, attachments, documents, leaving the console.
NOT_PAGES = re.compile(r"format=csv|/messages|/attachments/|/documents/\d+|/logout|\.pdf$|/static/")
EVERY_AREA = ("/console/", "/console/queue/", "/console/queue/mine", "/console/conversations/N",
              "/console/loans/", "/console/loans/L", "/console/worklists/", "/console/worklists/cases/C",
              "/console/reports/", "/console/reports/W", "/console/audit/", "/console/loans/L/ach", "/console/macros/",
              "/console/notifications/")  # fmt: skip
SUSAN, SUSAN_NAME = "+12065550107", "Susan Patel"  # LN-1008 (en_US, Seattle): see docs/demo.md
WIDTHS = {"desktop": {"width": 1366, "height": 768}, "tablet": {"width": 768, "height": 1024}}


def kind_of(url: str) -> str:
    """Return the kind of page a URL is: ids, loan numbers and case references become placeholders."""
    parts = urlsplit(url)
    path = re.sub(r"/cases/[^/]+", "/cases/C", parts.path)
    path = re.sub(r"/\d+(?=/|$)", "/N", path)
    path = re.sub(r"/LN-\d+", "/L", path)
    path = re.sub(r"/reports/[a-z_]+(?=/|$)", "/reports/W", path)
    return path


def violations(page: Page) -> list[str]:
    """Run axe on the page; return its serious and critical violations, one line each."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [
        f"{kind_of(page.url)}: {v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(json.dumps(node["target"]) for node in v["nodes"][:3])
        for v in found
        if v["impact"] in FAILING_IMPACTS
    ]


@pytest.fixture
def open_csp(browser: Browser, live_console: LiveConsole) -> Iterator[BrowserContext]:
    """A context that lets the injected axe script run (the CSP would refuse it)."""
    if not AXE.exists():
        pytest.skip(f"no axe-core at {AXE}: run `make browser-deps` (npm install axe-core)")
    context = browser.new_context(base_url=live_console.url, locale="en-US", bypass_csp=True,
                                  viewport=WIDTHS["desktop"])  # fmt: skip
    yield context
    context.close()


def log_in(page: Page, console: LiveConsole, username: str) -> None:
    known = console.logins.get(username)
    if known:
        page.context.add_cookies([{"name": c["name"], "value": c["value"], "url": console.url} for c in known])
        page.goto(console.page_url("/console/"))
        if page.url.endswith("/console/"):
            return
    page.goto(console.page_url("/console/login"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(console.passwords[username])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/console/$"))
    console.logins[username] = page.context.cookies()


def crawl(page: Page, console: LiveConsole, start: list[str]) -> dict[str, str]:
    """Visit the console's pages from `start`, one per kind; return {kind: url} of the HTML pages seen."""
    seen: dict[str, str] = {}
    waiting = list(start)
    while waiting and len(seen) < MAX_PAGES:
        url = waiting.pop(0)
        kind = kind_of(url)
        if kind in seen or NOT_PAGES.search(url) or not urlsplit(url).path.startswith("/console"):
            continue
        response = page.goto(url)
        if response is not None and response.status == 503:  # SQLite busy on a loaded machine: as asked, retry
            page.wait_for_timeout(1000 * int(response.headers.get("retry-after") or "5"))
            response = page.goto(url)
        if response is None or "text/html" not in (response.headers.get("content-type") or ""):
            continue
        assert response.status < 500, f"{url} answered {response.status}"
        seen[kind] = url
        for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))"):
            absolute = urljoin(url, href).split("#")[0]
            if urlsplit(absolute).netloc == urlsplit(console.url).netloc:
                waiting.append(absolute)
    return seen


def test_every_console_page_has_no_serious_or_critical_accessibility_violation(
    open_csp: BrowserContext, live_console: LiveConsole
) -> None:
    page = open_csp.new_page()
    page.goto(live_console.page_url("/console/login"))
    problems = violations(page)
    screenshot(page, "a11y-login")
    log_in(page, live_console, "sue")
    live_console.text_from_borrower(SUSAN, "AGENT")  # a conversation of this test's own to hold
    page.goto(live_console.page_url("/console/queue/"))
    page.get_by_role("row").filter(has=page.get_by_role("link", name=SUSAN_NAME)).get_by_role(
        "button", name="Claim"
    ).click()
    expect(page).to_have_url(re.compile(r"/console/conversations/\d+$"))
    held = page.url

    pages = crawl(page, live_console, [live_console.page_url("/console/"), held])
    missing = [area for area in EVERY_AREA if area not in pages]
    assert not missing, f"the crawl did not reach {missing}; it saw {sorted(pages)}"
    for _kind, url in sorted(pages.items()):
        page.goto(url)
        problems += violations(page)
    page.goto(held)
    problems += violations(page)

    assert not problems, "axe-core found:\n" + "\n".join(problems)


@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_the_main_pages_fit_the_screen_at_desktop_and_tablet_width(
    open_csp: BrowserContext, live_console: LiveConsole, width: str
) -> None:
    page = open_csp.new_page()
    page.set_viewport_size(WIDTHS[width])
    log_in(page, live_console, "sue")
    for name, path in (("home", "/console/"), ("queue", "/console/queue/"), ("loan", "/console/loans/LN-1007"),
                       ("loans", "/console/loans/"), ("report", "/console/reports/queue"),
                       ("macros", "/console/macros/")):  # fmt: skip
        page.goto(live_console.page_url(path))
        overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        screenshot(page, f"{width}-{name}")
        assert overflow <= 0, f"{path} is {overflow}px wider than a {width} screen"
        assert not violations(page), path
    page.goto(live_console.page_url("/console/queue/"))
    page.locator("table.queue tbody tr a").first.click()  # a conversation: transcript and facts stack when narrow
    expect(page).to_have_url(re.compile(r"/console/conversations/\d+$"))
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    screenshot(page, f"{width}-conversation")
    assert overflow <= 0, f"a conversation is {overflow}px wider than a {width} screen"
