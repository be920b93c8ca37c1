"""Who may see what in the console: login, roles, the audit of borrower data, CSRF exemptions, headers.

Every console view declares its rule with `@requires_role(...)` or `@public`; `check_access` (run before
every request) refuses anything under /console that declares neither, so a forgotten decorator fails closed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Blueprint, Flask, abort, current_app, request
from flask.typing import ResponseReturnValue
from flask_login import UserMixin, current_user
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.wrappers import Response

from servicing.audit import record_audit
from servicing.specialists import Role
from servicing.store.models import Specialist

F = TypeVar("F", bound=Callable[..., Any])

CONSOLE_PREFIX = "/console"
# Blueprints mounted from entry points that authenticate by signature (Twilio, Telegram), not by a session.
CSRF_EXEMPT_BLUEPRINTS = frozenset({"sms", "telegram"})
CSRF_EXEMPT_ATTRIBUTE = "loanline_csrf_exempt"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
        "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# Pages, downloads and webhook answers carry borrower data: no browser or proxy may keep a copy. Static files may.
NO_STORE = "no-store"
# Sent when the public URL is https: browsers then refuse plain http to this host for a year.
STRICT_TRANSPORT_SECURITY = "max-age=31536000"


@dataclass(frozen=True)
class ConsoleUser(UserMixin):  # type: ignore[misc]
    """The logged-in specialist as Flask-Login sees it: no password hash, nothing mutable."""

    id: int
    username: str
    display_name: str
    role: Role
    locale: str
    presence: str = "offline"
    must_change_password: bool = False

    @classmethod
    def of(cls, specialist: Specialist) -> ConsoleUser:
        """Return the console's view of a specialist row."""
        return cls(
            specialist.id, specialist.username, specialist.display_name, Role(specialist.role), specialist.locale,
            specialist.presence, specialist.must_change_password,
        )  # fmt: skip

    def get_id(self) -> str:
        """Return the id Flask-Login keeps in the session."""
        return str(self.id)


def sessions() -> sessionmaker[Session]:
    """Return the app's database session factory."""
    return cast("sessionmaker[Session]", current_app.extensions["loanline.sessions"])


def user() -> ConsoleUser:
    """Return the logged-in specialist (only inside a view that requires a role)."""
    return cast(ConsoleUser, current_user._get_current_object())


def public(view: F) -> F:
    """Mark a view as open to anyone (the login page): the only way out of the login requirement."""
    view.loanline_public = True  # type: ignore[attr-defined]
    return view


def requires_role(role: Role | str) -> Callable[[F], F]:
    """Require a logged-in specialist whose role includes `role`; others get 403, strangers the login page."""
    needed = Role(role)

    def decorate(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
            if not user().role.includes(needed):
                abort(403)
            return view(*args, **kwargs)

        guarded.required_role = needed  # type: ignore[attr-defined]
        return cast(F, guarded)

    return decorate


def audits_view(subject_type: str, id_argument: str | None = None) -> Callable[[F], F]:
    """Write a `view` audit entry for every successful response of a page that shows borrower data.

    `id_argument` names the URL argument holding the subject's id (a loan number, a conversation id).
    """

    def decorate(view: F) -> F:
        @wraps(view)
        def audited(*args: Any, **kwargs: Any) -> Any:
            result = view(*args, **kwargs)
            response = current_app.make_response(result)
            if response.status_code < 400:
                subject_id = str(kwargs.get(id_argument, "-")) if id_argument else "-"
                with sessions().begin() as session:
                    record_audit(session, user().username, "view", subject_type, subject_id,
                                 {"path": request.path})  # fmt: skip
            return response

        audited.audit_subject = subject_type  # type: ignore[attr-defined]
        for attribute in ("required_role", "loanline_public"):
            if hasattr(view, attribute):
                setattr(audited, attribute, getattr(view, attribute))
        return cast(F, audited)

    return decorate


def check_access() -> ResponseReturnValue | None:
    """Refuse a console request whose view declares neither a role nor `@public` (fail closed)."""
    if not request.path.startswith(CONSOLE_PREFIX) or request.endpoint is None:
        return None
    view = current_app.view_functions.get(request.endpoint)
    if view is None or request.endpoint == "static" or getattr(view, "loanline_public", False):
        return None
    if not hasattr(view, "required_role"):
        abort(403)
    return None


def add_security_headers(response: Response) -> Response:
    """Send the security headers with every response, the webhooks' included; forbid caching all but static files."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if not is_static_file():
        response.headers["Cache-Control"] = NO_STORE
    if current_app.config.get("STRICT_TRANSPORT_SECURITY"):
        response.headers["Strict-Transport-Security"] = current_app.config["STRICT_TRANSPORT_SECURITY"]
    return response


def is_static_file() -> bool:
    """Tell whether the request is for a static file (the app's or a blueprint's), which browsers may cache."""
    endpoint = request.endpoint or ""
    return endpoint == "static" or endpoint.endswith(".static")


def protect_forms(app: Flask) -> CSRFProtect:
    """Require the CSRF token on every POST, except to the blueprints that authenticate by signature."""
    csrf = CSRFProtect(app)  # one per app: exemptions are kept on the extension object
    exempt_signed_blueprints(app, csrf)
    return csrf


def exempt_signed_blueprints(app: Flask, csrf: CSRFProtect) -> None:
    """Exempt from CSRF the blueprints that authenticate by signature: by name, or marked by themselves.

    A channel blueprint marks itself with `bp.loanline_csrf_exempt = True` before `register(app)` mounts it.
    """
    for name, blueprint in app.blueprints.items():
        if name in CSRF_EXEMPT_BLUEPRINTS or getattr(blueprint, CSRF_EXEMPT_ATTRIBUTE, False):
            csrf.exempt(cast(Blueprint, blueprint))
