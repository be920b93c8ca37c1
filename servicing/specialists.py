"""Specialists: the people who log in to the console, their roles, and the lockout after failed logins.

Passwords are stored only as werkzeug hashes (scrypt) and never logged; an unknown username and a wrong
password fail identically, so a failure tells a stranger nothing about which usernames exist.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from servicing.audit import record_audit
from servicing.errors import ServicingError
from servicing.store.models import Specialist

MAX_FAILED_LOGINS = 5
LOCKED_FOR = timedelta(minutes=15)
CONSOLE_LOCALES = ("en", "es", "fr")
MIN_PASSWORD_LENGTH = 8
# Checked against when the username is unknown, so both failures cost the same time.
_DUMMY_HASH = generate_password_hash("loanline-no-such-user", method="scrypt")


class Role(StrEnum):
    """What a specialist may do; each role includes the ones before it."""

    SPECIALIST = "specialist"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        """Return the role's place in the order specialist < supervisor < admin."""
        return list(Role).index(self)

    def includes(self, other: Role) -> bool:
        """Return whether this role may do what `other` may do."""
        return self.rank >= other.rank


class SpecialistError(ServicingError):
    """A specialist account that cannot be created or changed; the reason is the message."""


class SpecialistExists(SpecialistError):
    """The username is taken."""

    def __init__(self, username: str) -> None:
        super().__init__(f"specialist {username} already exists")
        self.username = username


class LoginFailed(ServicingError):
    """Wrong username or password, or a locked or inactive account: one message for every case."""

    def __init__(self) -> None:
        super().__init__("invalid username or password")


def add_specialist(
    session: Session,
    username: str,
    password: str,
    role: Role,
    *,
    display_name: str | None = None,
    locale: str = "en",
    actor: str = "system",
) -> Specialist:
    """Create a specialist with a hashed password; refuse a taken username, a short password or an unknown locale."""
    username = username.strip().lower()
    if not username or len(username) > 64:
        raise SpecialistError("a username has 1 to 64 characters")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise SpecialistError(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    if locale not in CONSOLE_LOCALES:
        raise SpecialistError(f"locale must be one of {', '.join(CONSOLE_LOCALES)}")
    if session.scalar(select(Specialist.id).where(Specialist.username == username)) is not None:
        raise SpecialistExists(username)
    specialist = Specialist(
        username=username,
        display_name=display_name or username,
        role=Role(role).value,
        password_hash=generate_password_hash(password, method="scrypt"),
        locale=locale,
        failed_logins=0,
        active=True,
    )
    session.add(specialist)
    try:
        session.flush()
    except IntegrityError as error:  # another process took the name between the check and the insert
        raise SpecialistExists(username) from error
    record_audit(session, actor, "specialist.add", "specialist", username, {"role": specialist.role})
    return specialist


def hash_password(password: str) -> str:
    """Return the only form a password is kept in: a werkzeug scrypt hash."""
    return generate_password_hash(password, method="scrypt")


def password_matches(password_hash: str, password: str) -> bool:
    """Tell whether a password is the one a hash was made from."""
    return check_password_hash(password_hash, password)


def anyone_can_log_in(session: Session) -> bool:
    """Tell whether the console has at least one active login."""
    return session.scalar(select(Specialist.id).where(Specialist.active.is_(True)).limit(1)) is not None


def specialist_by_id(session: Session, specialist_id: int) -> Specialist | None:
    """Return an active specialist by id, or None (a deactivated account's session ends)."""
    specialist = session.get(Specialist, specialist_id)
    return specialist if specialist is not None and specialist.active else None


def is_locked(specialist: Specialist, now: datetime) -> bool:
    """Return whether failed logins have locked the account right now."""
    locked_until = specialist.locked_until
    if locked_until is None:
        return False
    return (locked_until if locked_until.tzinfo else locked_until.replace(tzinfo=UTC)) > now


def authenticate(session: Session, username: str, password: str, now: datetime, *, source: str) -> Specialist:
    """Return the specialist whose password this is, or raise LoginFailed; count failures and lock after five.

    The caller commits in both cases: a failure's count and audit entry must outlive the refusal.
    `source` (the client's address) goes into the audit entry; the password never goes anywhere, and an
    unknown username is not recorded either (it is often a password typed in the wrong field).
    """
    username = username.strip().lower()
    specialist = session.scalar(select(Specialist).where(Specialist.username == username).with_for_update())
    if specialist is None:
        check_password_hash(_DUMMY_HASH, password)
        # Not the typed name: people type their password into the username field.
        record_audit(session, "-", "login.failed", "specialist", "-", {"source": source, "why": "unknown"})
        raise LoginFailed
    if not specialist.active or is_locked(specialist, now):
        check_password_hash(_DUMMY_HASH, password)
        why = "locked" if specialist.active else "inactive"
        record_audit(session, username, "login.failed", "specialist", username, {"source": source, "why": why})
        raise LoginFailed
    if not check_password_hash(specialist.password_hash, password):
        _count_failure(session, specialist, now, source)
        raise LoginFailed
    specialist.failed_logins = 0
    specialist.locked_until = None
    specialist.last_login_at = now
    record_audit(session, username, "login", "specialist", username, {"source": source})
    return specialist


def _count_failure(session: Session, specialist: Specialist, now: datetime, source: str) -> None:
    specialist.failed_logins += 1
    detail: dict[str, object] = {"source": source, "why": "password", "failures": specialist.failed_logins}
    if specialist.failed_logins >= MAX_FAILED_LOGINS:
        specialist.locked_until = now + LOCKED_FOR
        specialist.failed_logins = 0
        detail["locked_until"] = specialist.locked_until.isoformat()
    record_audit(session, specialist.username, "login.failed", "specialist", specialist.username, detail)


def record_logout(session: Session, specialist: Specialist) -> None:
    """End every console session of the specialist (a copied cookie stops working too) and audit the logout."""
    specialist.session_generation += 1
    record_audit(session, specialist.username, "logout", "specialist", specialist.username)


DEMO_SPECIALISTS = (
    ("sam", "Sam Specialist", Role.SPECIALIST, "en"),
    ("sofia", "Sofía Supervisora", Role.SUPERVISOR, "es"),
    ("alex", "Alex Admin", Role.ADMIN, "fr"),
)

# What each demo login speaks and handles (assignment, docs/console-assignment.md).
DEMO_LANGUAGES_AND_SKILLS = {
    "sam": (["en", "es"], ["general", "loss_mitigation", "disputes", "payoffs"]),
    "sofia": (["en", "es", "pt"], ["general", "loss_mitigation"]),
    "alex": (["en", "fr", "it"], ["general", "disputes"]),
}


def demo_password(secret: str, username: str) -> str:
    """Return a demo account's password: derived from the instance secret, so `make run` can print it every time."""
    return hmac.new(secret.encode(), f"demo-specialist:{username}".encode(), hashlib.sha256).hexdigest()[:16]


def add_demo_specialists(session: Session, secret: str) -> list[tuple[str, Role, str]]:
    """Create the demo's specialist, supervisor and admin if missing; return each (username, role, password)."""
    logins = []
    for username, name, role, locale in DEMO_SPECIALISTS:
        password = demo_password(secret, username)
        if session.scalar(select(Specialist.id).where(Specialist.username == username)) is None:
            added = add_specialist(session, username, password, role, display_name=name, locale=locale, actor="demo")
            added.languages, added.skills = DEMO_LANGUAGES_AND_SKILLS[username]
        logins.append((username, role, password))
    return logins
