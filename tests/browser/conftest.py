"""The console in a real browser: `loanline run` on a demo database, driven by Debian's chromium through Playwright.

One server and one browser serve the whole package (package scope: both stop before the other tests run).
Each test gets its own browser context (its own cookies), a page that records every Content Security
Policy violation the browser reports, and a screenshot when it fails. See docs/testing-browser.md.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Cookie, Page, expect, sync_playwright
from playwright.sync_api import Response as BrowserResponse
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.channels.twilio_sender import TwilioSender
from servicing.outbox import Sender, deliver_outbox
from servicing.specialists import DEMO_SPECIALISTS, Role, add_specialist, demo_password
from servicing.store.db import make_engine, make_session_factory
from tests.conftest import SECRET
from tests.twilio_double import RecordingHttpClient

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SKIP_REASON = "no Chromium at /usr/bin/chromium: run `make browser-deps` (or `apt-get install -y chromium`)"
BROWSER_TODAY = date(2026, 3, 20)  # a Friday: the demo is anchored on it, so every run shows the same portfolio
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
STARTUP_SECONDS = 90
TIMEOUT_MS = 10_000
LOGGED_IN = re.compile(r"/console/$")
SUPERVISOR = ("sue", "Sue Supervisor")  # an English-speaking supervisor (the demo's supervisor speaks Spanish)
CHECKER = ("ada", "Ada Admin")  # an English-speaking admin: the second person of four eyes when sue is the maker

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "browser-test-token"
FROM_NUMBER = "+15550002222"


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the group
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test in this package `browser`, and skip them all when Chromium is absent.

    Under pytest-xdist (`make test`) they form one group: one worker runs them all, on one server and one chromium.
    """
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.xdist_group("browser"))
            if not CHROMIUM.exists():
                item.add_marker(pytest.mark.skip(reason=SKIP_REASON))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the test, so the page fixture knows whether to take a failure screenshot."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


# --- the server ------------------------------------------------------------------------------------------


