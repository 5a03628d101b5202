"""Partner agencies: their API keys and their profile.

Keys are made by an admin command, shown once, kept only as a SHA-256 hash,
revocable. A key is 256 random bits, so a fast hash is enough: there is
nothing to guess. Several keys may belong to one agency (rotation); they share
its referrals.

The profile holds what the agency asked to be told at: its notification
address (receipt and status e-mails), set when the agency is created and
changeable.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass

from ccshared.timeutil import Clock, to_str
from marshmallow import ValidationError, fields

from .repository import AgencyRepository
from .service import Agency

KEY_PREFIX = "cck_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def agency_id(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.strip().lower()).strip("-")
    if not slug:
        raise ValueError("an agency name needs letters or digits")
    return slug


_EMAIL = fields.Email()


def checked_email(address: str) -> str:
    """The address, trimmed, if it is an e-mail address; ValueError naming the option otherwise."""
    try:
        return _EMAIL.deserialize(address.strip())
    except ValidationError:
        raise ValueError(f"--notify-email: {address!r} is not an e-mail address") from None


@dataclass(frozen=True)
class IssuedKey:
    key_id: str
    agency: Agency
    key: str


class AgencyKeys:
    def __init__(self, repository: AgencyRepository, clock: Clock):
        self.repository = repository
        self.clock = clock

    def create(self, name: str, notify_email: str | None = None) -> IssuedKey:
        """A new key for the agency of that name; the agency's profile is made or updated."""
        agency = Agency(id=agency_id(name), name=name.strip())
        address = checked_email(notify_email) if notify_email else None
        self.repository.save_profile(agency.id, agency.name, self.clock.now(), notify_email=address)
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        key_id = str(uuid.uuid4())
        self.repository.add(
            {
                "_id": key_id,
                "agency_id": agency.id,
                "agency_name": agency.name,
                "key_hash": hash_key(key),
                "created_at": to_str(self.clock.now()),
                "revoked_at": None,
            }
        )
        return IssuedKey(key_id, agency, key)

    def update(self, agency_id_: str, *, notify_email: str | None = None) -> dict:
        """Change an existing agency's profile; KeyError if there is no such agency."""
        profile = self.repository.profile(agency_id_)
        if profile is None:
            raise KeyError(agency_id_)
        changes = {}
        if notify_email is not None:
            changes["notify_email"] = checked_email(notify_email)
        self.repository.save_profile(agency_id_, profile["name"], self.clock.now(), **changes)
        return self.repository.profile(agency_id_) or {}

    def profile(self, agency_id_: str) -> dict | None:
        return self.repository.profile(agency_id_)

    def revoke(self, key_id: str) -> bool:
        return self.repository.revoke(key_id, self.clock.now())

    def list(self) -> list[dict]:
        return [
            {
                name: record.get(name)
                for name in ("_id", "agency_id", "agency_name", "created_at", "revoked_at")
            }
            for record in self.repository.all()
        ]

    def authenticate(self, key: str) -> Agency | None:
        record = self.repository.by_key_hash(hash_key(key))
        if record is None or record.get("revoked_at"):
            return None
        return Agency(id=record["agency_id"], name=record["agency_name"])
