"""Encryption of personal data at rest (Fernet: AES-128-CBC with HMAC-SHA256).

Personal fields travel as one encrypted JSON token per contact, so a stored
document, a backup or a debug dump shows no name, address or child's age.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

IDEMPOTENCY_FINGERPRINT = b"contacts idempotency fingerprint v1"


def fernet_key(raw: str) -> str:
    """CONTACTS_ENCRYPTION_KEY's parser: only a well-formed Fernet key (32 url-safe base64-encoded bytes)."""
    try:
        Fernet(raw.encode())
    except (ValueError, TypeError) as exc:
        raise ValueError(
            "not a Fernet key; make one with python -c "
            "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
        ) from exc
    return raw


def derived_key(fernet_key: str, purpose: bytes) -> bytes:
    """A key for one purpose (HKDF-SHA256) from CONTACTS_ENCRYPTION_KEY: keyed hashes
    need their own key, and one secret from the environment is enough to make it."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose)
    return hkdf.derive(base64.urlsafe_b64decode(fernet_key.encode()))


class UnreadableToken(Exception):
    """The token was not made with this key (wrong key or tampered data)."""


class PersonalDataCipher:
    def __init__(self, key: str):
        self._fernet = Fernet(key.encode())

    def encrypt(self, value: Any) -> str:
        return self._fernet.encrypt(json.dumps(value, separators=(",", ":")).encode()).decode()

    def decrypt(self, token: str) -> Any:
        try:
            return json.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken as exc:
            raise UnreadableToken("personal data cannot be decrypted with CONTACTS_ENCRYPTION_KEY") from exc
