"""Every console route behind login and its role, CSRF on every form, security headers, the interface's language."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from flask import Blueprint, Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

import console
from console.i18n import money
from console.security import CONSOLE_PREFIX, SECURITY_HEADERS, requires_role
from servicing.specialists import Role, add_specialist
from tests.integration.test_console_auth import create_specialist, csrf_token, dispose, log_in, make_console

# Endpoints anyone may reach: the login page, static files, the health check, the channels' signed webhooks, and
# the documents' single-use download links (the token in the URL is the secret), the readiness check, and the
# metrics (guarded by their own bearer token or the loopback address: console/observability.py).
PUBLIC_ENDPOINTS = {"auth.login", "static", "healthz", "readyz", "metrics", "root"}
PUBLIC_BLUEPRINTS = {"sms", "telegram", "simulator", "links"}
ARGUMENTS = {"int": 1, "integer": 1, "default": "x", "string": "x", "path": "x"}


def is_public(rule: Rule) -> bool:
    """Return whether a rule is on the explicit allow-list of public endpoints."""
    return rule.endpoint in PUBLIC_ENDPOINTS or rule.endpoint.split(".")[0] in PUBLIC_BLUEPRINTS


def console_rules(app: Flask) -> list[Rule]:
    """Return every rule under /console that is not on the allow-list."""
    return [rule for rule in app.url_map.iter_rules() if rule.rule.startswith(CONSOLE_PREFIX) and not is_public(rule)]


def unguarded(app: Flask) -> list[str]:
    """Return the endpoints outside the allow-list whose view declares no role (a forgotten check)."""
    rules = [rule for rule in app.url_map.iter_rules() if not is_public(rule)]
    return sorted(rule.endpoint for rule in rules if not hasattr(app.view_functions[rule.endpoint], "required_role"))


def required_role(app: Flask, rule: Rule) -> Role:
    """Return the least role a rule's view admits."""
    role: Role = app.view_functions[rule.endpoint].required_role
    return role


def url_of(rule: Rule) -> str:
    """Return a URL matching the rule, with a placeholder for each argument."""
    values = {name: ARGUMENTS.get(type(rule._converters[name]).__name__.removesuffix("Converter").lower(), "x")
              for name in rule.arguments}  # fmt: skip
    built = rule.build(values, append_unknown=False)
    assert built is not None
    return built[1]


def request(client: FlaskClient, rule: Rule, token: str) -> Any:
    """Call a rule with its first method, a POST carrying a valid CSRF token."""
    method = "GET" if "GET" in (rule.methods or set()) else sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})[0]
    return client.open(url_of(rule), method=method, data={"csrf_token": token} if method != "GET" else None)


@pytest.fixture
def app(database_url: str, cli_env: dict[str, str]) -> Iterator[Flask]:
    app = make_console(database_url)
    for role in Role:
        create_specialist(app, role.value, role)
    yield app
    dispose(app)


def test_every_route_outside_the_allow_list_declares_a_role(app: Flask) -> None:
    assert unguarded(app) == []
    assert console_rules(app), "the console has no routes?"


def test_every_console_route_sends_strangers_to_the_login_page(app: Flask) -> None:
    client = app.test_client()
    token = csrf_token(client)
    for rule in console_rules(app):
        response = request(client, rule, token)
        assert response.status_code == 302, rule.rule
        assert response.headers["Location"].startswith("/console/login"), rule.rule


@pytest.mark.parametrize("role", list(Role))
def test_every_console_route_refuses_roles_below_its_own(app: Flask, role: Role) -> None:
    client = app.test_client()
    log_in(client, role.value)
    token = csrf_token(client, "/console/")
    for rule in console_rules(app):
        if rule.endpoint == "auth.logout":
            continue  # it would end the session the loop runs in
        response = request(client, rule, token)
        if role.includes(required_role(app, rule)):
            assert response.status_code != 403, rule.rule
        else:
            assert response.status_code == 403, rule.rule


def guarded_extra_routes(app: Flask) -> None:
    """Add a supervisor page and a page someone forgot to guard, as a later change might."""
    extra = Blueprint("extra", __name__, url_prefix="/console/extra")

    @extra.get("/report")
    @requires_role(Role.SUPERVISOR)
    def report() -> str:
        return "figures"

    @extra.get("/forgot")
    def forgot() -> str:
        return "borrower data"

    app.register_blueprint(extra)