@dataclass
class LiveConsole:
    """A running `loanline run`: its address, its database, and the demo's logins."""

    url: str
    database_url: str
    today: date
    passwords: dict[str, str]
    log_file: Path
    logins: dict[str, list[Cookie]] = field(default_factory=dict)  # each user's session cookies, once logged in
    engine: Engine | None = None

    def page_url(self, path: str) -> str:
        """Return the absolute URL of a path on the server."""
        return f"{self.url}{path}"

    def sessions(self) -> sessionmaker[Session]:
        """Return a session factory on the server's database (the test reads and delivers what the app wrote)."""
        if self.engine is None:
            self.engine = make_engine(self.database_url)
        return make_session_factory(self.engine)

    def text_from_borrower(self, phone: str, body: str) -> str:
        """Send the server an SMS from a borrower's phone, signed as Twilio signs it; return the TwiML answer."""
        url = self.page_url("/sms/twilio")
        form = {"From": phone, "To": FROM_NUMBER, "Body": body, "MessageSid": f"SM{uuid.uuid4().hex}",
                "AccountSid": ACCOUNT_SID, "NumMedia": "0"}  # fmt: skip
        signature = RequestValidator(AUTH_TOKEN).compute_signature(url, form)
        request = urllib.request.Request(url, data=urllib.parse.urlencode(form).encode(),
                                         headers={"X-Twilio-Signature": signature})  # fmt: skip
        with urllib.request.urlopen(request, timeout=30) as answer:
            return str(answer.read().decode())

    def log_tail(self, lines: int = 40) -> str:
        """Return the last lines the server printed (for failure messages)."""
        text = self.log_file.read_text(errors="replace") if self.log_file.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _server_env(instance: Path) -> dict[str, str]:
    """Return the environment of `loanline run`: a fresh SQLite instance, a known secret, a fixed today."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("LOANLINE_", "TWILIO_", "TELEGRAM_"))}
    env.update({
        "LOANLINE_DATABASE_URL": f"sqlite:///{instance / 'loanline.db'}",
        "LOANLINE_INSTANCE_PATH": str(instance),
        "LOANLINE_SECRET_KEY": SECRET,
        "LOANLINE_TODAY": BROWSER_TODAY.isoformat(),
        "LOANLINE_SIMULATOR": "1",
        # every test logs in from 127.0.0.1, and the desk's tests log people out and in: a shift's worth of logins
        "LOANLINE_LOGIN_ATTEMPTS": "100",
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,  # the SMS webhook checks signatures; no SID: the server's worker sends no SMS
        "PYTHONUNBUFFERED": "1",
        # the server runs this checkout's code, not whichever one the virtualenv's editable install points at
        # (a git worktree shares the main checkout's .venv)
        "PYTHONPATH": os.pathsep.join(filter(None, (str(REPO), os.environ.get("PYTHONPATH")))),
    })  # fmt: skip
    return env


def _loanline() -> str:
    return str(Path(sys.executable).with_name("loanline"))


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes], log_file: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"`loanline run` exited with {process.returncode}:\n{log_file.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    pytest.fail(f"`loanline run` did not answer in {STARTUP_SECONDS} s:\n{log_file.read_text(errors='replace')}")


def _add_supervisor(console: LiveConsole) -> None:
    """Add an English-speaking supervisor through the core's use case (the demo's supervisor speaks Spanish)."""
    username, name = SUPERVISOR
    console.passwords[username] = "supervisor-password-1"
    with console.sessions().begin() as session:
        add_specialist(session, username, console.passwords[username], Role.SUPERVISOR, display_name=name,
                       locale="en", actor="browser-tests")  # fmt: skip
    username, name = CHECKER
    console.passwords[username] = "checker-password-1"
    with console.sessions().begin() as session:
        add_specialist(session, username, console.passwords[username], Role.ADMIN, display_name=name,
                       locale="en", actor="browser-tests")  # fmt: skip


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)  # Ctrl-C: `loanline run` stops its worker and closes the database
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


@pytest.fixture(scope="package")
def live_console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveConsole]:
    """Load the demo and its logins (`loanline demo`), start `loanline run` on a free port; stop it afterwards.

    This is what `make run` does.
    """
    if not CHROMIUM.exists():
        pytest.skip(SKIP_REASON)
    instance = tmp_path_factory.mktemp("browser-instance")
    env = _server_env(instance)
    port = _free_port()
    log_file = instance / "loanline-run.log"
    with log_file.open("wb") as log:
        demo = subprocess.run([_loanline(), "demo"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=instance,
                              timeout=STARTUP_SECONDS, check=False)  # fmt: skip
        if demo.returncode != 0:
            pytest.fail(f"`loanline demo` exited with {demo.returncode}:\n{log_file.read_text(errors='replace')}")
        process = subprocess.Popen(
            [_loanline(), "run", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=instance,
        )  # fmt: skip
    console = LiveConsole(
        url=f"http://127.0.0.1:{port}",
        database_url=env["LOANLINE_DATABASE_URL"],
        today=BROWSER_TODAY,
        passwords={username: demo_password(SECRET, username) for username, *_ in DEMO_SPECIALISTS},
        log_file=log_file,
    )
    try:
        _wait_until_healthy(console.url, process, log_file)
        _add_supervisor(console)
        yield console
    finally:
        _stop(process)
        if console.engine is not None:
            console.engine.dispose()


# --- the borrower's side: the outbox delivered through the real Twilio client -------------------------------


@dataclass
class RecordingSender:
    """A channel without a provider here (Telegram): keeps what it was asked to send."""

    channel: str
    sent: list[tuple[str, str]] = field(default_factory=list)

    def send(self, address: str, body: str) -> str:
        """Keep the message; return a provider-like id."""
        self.sent.append((address, body))
        return f"{self.channel}-{len(self.sent)}"


@dataclass(frozen=True)
class Delivered:
    """One message that left the outbox for a borrower."""

    channel: str
    address: str
    body: str


@dataclass
class BorrowerChannels:
    """Delivers the outbox as the worker does, with the real Twilio client over a recording HTTP client."""

    sessions: sessionmaker[Session]
    twilio: RecordingHttpClient = field(
        default_factory=lambda: RecordingHttpClient(account_sid=ACCOUNT_SID, sids=lambda: f"SM{uuid.uuid4().hex}")
    )  # ids unique across fixtures: the database keeps provider ids unique
    telegram: RecordingSender = field(default_factory=lambda: RecordingSender("telegram"))

    def deliver(self) -> list[Delivered]:
        """Run outbox passes until nothing is left to send now; return everything delivered so far."""
        return self.deliver_at(None)

    def deliver_at(self, moment: datetime | None) -> list[Delivered]:
        """Deliver as a worker would at `moment` (a daytime hour sends proactive notices held for quiet hours)."""
        sms = TwilioSender(Client(ACCOUNT_SID, AUTH_TOKEN, http_client=self.twilio), FROM_NUMBER)
        senders: dict[str, Sender] = {"sms": sms, "telegram": self.telegram}
        for _ in range(20):
            report = deliver_outbox(
                self.sessions, senders, worker="browser-tests", clock=lambda: moment or datetime.now(UTC)
            )
            if not (report.sent or report.retried):
                break
        return self.delivered()

    def delivered(self) -> list[Delivered]:
        """Return every message sent: SMS as Twilio received them, then the other channels."""
        sms = [Delivered("sms", str(c["data"].get("To")), str(c["data"].get("Body"))) for c in self.twilio.calls]
        return sms + [Delivered("telegram", address, body) for address, body in self.telegram.sent]


@pytest.fixture
def borrower_channels(live_console: LiveConsole) -> BorrowerChannels:
    """Return the borrowers' channels: call `.deliver()` to send what the outbox holds."""
    return BorrowerChannels(live_console.sessions())


