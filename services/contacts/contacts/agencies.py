"""Partner agencies: their API keys and their profile.

Keys are made by an admin command, shown once, kept only as a SHA-256 hash,
revocable. A key is 256 random bits, so a fast hash is enough: there is
nothing to guess. Several keys may belong to one agency (rotation); they share
its referrals. An agency's id is made from its name, so two names can make one
id ("Demo Health Visitors", "demo health-visitors!"): a new key joins an
existing agency only when the admin names that agency's id on purpose.

The profile holds what the agency asked to be told at: its notification
address (receipt and status e-mails) and its webhook callback URL with the
secret that signs the webhooks (encrypted with the service's Fernet key and
shown once, when made), set when the agency is created and changeable.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
import uuid
from dataclasses import dataclass

from ccshared.timeutil import Clock, to_str
from marshmallow import ValidationError, fields

from .crypto import PersonalDataCipher
from .repository import AgencyRepository
from .service import Agency
from .webhook_repository import health_fields
from .webhooks import ReceiverHealth, checked_callback_url, new_secret

KEY_PREFIX = "cck_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


_AGENCY_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def agency_id(name: str) -> str:
    """A name's id: its letters without accents ("Démo" gives "demo"), digits and hyphens."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", plain.strip().lower()).strip("-")
    if not slug:
        raise ValueError("an agency name needs letters or digits")
    return slug


def checked_agency_id(raw: str) -> str:
    if not _AGENCY_ID.match(raw):
        raise ValueError(f"--agency-id: {raw!r} is not an agency id (lower-case letters, digits and hyphens)")
    return raw


class AgencyExists(ValueError):
    """A new agency's id is taken: a key would silently join another agency."""

    def __init__(self, name: str, existing_id: str, existing_name: str):
        super().__init__(
            f"--agency: {name!r} is taken by the existing agency {existing_id} ({existing_name!r}); "
            f"to add a key to that agency on purpose (key rotation) give --agency-id {existing_id}, "
            "otherwise choose a distinct name"
        )
        self.existing_id = existing_id


_EMAIL = fields.Email()


def checked_email(address: str) -> str:
    """The address, trimmed, if it is an e-mail address; ValueError naming the option otherwise."""
    try:
        return _EMAIL.deserialize(address.strip())
    except ValidationError:
        raise ValueError(f"--notify-email: {address!r} is not an e-mail address") from None


@dataclass(frozen=True)
class CallbackChange:
    """What to do to an agency's webhook receiver; nothing, by default."""

    url: str | None = None
    remove: bool = False
    rotate_secret: bool = False

    def checked(self) -> CallbackChange:
        """The change with its URL checked; ValueError naming the option at fault."""
        if self.remove and self.url is not None:
            raise ValueError("--remove-callback-url: cannot be given with --callback-url")
        if self.remove and self.rotate_secret:
            raise ValueError("--rotate-webhook-secret: cannot be given with --remove-callback-url")
        url = checked_callback_url(self.url) if self.url is not None else None
        return CallbackChange(url, self.remove, self.rotate_secret)


@dataclass(frozen=True)
class IssuedKey:
    key_id: str
    agency: Agency
    key: str
    webhook_secret: str | None = None  # when one was made: shown once, stored only encrypted


@dataclass(frozen=True)
class ProfileUpdate:
    profile: dict
    webhook_secret: str | None = None  # when one was made: shown once, stored only encrypted


class AgencyKeys:
    def __init__(self, repository: AgencyRepository, clock: Clock, cipher: PersonalDataCipher | None = None):
        self.repository = repository
        self.clock = clock
        self.cipher = cipher

    def create(
        self,
        name: str | None,
        notify_email: str | None = None,
        callback_url: str | None = None,
        existing_id: str | None = None,
    ) -> IssuedKey:
        """A new key for a new agency of that name, or, with existing_id, for that agency
        (key rotation); the agency's profile is made or updated.

        A name whose id is taken is refused (AgencyExists, naming the agency) unless
        existing_id names it. With a callback URL, a webhook secret is made unless the
        agency already has one.
        """
        agency, profile = self._agency_for_key(name, existing_id)
        changes = {"notify_email": checked_email(notify_email)} if notify_email else {}
        callback = CallbackChange(callback_url).checked()
        callback_changes, secret = self._callback_changes(profile or {}, callback)
        self.repository.save_profile(agency.id, agency.name, self.clock.now(), **changes, **callback_changes)
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
        return IssuedKey(key_id, agency, key, secret)

    def _agency_for_key(self, name: str | None, existing_id: str | None) -> tuple[Agency, dict | None]:
        """The agency a new key belongs to, and its profile if it has one."""
        name = name.strip() if name else None
        if name and not name.isprintable():
            raise ValueError("--agency: the name must be printable text on one line")
        if existing_id is None:
            if not name:
                raise ValueError("--agency: give the agency's name")
            return self._new_agency(Agency(id=agency_id(name), name=name)), None
        profile = self.repository.profile(checked_agency_id(existing_id))
        if profile is None:
            if not name:
                raise ValueError(f"--agency: no agency {existing_id} yet; give its name to make it")
            return self._new_agency(Agency(id=existing_id, name=name)), None
        if name and name != profile["name"]:
            raise ValueError(
                f"--agency: agency {existing_id} is named {profile['name']!r}; "
                "leave --agency out to add a key to it"
            )
        return Agency(id=existing_id, name=profile["name"]), profile

    def _new_agency(self, new: Agency) -> Agency:
        """A new agency, unless its id or its name is an existing one's: partners' mails and staff
        tell agencies apart by name."""
        taken = self.repository.profile(new.id) or self.repository.profile_named(new.name)
        if taken is not None:
            raise AgencyExists(new.name, taken["_id"], taken["name"])
        return new

    def update(
        self, agency_id_: str, *, notify_email: str | None = None, callback: CallbackChange | None = None
    ) -> ProfileUpdate:
        """Change an existing agency's profile; KeyError if there is no such agency.

        Everything is checked before anything is written.
        """
        profile = self.repository.profile(agency_id_)
        if profile is None:
            raise KeyError(agency_id_)
        changes = {}
        if notify_email is not None:
            changes["notify_email"] = checked_email(notify_email)
        callback_changes, secret = self._callback_changes(profile, (callback or CallbackChange()).checked())
        self.repository.save_profile(
            agency_id_, profile["name"], self.clock.now(), **changes, **callback_changes
        )
        return ProfileUpdate(self.repository.profile(agency_id_) or {}, secret)

    def _callback_changes(self, profile: dict, change: CallbackChange) -> tuple[dict, str | None]:
        """Profile fields for a checked change, and the new secret if one is made.

        A new or changed URL gives the receiver a fresh start (no failure count, no
        mark); the secret is kept unless rotated, and made if there is none.
        """
        if change.remove:
            return {"callback_url": None, "webhook_secret": None} | health_fields(ReceiverHealth()), None
        url = change.url or profile.get("callback_url")
        if change.rotate_secret and not url:
            raise ValueError("--rotate-webhook-secret: the agency has no callback URL; give --callback-url")
        changes: dict = {}
        if change.url is not None and change.url != profile.get("callback_url"):
            changes = {"callback_url": change.url} | health_fields(ReceiverHealth())
        secret = None
        if url and (change.rotate_secret or not profile.get("webhook_secret")):
            secret = new_secret()
            changes["webhook_secret"] = self._cipher().encrypt(secret)
        return changes, secret

    def _cipher(self) -> PersonalDataCipher:
        if self.cipher is None:
            raise RuntimeError("AgencyKeys needs the service's cipher to keep a webhook secret")
        return self.cipher

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