def test_a_new_route_without_a_check_fails_the_table_and_is_refused_anyway(
    database_url: str, cli_env: dict[str, str]
) -> None:
    app = make_console(database_url)
    try:
        guarded_extra_routes(app)
        create_specialist(app, "sam", Role.SPECIALIST)
        create_specialist(app, "sue", Role.SUPERVISOR)
        assert unguarded(app) == ["extra.forgot"]
        specialist, supervisor = app.test_client(), app.test_client()
        log_in(specialist, "sam")
        log_in(supervisor, "sue")
        assert app.test_client().get("/console/extra/report").status_code == 302
        assert specialist.get("/console/extra/report").status_code == 403
        assert supervisor.get("/console/extra/report").get_data(as_text=True) == "figures"
        assert supervisor.get("/console/extra/forgot").status_code == 403  # fails closed
    finally:
        dispose(app)


# -- CSRF ---------------------------------------------------------------------------------------------------


def test_a_login_without_the_csrf_token_is_refused(app: Flask) -> None:
    response = app.test_client().post("/console/login", data={"username": "specialist", "password": "x" * 10})
    assert response.status_code == 400


def test_a_logout_without_the_csrf_token_is_refused(app: Flask) -> None:
    client = app.test_client()
    log_in(client, "specialist")
    assert client.post("/console/logout").status_code == 400
    assert client.get("/console/").status_code == 200


def fake_channel_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    """Declare three channel blueprints: exempt by name, exempt by their own mark, and an ordinary one."""

    def blueprint(name: str, *, mark: bool = False) -> Callable[[Flask], None]:
        bp = Blueprint(name, __name__, url_prefix=f"/{name}")
        bp.add_url_rule("/hook", f"{name}_hook", lambda: "accepted", methods=["POST"])
        if mark:
            bp.loanline_csrf_exempt = True  # type: ignore[attr-defined]
        return lambda app: app.register_blueprint(bp)

    class Entry:
        def __init__(self, register: Callable[[Flask], None]) -> None:
            self.register = register

        def load(self) -> Callable[[Flask], None]:
            return self.register

    entries = [Entry(blueprint("telegram")), Entry(blueprint("whatsapp", mark=True)), Entry(blueprint("widget"))]
    monkeypatch.setattr(console, "entry_points", lambda group: entries)


def test_signed_webhooks_are_exempt_from_csrf_and_nothing_else(
    database_url: str, cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_channel_entry_points(monkeypatch)
    app = make_console(database_url)
    try:
        client = app.test_client()
        assert client.post("/telegram/hook").get_data(as_text=True) == "accepted"
        assert client.post("/whatsapp/hook").get_data(as_text=True) == "accepted"
        assert client.post("/widget/hook").status_code == 400
    finally:
        dispose(app)


def test_the_sms_webhook_from_the_entry_point_is_exempt(app: Flask) -> None:
    if "sms" not in app.blueprints:
        pytest.skip("the sms channel is not installed")
    response = app.test_client().post("/sms/twilio", data={"Body": "hi"})
    assert response.status_code == 403  # refused by the Twilio signature check, not by CSRF (400)
    assert response.get_data(as_text=True) == "invalid signature\n"


# -- headers, escaping, language ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/console/login", "/console/", "/healthz", "/console/no-such-page"])
def test_every_response_carries_the_security_headers(app: Flask, path: str) -> None:
    response = app.test_client().get(path)
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]


def test_every_console_page_and_download_is_sent_with_no_store_and_static_files_may_be_cached(app: Flask) -> None:
    client = app.test_client()
    log_in(client, "admin")
    pages = [url_of(rule) for rule in console_rules(app) if "GET" in (rule.methods or set())]
    downloads = ["/console/reports/payments?format=csv", "/console/audit/?format=csv"]
    for path in ["/console/login", *pages, *downloads]:
        response = client.get(path)
        assert response.headers.get("Cache-Control") == "no-store", (path, response.status_code)
    assert client.get("/console/reports/payments?format=csv").mimetype == "text/csv"
    stylesheet = client.get("/static/console.css")
    stylesheet.close()
    assert stylesheet.status_code == 200
    assert "no-store" not in stylesheet.headers.get("Cache-Control", "")


