"""The administrator's side of console accounts: create, change, deactivate, reset a password; and the
specialist's own new password after a reset. Every change is audited; no password ever is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from servicing.audit import record_audit
from servicing.specialists import (
    CONSOLE_LOCALES,
    MIN_PASSWORD_LENGTH,
    Role,
    add_specialist,
    hash_password,
    password_matches,
)
from servicing.staffing.presence import Presence, StaffingError, hand_back_unanswered
from servicing.staffing.skills import LANGUAGES, Skill
from servicing.store.models import Specialist

MAX_CAPACITY = 20
MAX_PASSWORD_LENGTH = 256


@dataclass(frozen=True)
class Profile:
    """What an administrator sets on an account besides its password."""

    display_name: str
    role: str
    locale: str
    languages: tuple[str, ...]
    skills: tuple[str, ...]
    capacity: int

    def checked(self) -> Profile:
        """Return the profile cleaned up, or refuse a value the console cannot use."""
        name = self.display_name.strip()
        if not 1 <= len(name) <= 100:
            raise StaffingError("a display name has 1 to 100 characters")
        if self.role not in {role.value for role in Role}:
            raise StaffingError(f"role must be one of {', '.join(Role)}")
        if self.locale not in CONSOLE_LOCALES:
            raise StaffingError(f"the console's language must be one of {', '.join(CONSOLE_LOCALES)}")
        if not self.languages or set(self.languages) - set(LANGUAGES):
            raise StaffingError(f"languages: at least one of {', '.join(LANGUAGES)}")
        if not self.skills or set(self.skills) - {skill.value for skill in Skill}:
            raise StaffingError(f"skills: at least one of {', '.join(Skill)}")
        if not 0 <= self.capacity <= MAX_CAPACITY:
            raise StaffingError(f"capacity is a number from 0 to {MAX_CAPACITY}")
        return Profile(name, self.role, self.locale, _in_order(self.languages, LANGUAGES),
                       _in_order(self.skills, tuple(Skill)), self.capacity)  # fmt: skip


def create_account(
    session: Session, admin: str, username: str, temporary_password: str, profile: Profile
) -> Specialist:
    """Create a console account whose first login must choose a new password."""
    profile = profile.checked()
    _check_password(temporary_password)
    specialist = add_specialist(session, username, temporary_password, Role(profile.role),
                                display_name=profile.display_name, locale=profile.locale, actor=admin)  # fmt: skip
    _apply(specialist, profile)
    specialist.must_change_password = True
    record_audit(session, admin, "specialist.changed", "specialist", specialist.username, _described(profile))
    return specialist


def change_account(session: Session, admin: str, username: str, profile: Profile) -> Specialist:
    """Change an account's name, role, languages, skills and capacity; the last active administrator stays one."""
    profile = profile.checked()
    specialist = account(session, username, lock=True)
    if specialist.role == Role.ADMIN.value and profile.role != Role.ADMIN.value:
        _keep_an_administrator(session, specialist)
    before = _described(_profile_of(specialist))
    _apply(specialist, profile)
    changes = {key: value for key, value in _described(profile).items() if before.get(key) != value}
    if changes:
        record_audit(session, admin, "specialist.changed", "specialist", specialist.username, changes)
    return specialist


def deactivate_account(session: Session, admin: str, username: str, now: datetime) -> list[int]:
    """End an account's access: its sessions end, it goes offline, everything it holds goes back to the queue."""
    specialist = account(session, username, lock=True)
    if specialist.username == admin:
        raise StaffingError("you cannot deactivate your own account")
    if not specialist.active:
        raise StaffingError(f"{specialist.username} is already deactivated")
    if specialist.role == Role.ADMIN.value:
        _keep_an_administrator(session, specialist)
    specialist.active = False
    specialist.presence = Presence.OFFLINE.value
    specialist.session_generation += 1
    handed_back = hand_back_unanswered(session, specialist.username, now, everything=True)
    record_audit(session, admin, "specialist.deactivated", "specialist", specialist.username,
                 {"handed_back": handed_back})  # fmt: skip
    return handed_back


def reactivate_account(session: Session, admin: str, username: str) -> None:
    """Let a deactivated account log in again (offline until its owner says otherwise)."""
    specialist = account(session, username, lock=True)
    if specialist.active:
        raise StaffingError(f"{specialist.username} is active")
    specialist.active = True
    specialist.failed_logins = 0
    specialist.locked_until = None
    record_audit(session, admin, "specialist.reactivated", "specialist", specialist.username)


def reset_password(session: Session, admin: str, username: str, temporary_password: str) -> None:
    """Give an account a temporary password: its sessions end and its next login must choose a new one."""
    _check_password(temporary_password)
    specialist = account(session, username, lock=True)
    specialist.password_hash = hash_password(temporary_password)
    specialist.must_change_password = True
    specialist.failed_logins = 0
    specialist.locked_until = None
    specialist.session_generation += 1
    record_audit(session, admin, "specialist.password_reset", "specialist", specialist.username)


def choose_new_password(session: Session, specialist_id: int, new_password: str, repeated: str) -> None:
    """Set the specialist's own password after a reset: long enough, typed twice, not the temporary one."""
    specialist = session.get(Specialist, specialist_id, with_for_update=True)
    if specialist is None or not specialist.active:
        raise StaffingError("no such account")
    if new_password != repeated:
        raise StaffingError("the two passwords differ")
    _check_password(new_password)
    if password_matches(specialist.password_hash, new_password):
        raise StaffingError("choose a password different from the one you were given")
    specialist.password_hash = hash_password(new_password)
    specialist.must_change_password = False
    record_audit(session, specialist.username, "specialist.password_changed", "specialist", specialist.username)


def account(session: Session, username: str, *, lock: bool = False) -> Specialist:
    """Return an account (active or not) by username, or refuse."""
    query = select(Specialist).where(Specialist.username == username.strip().lower())
    specialist = session.scalar(query.with_for_update() if lock else query)
    if specialist is None:
        raise StaffingError(f"no account {username.strip().lower()!r}")
    return specialist


def accounts(session: Session) -> list[Specialist]:
    """Return every account, active ones first, by username."""
    return list(session.scalars(select(Specialist).order_by(Specialist.active.desc(), Specialist.username)))


def _check_password(password: str) -> None:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise StaffingError(f"a password has {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters")


def _keep_an_administrator(session: Session, specialist: Specialist) -> None:
    others = session.scalar(
        select(func.count())
        .select_from(Specialist)
        .where(Specialist.role == Role.ADMIN.value, Specialist.active.is_(True), Specialist.id != specialist.id)
    )
    if not others:
        raise StaffingError("the console needs at least one active administrator")


def _apply(specialist: Specialist, profile: Profile) -> None:
    specialist.display_name = profile.display_name
    specialist.role = profile.role
    specialist.locale = profile.locale
    specialist.languages = list(profile.languages)
    specialist.skills = list(profile.skills)
    specialist.capacity = profile.capacity


def _profile_of(specialist: Specialist) -> Profile:
    return Profile(specialist.display_name, specialist.role, specialist.locale, tuple(specialist.languages or ()),
                   tuple(specialist.skills or ()), specialist.capacity)  # fmt: skip


def _described(profile: Profile) -> dict[str, object]:
    return {
        "display_name": profile.display_name,
        "role": profile.role,
        "locale": profile.locale,
        "languages": list(profile.languages),
        "skills": list(profile.skills),
        "capacity": profile.capacity,
    }


def _in_order(chosen: Sequence[str], order: Sequence[str]) -> tuple[str, ...]:
    return tuple(item for item in order if item in set(chosen))
