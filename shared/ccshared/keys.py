"""Ed25519 keys for signing and checking tokens, read from settings.

A key setting holds the PEM text itself or the path of a PEM file (so a key can
come from an environment variable, a mounted secret or a file under var/). A
public key setting refuses a private key: a service that only checks tokens
must not hold what would let it make them.
"""

from __future__ import annotations

from pathlib import Path

from joserfc.errors import JoseError
from joserfc.jwk import OKPKey

CURVE = "Ed25519"
MAKE_ONE = "make one with: openssl genpkey -algorithm ed25519 -out key.pem"
MIN_SECRET_BYTES = 32  # a secret that keys an HMAC or a cipher (the session cookie, blind indexes)


def secret(raw: str) -> str:
    """A secret that keys an HMAC or a cipher: refuse one too short to resist guessing."""
    size = len(raw.encode())
    if size < MIN_SECRET_BYTES:
        raise ValueError(
            f"is {size} bytes; a secret needs at least {MIN_SECRET_BYTES} bytes "
            "(make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    return raw


def _pem(raw: str) -> str:
    text = raw.strip()
    if text.startswith("-----BEGIN"):
        return text
    path = Path(text)
    if not path.is_file():
        raise ValueError(f"neither PEM text nor the path of a readable key file; {MAKE_ONE}")
    return path.read_text()


def _import(raw: str) -> OKPKey:
    pem = _pem(raw)
    try:
        key = OKPKey.import_key(pem)
    except (JoseError, ValueError, TypeError) as exc:
        raise ValueError(f"not an {CURVE} key in PEM form; {MAKE_ONE}") from exc
    if key.curve_name != CURVE:
        raise ValueError(f"an {key.curve_name} key; tokens are signed with {CURVE}")
    return key


def private_key(raw: str) -> OKPKey:
    """An Ed25519 private key (PEM text or file path) that signs tokens."""
    key = _import(raw)
    if not key.is_private:
        raise ValueError("a public key; this setting signs tokens and needs the private key")
    return key


def public_key(raw: str) -> OKPKey:
    """An Ed25519 public key (PEM text or file path) that checks tokens, never a private one."""
    key = _import(raw)
    if key.is_private:
        raise ValueError(
            "a private key; give the public key only (openssl pkey -in key.pem -pubout), "
            "so that this service cannot make tokens"
        )
    return key
