"""Logging in and out of the console: the login form, the lockout, the session clock and binding, the rate limit."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask import Response as FlaskResponse
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_limiter import Limiter, RequestLimit
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from console.security import ConsoleUser, public, requires_role, sessions, user
from servicing.audit import record_audit
from servicing.specialists import LoginFailed, Role, authenticate, record_logout, specialist_by_id
from servicing.staffing.accounts import choose_new_password
from servicing.staffing.presence import Presence, StaffingError, set_presence
from servicing.store.models import Specialist

bp = Blueprint("auth", __name__, url_prefix="/console")
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = _l("Please log in to see this page.")
# Flask-Login's "strong" protection only marks a permanent session stale, and all our sessions are permanent:
# `end_moved_session` binds the session to the client itself (docs/console.md, Sessions).
login_manager.session_protection = None
LAST_SEEN = "last_seen"
GENERATION = "generation"
CLIENT = "client"


class LoginForm(FlaskForm):
    """Username and password."""

    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])
    submit = SubmitField(_l("Log in"))


class NewPasswordForm(FlaskForm):
    """The password a specialist chooses after an administrator gave them a temporary one."""

    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256)])
    repeated = PasswordField(_l("New password again"), validators=[DataRequired(), Length(max=256)])
    submit = SubmitField(_l("Set my password"))


class LogoutForm(FlaskForm):
    """An empty form: logging out is a POST that carries the CSRF token."""

    submit = SubmitField(_l("Log out"))


def load_user(user_id: str) -> ConsoleUser | None:
    """Return the specialist of a session, or None when the account is gone, deactivated or logged out since.

    The session cookie is signed but kept by the browser; the generation it began in (raised by every logout)
    is what lets the server refuse a copy of it after the specialist logged out.
    """
    if not user_id.isdigit():
        return None
    with sessions()() as db:
        specialist = specialist_by_id(db, int(user_id))
        if specialist is None or session.get(GENERATION) != specialist.session_generation:
            return None
        return ConsoleUser.of(specialist)


login_manager.user_loader(load_user)


def limit_login_attempts(app: Flask) -> Limiter:
    """Limit login attempts per client address with Flask-Limiter, counted where every worker counts.

    The storage is the app's RATELIMIT_STORAGE_URI (Redis when LOANLINE_REDIS_URL is set, else this process's
    memory); the limit is LOGIN_ATTEMPTS_PER_WINDOW POSTs per LOGIN_WINDOW_SECONDS. A storage that cannot be
    reached falls back to memory rather than locking everyone out (the per-account lockout still holds).
    """
    limiter = Limiter(key_func=client_address, app=app)
    limiter.limit(login_rate, methods=["POST"], on_breach=too_many_attempts)(bp)
    limiter.exempt(logout)
    limiter.exempt(choose_password)  # a logged-in specialist's own password, not a guess at someone's login
    app.extensions["loanline.limiter"] = limiter
    return limiter


def login_rate() -> str:
    """Return the login limit in Flask-Limiter's notation, from the app's configuration."""
    config = current_app.config
    return f"{config['LOGIN_ATTEMPTS_PER_WINDOW']} per {config['LOGIN_WINDOW_SECONDS']} seconds"


def too_many_attempts(_limit: RequestLimit) -> FlaskResponse:
    """Answer a login attempt over the limit: the login page, saying so, with 429."""
    page = render_template("auth/login.html", form=LoginForm(), error=_("Too many attempts. Try again later."))
    return make_response(page, 429)


def client_address() -> str:
    """Return the client's address as this process sees it (behind a proxy, configure ProxyFix first)."""
    return request.remote_addr or "unknown"


def client_fingerprint() -> str:
    """Return what a session is bound to: a hash of the client's address and browser (its User-Agent)."""
    client = f"{client_address()}|{request.headers.get('User-Agent', '')}"
    return hashlib.sha256(client.encode()).hexdigest()