def test_hsts_is_sent_only_when_the_public_url_is_https(
    database_url: str, cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for public_url, expected in [("https://loans.example.com", "max-age=31536000"), ("http://10.0.0.5:8080", None),
                                 ("", None)]:  # fmt: skip
        monkeypatch.setenv("LOANLINE_PUBLIC_URL", public_url)
        app = make_console(database_url)
        try:
            for path in ("/console/login", "/healthz"):
                assert app.test_client().get(path).headers.get("Strict-Transport-Security") == expected, public_url
        finally:
            dispose(app)


def test_pages_have_no_inline_scripts_or_styles(app: Flask) -> None:
    client = app.test_client()
    log_in(client, "specialist")
    for path in ("/console/login", "/console/"):
        page = client.get(path).get_data(as_text=True)
        assert "<script" not in page
        assert "style=" not in page
        assert "<style" not in page


def test_names_on_pages_are_escaped(database_url: str, cli_env: dict[str, str]) -> None:
    app = make_console(database_url)
    try:
        with app.extensions["loanline.sessions"]() as session:
            add_specialist(session, "eve", "password123", Role.SPECIALIST, display_name="<script>alert(1)</script>")
            session.commit()
        client = app.test_client()
        log_in(client, "eve", "password123")
        page = client.get("/console/").get_data(as_text=True)
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    finally:
        dispose(app)


@pytest.mark.parametrize(
    ("locale", "words"),
    [
        ("en", ["Log out", "Home", "Delinquency buckets", '<html lang="en">']),
        ("es", ["Cerrar sesión", "Inicio", "Tramos de morosidad", '<html lang="es">']),
        ("fr", ["Se déconnecter", "Accueil", "impayés", '<html lang="fr">']),
    ],
)
def test_the_interface_speaks_each_specialists_language(
    database_url: str, cli_env: dict[str, str], locale: str, words: list[str]
) -> None:
    app = make_console(database_url)
    try:
        create_specialist(app, f"user-{locale}", locale=locale)
        client = app.test_client()
        log_in(client, f"user-{locale}")
        page = client.get("/console/", headers={"Accept-Language": "de"}).get_data(as_text=True)
        for word in words:
            assert word in page
    finally:
        dispose(app)


def test_the_login_page_follows_the_browsers_language(app: Flask) -> None:
    client = app.test_client()
    assert "Se connecter" in client.get("/console/login", headers={"Accept-Language": "fr-CA,fr;q=0.9"}).get_data(
        as_text=True
    )
    assert "Iniciar sesión" in client.get("/console/login", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "Log in" in client.get("/console/login", headers={"Accept-Language": "de"}).get_data(as_text=True)


def test_the_home_page_shows_the_queue_and_the_buckets(app: Flask) -> None:
    client = app.test_client()
    log_in(client, "specialist")
    page = client.get("/console/").get_data(as_text=True)
    assert "Waiting in the queue" in page
    assert "Delinquency buckets" in page


def test_importing_the_console_creates_nothing(tmp_path: Path) -> None:
    probe = (
        "import gc, console, console.auth, console.home, console.security\n"
        "from flask import Flask\n"
        "from sqlalchemy.engine import Engine\n"
        "assert not [o for o in gc.get_objects() if isinstance(o, (Flask, Engine))]\n"
    )
    env = {**os.environ, "LOANLINE_INSTANCE_PATH": str(tmp_path / "instance")}
    subprocess.run([sys.executable, "-c", probe], check=True, env=env)
    assert not (tmp_path / "instance").exists()


def test_a_supervisor_reads_the_audit_log_filtered_by_person(app: Flask) -> None:
    client = app.test_client()
    log_in(client, "specialist", "not the password")
    log_in(client, "supervisor")
    page = client.get("/console/audit/?actor=specialist").get_data(as_text=True)
    assert "login.failed" in page
    assert "supervisor</td>" not in page
    assert "not the password" not in page
    assert "Audit log" in client.get("/console/").get_data(as_text=True)  # in the supervisor's nav


def test_a_specialist_neither_sees_nor_opens_the_audit_log(app: Flask) -> None:
    client = app.test_client()
    log_in(client, "specialist")
    assert "Audit log" not in client.get("/console/").get_data(as_text=True)
    assert client.get("/console/audit/").status_code == 403


@pytest.mark.parametrize("locale", ["es", "fr"])
def test_the_console_catalogs_translate_every_message_in_the_code(locale: str) -> None:
    root = Path(console.__file__).resolve().parent
    with (root / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    keywords = {**DEFAULT_KEYWORDS, "_l": None}
    in_code = {message for _, _, message, *_ in extract_from_dir(root.parent, method_map, options_map, keywords)}
    with (root / "translations" / locale / "LC_MESSAGES" / "console.po").open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    translated = {message.id for message in catalog if message.id and message.string and not message.fuzzy}
    assert "Log in" in in_code
    assert in_code - translated == set()


def test_amounts_are_formatted_for_the_specialists_language(app: Flask) -> None:
    with app.test_request_context(headers={"Accept-Language": "fr"}):
        assert money(Decimal("1234.5"), "EUR") == "1\u202f234,50\u00a0€"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert money(Decimal("1234.5"), "USD") == "$1,234.50"