# --- the browser ----------------------------------------------------------------------------------------


@pytest.fixture(scope="package")
def browser(live_console: LiveConsole) -> Iterator[Browser]:
    """Launch Debian's chromium once for the package (never Playwright's own browsers)."""
    expect.set_options(timeout=TIMEOUT_MS)
    for stale in SCREENSHOTS.glob("failed-*.png"):  # the artifacts describe this run only
        stale.unlink()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@dataclass
class BrowserReport:
    """What the browser said while a test ran: Content Security Policy violations and uncaught script errors."""

    csp_violations: list[str] = field(default_factory=list)
    script_errors: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)

    def listen(self, page: Page) -> None:
        """Record this page's console errors about the CSP, its uncaught exceptions and any 5xx answer."""
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.script_errors.append(f"script error on {page.url}: {error}"))
        page.on("response", self._response)

    def problems(self) -> list[str]:
        """Return everything the browser saw go wrong."""
        return self.csp_violations + self.script_errors + self.server_errors

    def _console(self, message: ConsoleMessage) -> None:
        if "content security policy" in message.text.lower():
            self.csp_violations.append(f"CSP violation on {message.location.get('url', '?')}: {message.text}")

    def _response(self, response: BrowserResponse) -> None:
        if response.status >= 500:
            self.server_errors.append(f"HTTP {response.status} from {response.request.method} {response.url}")


@dataclass
class Browsing:
    """A test's browser context: open pages on the live console, take screenshots, log in."""

    console: LiveConsole
    context: BrowserContext
    report: BrowserReport

    def new_page(self) -> Page:
        """Open a page that reports its CSP violations."""
        page = self.context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        self.report.listen(page)
        return page

    def log_in(self, page: Page, username: str = "sam") -> None:
        """Be logged in as `username` on the home page: through the form the first time, then with its cookie.

        The console allows 10 login attempts per address in 5 minutes (docs/console.md), and every test
        comes from 127.0.0.1: so each user logs in through the form once, and later tests reuse the cookie.
        """
        known = self.console.logins.get(username)
        if known:
            self.context.add_cookies([{"name": c["name"], "value": c["value"], "url": self.console.url} for c in known])
            page.goto(self.console.page_url("/console/"))
            if LOGGED_IN.search(page.url):
                return
        self.log_in_through_the_form(page, username)
        self.console.logins[username] = self.context.cookies()

    def log_in_through_the_form(self, page: Page, username: str) -> None:
        """Log in by typing the username and password, and land on the home page."""
        page.goto(self.console.page_url("/console/login"))
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(self.console.passwords[username])
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(LOGGED_IN)


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as test-artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def browsing(browser: Browser, live_console: LiveConsole, request: pytest.FixtureRequest) -> Iterator[Browsing]:
    """A fresh context per test; afterwards, a screenshot of each page if the test failed, and no CSP violation."""
    context = browser.new_context(base_url=live_console.url, locale="en-US", viewport={"width": 1280, "height": 900})
    session = Browsing(live_console, context, BrowserReport())
    yield session
    call = getattr(request.node, "report_call", None)
    if call is not None and call.failed:
        for number, page in enumerate(context.pages):
            screenshot(page, f"failed-{request.node.name}-{number}")
        print("--- the browser reported ---", *session.report.problems(), sep="\n")  # shown with the failure
        print(f"--- the last lines `loanline run` printed ---\n{live_console.log_tail()}")
    context.close()
    problems = session.report.problems()
    if call is not None and call.passed:
        assert not problems, "the browser reported:\n" + "\n".join(problems)


@pytest.fixture
def page(browsing: Browsing) -> Page:
    """A page of the test's context."""
    return browsing.new_page()
