"""The front end's own service layer: accounts, signing in and out, live sessions."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import KW_ONLY, InitVar, dataclass, field
from datetime import datetime, timedelta

from ccshared.mailboxes import RoleMailboxes
from ccshared.store import Store
from ccshared.timeutil import Clock, from_str, to_str

from . import accounts
from .accounts import Account, AccountError, LockoutRule
from .repository import Accounts, LoginAttempts, Sessions

log = logging.getLogger(__name__)

# Writing seen_at on every request would turn each page view into a write.
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class SignInResult:
    session_id: str | None = None
    account: Account | None = None
    locked_until: datetime | None = None
    delay_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.session_id is not None


@dataclass(eq=False)
class StaffDesk:
    """Accounts and sessions of the people who use the front end: staff and partner users."""

    store: InitVar[Store]
    clock: Clock
    rule: LockoutRule
    idle: timedelta
    _: KW_ONLY
    pseudonym_key: bytes | None = field(default=None, repr=False)  # None: a random key for this process
    mailboxes: RoleMailboxes | None = None  # None: RoleMailboxes.defaults()
    accounts: Accounts = field(init=False)
    attempts: LoginAttempts = field(init=False)
    sessions: Sessions = field(init=False)

    def __post_init__(self, store: Store) -> None:
        self.pseudonym_key = self.pseudonym_key or secrets.token_bytes(32)
        self.mailboxes = self.mailboxes or RoleMailboxes.defaults()
        self.accounts = Accounts(store)
        self.attempts = LoginAttempts(store)
        self.sessions = Sessions(store)

    def create_account(
        self,
        username: str,
        role: str,
        area: str | None,
        password: str | None,
        *,
        by: str,
        agency: str | None = None,
        check_agency: Callable[[str], None] | None = None,
    ) -> tuple[Account, str]:
        """A new account; returns it and its password (generated when none is given). A partner's
        agency is put to `check_agency` (which raises AccountError) after every other check."""
        password = password or accounts.generate_password()
        username = username.strip().lower()
        area = area or None
        agency = (agency or "").strip().lower() or None
        accounts.check_new_account(username, role, area, password, agency)
        self._refuse_role_mailbox_name(username)
        if agency is not None and check_agency is not None:
            check_agency(agency)
        account = Account(
            username=username,
            role=role,
            area=area,
            password_hash=accounts.hash_password(password),
            created_at=to_str(self.clock.now()),
            created_by=by,
            agency=agency,
        )
        self.accounts.add(account)
        log.info("account created", extra={"username": username, "role": role, "agency": agency, "by": by})
        return account, password

    def _refuse_role_mailbox_name(self, username: str) -> None:
        """A user named like a coordinator's or the Principal Officer's address would be
        taken for them (mail meant for the role would look like theirs)."""
        if self.mailboxes.named_by(username):
            raise AccountError(
                "username",
                "is the name of a coordinator's or the Principal Officer's mailbox; choose another",
            )

    def reset_password(self, username: str, password: str | None = None) -> str:
        password = password or accounts.generate_password()
        if len(password) < accounts.MIN_PASSWORD:
            raise AccountError("password", f"must be at least {accounts.MIN_PASSWORD} characters")
        if not self.accounts.set_password(username, accounts.hash_password(password)):
            raise AccountError("username", f"no account {username}")
        self.sessions.end_all(username)
        self.attempts.clear(username)
        return password

    def set_disabled(self, username: str, disabled: bool) -> None:
        if not self.accounts.set_disabled(username, disabled):
            raise AccountError("username", f"no account {username}")
        if disabled:
            self.sessions.end_all(username)

    def sign_in(self, username: str, password: str, client: str) -> SignInResult:
        """Check a password typed from a client address; failures lock that address out of
        that username only, so the real user elsewhere can still sign in."""
        now = self.clock.now()
        name = username.strip().lower()
        account = self.accounts.get(name)
        subject = name if account else self._pseudonym(name)
        who = {"username": name} if account else {"unknown_user": subject}
        attempts = self.attempts.get(client, subject)
        if self.rule.is_locked(attempts, now):
            log.warning("sign-in refused: locked", extra=who)
            return SignInResult(locked_until=attempts.locked_until)
        matches = accounts.password_matches(account.password_hash if account else None, password)
        if account is None or account.disabled or not matches:
            attempts = self.rule.after_failure(attempts, now)
            self.attempts.put(client, subject, attempts)
            self.attempts.purge(self.rule.forgotten_before(now))
            log.warning("sign-in failed", extra={**who, "failures": attempts.failures})
            locked = attempts.locked_until if self.rule.is_locked(attempts, now) else None
            return SignInResult(locked_until=locked, delay_seconds=self.rule.delay_seconds(attempts))
        self.attempts.clear(name, client)
        session_id = self.sessions.start(name, now)
        log.info("signed in", extra=who)
        return SignInResult(session_id=session_id, account=account)

    def _pseudonym(self, typed: str) -> str:
        """A short keyed hash of a name that is no account's: repeats can be told
        apart in the logs, but not read, even if a password was typed there."""
        digest = hmac.new(self.pseudonym_key, typed.encode(), hashlib.sha256).hexdigest()
        return f"#{digest[:12]}"

    def current(self, session_id: str | None) -> Account | None:
        """The account of a live session; an idle or ended one is gone."""
        if not session_id:
            return None
        record = self.sessions.get(session_id)
        now = self.clock.now()
        if record is None:
            return None
        seen = from_str(record["seen_at"])
        if now - seen > self.idle:
            self.sessions.end(session_id)
            return None
        account = self.accounts.get(record["username"])
        if account is None or account.disabled:
            self.sessions.end(session_id)
            return None
        if now - seen > TOUCH_EVERY:
            self.sessions.touch(session_id, now)
        return account

    def sign_out(self, session_id: str | None) -> None:
        if session_id:
            self.sessions.end(session_id)

    def signed_in_now(self) -> list[dict]:
        return self.sessions.active(self.clock.now() - self.idle)
