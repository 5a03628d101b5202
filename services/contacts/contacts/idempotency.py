"""Idempotency-Key handling for POSTs that create contacts.

The first response to a (caller, key) pair is kept, encrypted, in the database
and returned as-is for a retry with the same body. The contact itself carries a
unique dedupe key too, so two retries racing each other still make one contact.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ccshared.errors import InvalidInput
from ccshared.timeutil import to_str

from .crypto import PersonalDataCipher
from .repository import IdempotencyRecords

HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")


def mismatch() -> InvalidInput:
    message = f"this {HEADER} was first used with a different request body; use a new key for a new request"
    return InvalidInput(message, fields={HEADER: [message]})


def request_hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def checked_key(raw: str | None) -> str | None:
    if raw is None:
        return None
    if not _KEY.match(raw):
        message = "must be 1 to 200 printable ASCII characters without spaces"
        raise InvalidInput(f"{HEADER} {message}", fields={HEADER: [message]})
    return raw


@dataclass(frozen=True)
class Replay:
    status: int
    body: dict


class IdempotentResponses:
    def __init__(self, records: IdempotencyRecords, cipher: PersonalDataCipher):
        self.records = records
        self.cipher = cipher

    @staticmethod
    def dedupe_key(scope: str, key: str) -> str:
        return f"{scope}:{key}"

    def replay(self, scope: str, key: str, body_hash: str) -> Replay | None:
        record = self.records.get(self.dedupe_key(scope, key))
        if record is None:
            return None
        if record["request_hash"] != body_hash:
            raise mismatch()
        return Replay(record["status"], self.cipher.decrypt(record["body"]))

    def remember(self, scope: str, key: str, body_hash: str, status: int, body: dict, at: datetime) -> None:
        self.records.put(
            {
                "_id": self.dedupe_key(scope, key),
                "request_hash": body_hash,
                "status": status,
                "body": self.cipher.encrypt(body),
                "created_at": to_str(at),
            }
        )
