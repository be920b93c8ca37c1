"""The specialists' console (Flask). For now: a placeholder page with the portfolio at a glance, and /healthz."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from importlib.metadata import entry_points
from typing import Any

from flask import Flask, redirect, render_template, url_for
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers.response import Response

from servicing.config import Settings
from servicing.db import make_engine, make_session_factory
from servicing.models import Case, Loan
from servicing.reports import delinquency_report
from servicing.store import business_date


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Create the console app; `config` overrides settings (tests pass a database URL)."""
    app = Flask(__name__)
    settings = Settings.from_env()
    app.config.update(SECRET_KEY=settings.secret_key, DATABASE_URL=settings.database_url)
    if config:
        app.config.update(config)
    engine = make_engine(app.config["DATABASE_URL"])
    sessions = make_session_factory(engine)
    app.extensions["loanline.sessions"] = sessions
    app.extensions["loanline.settings"] = settings
    register_channel_blueprints(app)

    @app.get("/healthz")
    def healthz() -> tuple[str, int]:
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return "database unreachable\n", 503
        return "ok\n", 200

    @app.get("/")
    def root() -> Response:
        return redirect(url_for("console_home"))

    @app.get("/console/")
    def console_home() -> str:
        with sessions() as session:
            loans = session.scalar(select(func.count()).select_from(Loan)) or 0
            open_cases = session.scalar(select(func.count()).select_from(Case).where(Case.closed_on.is_(None))) or 0
            buckets = delinquency_report(session, business_date(session) or settings_today())
            day = business_date(session)
        return render_template("home.html", loans=loans, open_cases=open_cases, buckets=buckets, business_date=day)

    return app


def register_channel_blueprints(app: Flask) -> None:
    """Mount the web endpoints other packages declare (SMS and Telegram webhooks, the simulator).

    They are found through the `loanline.blueprints` entry points in the package metadata, so the
    console never imports the bot: each entry point names a `register(app)` function.
    """
    for entry in entry_points(group="loanline.blueprints"):
        register: Callable[[Flask], None] = entry.load()
        register(app)


def settings_today() -> date:
    """Return today's date (used before end of day has ever run)."""
    return date.today()
