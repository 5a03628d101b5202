"""The front end's own data: staff accounts, failed sign-ins and live sessions."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import asdict
from datetime import datetime

from ccshared.store import DuplicateKey, Store
from ccshared.timeutil import from_str, to_str

from .accounts import Account, AccountError, Attempts


class Accounts:
    def __init__(self, store: Store):
        self.collection = store.collection("accounts")

    def add(self, account: Account) -> None:
        try:
            self.collection.insert({"_id": account.username, **asdict(account)})
        except DuplicateKey as exc:
            raise AccountError("username", f"{account.username} already exists") from exc

    def get(self, username: str) -> Account | None:
        doc = self.collection.get(username)
        if doc is None:
            return None
        doc.pop("_id")
        return Account(**doc)

    def all(self) -> list[Account]:
        return [self.get(doc["_id"]) for doc in self.collection.find({}, sort=[("_id", 1)])]

    def set_password(self, username: str, password_hash: str) -> bool:
        return self.collection.update({"_id": username}, {"password_hash": password_hash}) > 0

    def set_disabled(self, username: str, disabled: bool) -> bool:
        return self.collection.update({"_id": username}, {"disabled": disabled}) > 0


class LoginAttempts:
    """Recent failed sign-ins, one row per client address and username.

    `subject` is the username when it is an account's, and otherwise a keyed
    hash (see StaffDesk): a name that is no account may be a password typed in
    the wrong box, so it is never stored as typed.
    """

    def __init__(self, store: Store):
        self.collection = store.collection("login_attempts")
        self.collection.ensure_index(["subject"])
        self.collection.ensure_index(["window_started"])

    def get(self, client: str, subject: str) -> Attempts:
        doc = self.collection.get(_attempts_id(client, subject))
        if doc is None:
            return Attempts()
        return Attempts(doc["failures"], _dt(doc["window_started"]), _dt(doc["locked_until"]))

    def put(self, client: str, subject: str, attempts: Attempts) -> None:
        self.collection.upsert(
            {
                "_id": _attempts_id(client, subject),
                "subject": subject,
                "client": client,
                "failures": attempts.failures,
                "window_started": _ts(attempts.window_started),
                "locked_until": _ts(attempts.locked_until),
            }
        )

    def clear(self, subject: str, client: str | None = None) -> None:
        """Forget a username's failures from one client address, or from all of them."""
        if client is None:
            self.collection.delete({"subject": subject})
        else:
            self.collection.delete({"_id": _attempts_id(client, subject)})

    def purge(self, started_before: datetime) -> int:
        """Delete the rows whose window began before then: they count for nothing any more."""
        return self.collection.delete({"window_started": {"$lt": to_str(started_before)}})


def _attempts_id(client: str, subject: str) -> str:
    return f"{subject}|{client}"


class Sessions:
    """Signed-in sessions, kept server-side so signing out really ends one.

    The cookie holds the session id; this store only its SHA-256, so a copy of
    web.db signs nobody in.
    """

    def __init__(self, store: Store):
        self.collection = store.collection("sessions")
        self.collection.ensure_index(["username"])
        # Sessions from before ids were hashed kept the id itself: end them.
        self.collection.delete({"_id": {"$regex": _RAW_ID}})

    def start(self, username: str, now: datetime) -> str:
        session_id = secrets.token_urlsafe(32)
        stamp = to_str(now)
        self.collection.insert(
            {"_id": _hashed(session_id), "username": username, "started_at": stamp, "seen_at": stamp}
        )
        return session_id

    def get(self, session_id: str) -> dict | None:
        return self.collection.get(_hashed(session_id))

    def touch(self, session_id: str, now: datetime) -> None:
        self.collection.update({"_id": _hashed(session_id)}, {"seen_at": to_str(now)})

    def end(self, session_id: str) -> None:
        self.collection.delete({"_id": _hashed(session_id)})

    def end_all(self, username: str) -> int:
        return self.collection.delete({"username": username})

    def active(self, since: datetime) -> list[dict]:
        return self.collection.find({"seen_at": {"$gte": to_str(since)}}, sort=[("seen_at", -1)])


_RAW_ID = "^[A-Za-z0-9_-]{43}$"  # secrets.token_urlsafe(32); a SHA-256 in hex is 64 long


def _hashed(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _ts(value: datetime | None) -> str | None:
    return to_str(value) if value else None


def _dt(value: str | None) -> datetime | None:
    return from_str(value) if value else None
