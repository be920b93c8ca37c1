"""The specialists' console (Flask): one blueprint per area, behind login, in the specialist's language.

`create_app` is the composition root: nothing is created at import time. See docs/console.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from importlib.metadata import entry_points
from typing import Any

from flask import Flask, redirect, url_for
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers.response import Response

from console import (
    ach,
    admin,
    approvals,
    audit,
    auth,
    borrowers,
    conversations,
    desk,
    home,
    i18n,
    limits,
    loans,
    observability,
    queue,
    reports,
    search,
    worklists,
)
from console.navigation import navigation, read_page_header
from console.security import (
    STRICT_TRANSPORT_SECURITY,
    add_security_headers,
    check_access,
    protect_forms,
    public,
)
from servicing.config import Settings
from servicing.operations.logs import configure_logging
from servicing.store.db import make_engine, make_session_factory

SESSION_LIFETIME = timedelta(minutes=30)
LOGIN_WINDOW_SECONDS = 300


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Create the console app; `config` overrides settings (tests pass a database URL)."""
    app = Flask(__name__)
    settings = Settings.from_env()
    https = bool(settings.public_url and settings.public_url.startswith("https://"))
    app.config.update(
        SECRET_KEY=settings.secret_key,
        DATABASE_URL=settings.database_url,
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
        SESSION_REFRESH_EACH_REQUEST=True,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=https,
        STRICT_TRANSPORT_SECURITY=STRICT_TRANSPORT_SECURITY if https else None,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session, which times out on its own
        LOGIN_ATTEMPTS_PER_WINDOW=settings.login_attempts,
        LOGIN_WINDOW_SECONDS=LOGIN_WINDOW_SECONDS,
        # Flask-Limiter: counts shared by every worker on Redis, else this process's memory (docs/console.md)
        RATELIMIT_STORAGE_URI=settings.redis_url or "memory://",
        RATELIMIT_KEY_PREFIX=settings.rate_limit_prefix,
        RATELIMIT_STRATEGY="moving-window",
        RATELIMIT_SWALLOW_ERRORS=True,
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        DATABASE_LOCK_WAIT_SECONDS=limits.LOCK_WAIT_SECONDS,
    )
    if config:
        app.config.update(config)
    configure_logging(settings.log_format)
    observability.init_app(app, app.config.get("METRICS_TOKEN", settings.metrics_token))
    limits.init_app(app)
    engine = make_engine(app.config["DATABASE_URL"], lock_wait=app.config["DATABASE_LOCK_WAIT_SECONDS"])
    sessions = make_session_factory(engine)
    app.extensions["loanline.sessions"] = sessions
    app.extensions["loanline.settings"] = settings
    auth.login_manager.init_app(app)
    i18n.init_app(app, settings.instance_path)
    for area in (
        auth,
        home,
        queue,
        conversations,
        desk,
        loans,
        ach,
        approvals,
        worklists,
        reports,
        audit,
        admin,
        search,
        borrowers,
    ):
        app.register_blueprint(area.bp)
    register_channel_blueprints(app)
    auth.limit_login_attempts(app)
    protect_forms(app)
    app.before_request(check_access)
    app.before_request(auth.end_moved_session)
    app.before_request(auth.expire_idle_session)
    app.before_request(auth.require_new_password)
    app.before_request(read_page_header)
    app.after_request(add_security_headers)
    app.context_processor(navigation)

    @app.get("/healthz")
    @public
    def healthz() -> tuple[str, int]:
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return "database unreachable\n", 503
        return "ok\n", 200

    @app.get("/")
    @public
    def root() -> Response:
        return redirect(url_for("home.index"))

    if settings.proxy_hops:  # behind trusted proxies: the client's address and the public scheme and host
        hops = settings.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    return app


def register_channel_blueprints(app: Flask) -> None:
    """Mount the web endpoints other packages declare (SMS and Telegram webhooks, the simulator).

    They are found through the `loanline.blueprints` entry points in the package metadata, so the
    console never imports the bot: each entry point names a `register(app)` function.
    """
    for entry in entry_points(group="loanline.blueprints"):
        register: Callable[[Flask], None] = entry.load()
        register(app)
