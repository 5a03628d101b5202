"""Idempotency-Key handling for POSTs that create contacts.

A (caller, key) pair is claimed with a record whose `_id` is a keyed digest of
the pair (so every read on the request path is a lookup by `_id`, the one index
FerretDB v1 uses, and the key itself is not stored), and that holds only the
contact id it makes, the status, when, and a keyed fingerprint of the body (an HMAC whose key
is derived from CONTACTS_ENCRYPTION_KEY, so the stored value says nothing about
the body to whoever reads the database). The record is written before the
contact and fixes its id, so retries racing each other, or a retry after a crash
between the two writes, still make one contact. A replay is rebuilt from the
stored contact by the service layer (with its access check and audit), never
from a stored response. Records expire after 24 hours (`purge`), and retention
erasure deletes a contact's record with its personal data.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ccshared.errors import InvalidInput
from ccshared.store import DuplicateKey, Store
from ccshared.timeutil import Clock, to_str

from .config import Settings
from .crypto import IDEMPOTENCY_FINGERPRINT, derived_key
from .repository import IdempotencyRecords

HEADER = "Idempotency-Key"
LIFETIME = timedelta(hours=24)
CLAIM_ATTEMPTS = 3
KEY_RULE = "1 to 200 printable ASCII characters without spaces or commas (the header given twice)"
# Printable ASCII but space and comma (the OpenAPI document states it): the header sent twice
# reaches the service as its two values joined by a comma, which must not pass for one key.
KEY_PATTERN = r"^[\x21-\x2b\x2d-\x7e]{1,200}$"
_KEY = re.compile(KEY_PATTERN)


class IdempotencyMismatch(Exception):
    """The Idempotency-Key was first used with a different request body."""


def mismatch() -> InvalidInput:
    message = f"this {HEADER} was first used with a different request body; use a new key for a new request"
    return InvalidInput(message, fields={HEADER: [message]})


def checked_key(raw: str | None) -> str | None:
    if raw is None:
        return None
    if not _KEY.match(raw):
        message = f"must be {KEY_RULE}"
        raise InvalidInput(f"{HEADER} {message}", fields={HEADER: [message]})
    return raw


@dataclass(frozen=True)
class Request:
    """One create request under an Idempotency-Key: its record id and body fingerprint."""

    record_id: str
    fingerprint: str


def record_id(secret: bytes, scope: str, key: str) -> str:
    """The record's `_id`: a keyed digest of (caller, key), unambiguous since a key has no NUL.

    Records written before this (`<scope>:<key>` ids) are not found by it: they expire
    within 24 hours and `purge` deletes them like any other.
    """
    pair = b"idempotency-record\0" + scope.encode() + b"\0" + key.encode()
    return "k1-" + hmac.new(secret, pair, hashlib.sha256).hexdigest()


class IdempotentRequests:
    def __init__(self, records: IdempotencyRecords, secret: bytes, clock: Clock):
        self.records = records
        self._secret = secret
        self.clock = clock

    def request(self, scope: str, key: str | None, body: Any) -> Request | None:
        """The request to deduplicate, or None without a key."""
        if key is None:
            return None
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        fingerprint = hmac.new(self._secret, canonical, hashlib.sha256).hexdigest()
        return Request(record_id(self._secret, scope, key), fingerprint)

    def earlier(self, request: Request | None) -> str | None:
        """The contact id an earlier request with this key claimed; IdempotencyMismatch
        if that request had another body."""
        if request is None:
            return None
        record = self._live(request.record_id)
        if record is None:
            return None
        if not hmac.compare_digest(record["fingerprint"], request.fingerprint):
            raise IdempotencyMismatch(request.record_id)
        return record["contact_id"]

    def claim(self, request: Request, contact_id: str, status: int = 201) -> str:
        """The contact id this request makes: its own, or one a racing retry claimed first."""
        for _ in range(CLAIM_ATTEMPTS):
            record = {
                "_id": request.record_id,
                "contact_id": contact_id,
                "status": status,
                "fingerprint": request.fingerprint,
                "created_at": to_str(self.clock.now()),
            }
            try:
                self.records.add(record)
                return contact_id
            except DuplicateKey:
                self.records.delete_stale(request.record_id, self._cutoff())
                earlier = self.earlier(request)
                if earlier is not None:
                    return earlier
        raise DuplicateKey(request.record_id)

    def purge(self) -> int:
        """Delete the records past their 24 hours; return how many."""
        return self.records.delete_older(self._cutoff())

    def forget(self, contact_id: str) -> int:
        """Delete the record that made this contact (retention erasure)."""
        return self.records.delete_for_contact(contact_id)

    def _live(self, record_id: str) -> dict | None:
        record = self.records.get(record_id)
        if record is None or "contact_id" not in record or record["created_at"] < to_str(self._cutoff()):
            return None
        return record

    def _cutoff(self) -> datetime:
        return self.clock.now() - LIFETIME


def idempotent_requests(settings: Settings, store: Store, clock: Clock) -> IdempotentRequests:
    secret = derived_key(settings.encryption_key, IDEMPOTENCY_FINGERPRINT)
    return IdempotentRequests(IdempotencyRecords(store), secret, clock)