def end_moved_session() -> ResponseReturnValue | None:
    """Log out a session presented from another address or browser than it logged in from (a copied cookie).

    The specialist's other sessions are left alone: they are bound to their own clients.
    """
    if not current_user.is_authenticated:
        return None
    if hmac.compare_digest(str(session.get(CLIENT, "")), client_fingerprint()):
        return None
    with sessions().begin() as db:
        record_audit(db, user().username, "session.refused", "specialist", user().username,
                     {"why": "client changed", "source": client_address()})  # fmt: skip
    logout_user()
    session.clear()
    flash(_("Your session was used from another address or browser, so it ended. Please log in again."), "warning")
    return redirect(url_for("auth.login"))


def expire_idle_session() -> ResponseReturnValue | None:
    """Log out a specialist idle longer than PERMANENT_SESSION_LIFETIME; otherwise restart their clock."""
    if not current_user.is_authenticated:
        return None
    now = datetime.now(UTC).timestamp()
    last_seen = session.get(LAST_SEEN)
    lifetime = current_app.permanent_session_lifetime.total_seconds()
    if not isinstance(last_seen, int | float) or now - last_seen > lifetime:
        logout_user()
        session.clear()
        flash(_("Your session expired. Please log in again."), "warning")
        return redirect(url_for("auth.login", next=request.path if request.method == "GET" else None))
    session[LAST_SEEN] = now
    return None


def require_new_password() -> ResponseReturnValue | None:
    """Send a specialist who logged in with a temporary password to choose their own before anything else."""
    if not current_user.is_authenticated or not user().must_change_password:
        return None
    if not request.path.startswith("/console") or request.endpoint in ("auth.choose_password", "auth.logout"):
        return None
    if request.endpoint is None or request.endpoint == "static" or request.endpoint.endswith(".static"):
        return None
    return redirect(url_for("auth.choose_password"))


@bp.route("/password", methods=["GET", "POST"])
@requires_role(Role.SPECIALIST)
def choose_password() -> ResponseReturnValue:
    """Let a specialist whose password was reset choose a new one (typed twice, not the temporary one)."""
    form = NewPasswordForm()
    if not form.validate_on_submit():
        return render_template("auth/password.html", form=form), 400 if request.method == "POST" else 200
    try:
        with sessions().begin() as db:
            choose_new_password(db, user().id, form.password.data or "", form.repeated.data or "")
    except StaffingError as error:
        return render_template("auth/password.html", form=form, error=refusal(error)), 400
    flash(_("Your new password is set."), "success")
    return redirect(url_for("home.index"))


def refusal(error: StaffingError) -> str:
    """Return a refused password change in the specialist's language."""
    return str(_("Not changed: %(reason)s.", reason=str(error)))


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> ResponseReturnValue:
    """Show the login form; log a specialist in, or say the same thing for every kind of failure."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form), 400 if request.method == "POST" else 200
    with sessions()() as db:
        try:
            specialist = authenticate(db, form.username.data, form.password.data, datetime.now(UTC),
                                      source=client_address())  # fmt: skip
        except LoginFailed:
            db.commit()
            return render_template("auth/login.html", form=form, error=_("Invalid username or password.")), 401
        db.commit()
        console_user = ConsoleUser.of(specialist)
        generation = specialist.session_generation
    session.clear()  # a fresh session for the new identity
    session.permanent = True
    session[GENERATION] = generation
    session[CLIENT] = client_fingerprint()
    login_user(console_user)
    session[LAST_SEEN] = datetime.now(UTC).timestamp()
    return redirect(_safe_next(request.args.get("next")))


def _safe_next(target: str | None) -> str:
    """Return `next` only when it is a path inside the console, never another site."""
    if target and target.startswith("/console/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("home.index")


@bp.post("/logout")
@requires_role(Role.SPECIALIST)
def logout() -> Response:
    """Log out (a POST with the CSRF token, so another site cannot log a specialist out)."""
    with sessions()() as db:
        specialist = db.get_one(Specialist, user().id)
        record_logout(db, specialist)
        set_presence(db, specialist.username, Presence.OFFLINE, datetime.now(UTC))  # nothing new while logged out
        db.commit()
    logout_user()
    session.clear()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))
