"""Accounts (staff, and partner agencies' users), passwords and the lockout rule.
No Flask, no database: the clock comes in as an argument and the store sits
behind `repository.py`."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from ccshared import contracts as c
from ccshared.auth import AGENCY_ID, StaffUser

USERNAME = re.compile(r"^[a-z][a-z0-9._-]{1,39}$")
MIN_PASSWORD = 12
AREA_ROLES = (c.ROLE_STAFF, c.ROLE_COORDINATOR)
# Who may have an account here: the staff roles, and partner agencies' users,
# who see only their own agency's referrals (never a staff page).
ACCOUNT_ROLES = (*c.ROLES, c.ROLE_PARTNER)
ROLE_LABELS = {
    c.ROLE_STAFF: "Centre staff",
    c.ROLE_COORDINATOR: "Area coordinator",
    c.ROLE_PRINCIPAL: "Principal Officer",
    c.ROLE_ADMIN: "Administrator",
    c.ROLE_PARTNER: "Partner agency",
}

# Argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): strong
# enough for staff passwords while a small server signs several people in at once.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
# Verified against when the username is unknown, so both cases take as long.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class AccountError(ValueError):
    """A rule about accounts is broken; names the field at fault."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


def unknown_agency(agency: str) -> AccountError:
    """A partner user for an agency contacts does not know would meet 403 on every page."""
    return AccountError(
        "agency",
        f"contacts has no agency {agency}; make it first "
        f"(python -m contacts agency-key create --agency NAME --agency-id {agency})",
    )


@dataclass
class Account:
    username: str
    role: str
    area: str | None
    password_hash: str
    created_at: str
    created_by: str
    disabled: bool = False
    agency: str | None = None  # a partner user's agency id (as contacts names it)

    def staff_user(self) -> StaffUser:
        return StaffUser(self.username, self.role, self.area, self.agency)

    def takes_contacts_of(self, area: str | None) -> bool:
        """Whom a contact of `area` may be assigned to: its area's active staff and
        coordinators. Its due-today mail goes to the assignee by name, so nobody else."""
        return not self.disabled and self.role in AREA_ROLES and area is not None and self.area == area

    @property
    def is_partner(self) -> bool:
        return self.role == c.ROLE_PARTNER


def check_new_account(
    username: str, role: str, area: str | None, password: str, agency: str | None = None
) -> None:
    if not USERNAME.match(username):
        raise AccountError(
            "username",
            "use 2 to 40 lower-case letters, digits, dots, dashes or underscores, starting with a letter",
        )
    if role not in ACCOUNT_ROLES:
        raise AccountError("role", f"must be one of {', '.join(ACCOUNT_ROLES)}")
    _check_agency(role, area, agency)
    if role in AREA_ROLES and area not in c.AREAS:
        raise AccountError("area", f"{ROLE_LABELS[role].lower()} needs an area: {', '.join(c.AREAS)}")
    if role not in AREA_ROLES and area not in (None, *c.AREAS):
        raise AccountError("area", f"must be one of {', '.join(c.AREAS)}")
    if len(password) < MIN_PASSWORD:
        raise AccountError("password", f"must be at least {MIN_PASSWORD} characters")


def _check_agency(role: str, area: str | None, agency: str | None) -> None:
    """A partner user belongs to one agency and no area; nobody else belongs to an agency."""
    if role != c.ROLE_PARTNER:
        if agency is not None:
            raise AccountError("agency", "only partner users belong to an agency")
        return
    if agency is None:
        raise AccountError(
            "agency", "a partner user needs the agency id, for example example-health-visitors"
        )
    if not AGENCY_ID.match(agency):
        raise AccountError("agency", "use the agency id: lower-case letters, digits and dashes")
    if area is not None:
        raise AccountError("area", "partner users have no area")


def generate_password() -> str:
    return secrets.token_urlsafe(15)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


@dataclass
class Attempts:
    """Recent failed sign-ins for one username (known or not, so nothing is revealed)
    from one client address: a stranger elsewhere cannot lock the user out."""

    failures: int = 0
    window_started: datetime | None = None
    locked_until: datetime | None = None


@dataclass(frozen=True)
class LockoutRule:
    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    lockout: timedelta = timedelta(minutes=15)

    def is_locked(self, attempts: Attempts, now: datetime) -> bool:
        return attempts.locked_until is not None and now < attempts.locked_until

    def after_failure(self, attempts: Attempts, now: datetime) -> Attempts:
        if attempts.window_started is None or now - attempts.window_started > self.window:
            attempts = Attempts(0, now, None)
        failures = attempts.failures + 1
        locked_until = now + self.lockout if failures >= self.max_failures else attempts.locked_until
        return Attempts(failures, attempts.window_started, locked_until)

    def forgotten_before(self, now: datetime) -> datetime:
        """Failures in a window that began before this neither count nor lock any more."""
        return now - self.window - self.lockout

    def delay_seconds(self, attempts: Attempts) -> float:
        """A small growing pause after each failure slows guessing without locking anyone out."""
        return min(2.0, 0.25 * attempts.failures)
