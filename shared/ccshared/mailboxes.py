"""The team's role mailboxes: each area coordinator's and the Principal Officer's.

Configured once (NOTIFIER_COORDINATOR_EMAILS, NOTIFIER_PRINCIPAL_EMAIL) and read
by the notifier, which sends to them and decides who may read what it sent, and
by the web front end, which refuses usernames that would name one of them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import formataddr, getaddresses

from .config import Var
from .contracts import AREAS

_ADDRESS_TEXT = r"[^@\s,=<>]+@[^@\s,=<>]+\.[^@\s,=<>]+"
_ADDRESS = re.compile(rf"^{_ADDRESS_TEXT}$")
# The same rule within a text, with the angle brackets a mail server puts around an address.
_ADDRESS_WITHIN = re.compile(rf"<{_ADDRESS_TEXT}>|{_ADDRESS_TEXT}")
ERASED_ADDRESS = "<address erased>"


def address(raw: str) -> str:
    value = raw.strip()
    if not _ADDRESS.match(value):
        raise ValueError(f"{value!r} is not an e-mail address")
    return value


def without_addresses(text: str | None) -> str | None:
    """`text` (a mail server's reply, say) with each e-mail address in it, as address() knows
    one, replaced by ERASED_ADDRESS; its codes and words stay."""
    return _ADDRESS_WITHIN.sub(ERASED_ADDRESS, text) if text else text


def sender_address(raw: str) -> str:
    """A From header: one address, or 'Display Name <address>' (no line break: no header injection)."""
    found = getaddresses([raw.strip()])
    if len(found) != 1 or not found[0][1] or "<" in found[0][1] or any(c in raw for c in "\r\n"):
        raise ValueError("expected one address or 'Name <address>'")
    name, sender = found[0]
    return formataddr((name, address(sender)))


_DOMAIN = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")


def domain(raw: str) -> str:
    """A mail domain, e.g. example.org (a leading '@' is dropped)."""
    value = raw.strip().removeprefix("@")
    if not _DOMAIN.match(value):
        raise ValueError("expected a mail domain such as example.org")
    return value


def mailbox(value: str) -> str:
    """An address as compared with another: the same mailbox whatever its case."""
    return value.strip().lower()


def same_address(one: str | None, other: str | None) -> bool:
    """The same mailbox (and no address is no mailbox)."""
    return bool(one and other) and mailbox(one) == mailbox(other)


def address_list(raw: str) -> frozenset[str]:
    """'addr,Addr2' -> {addr, addr2}: mailboxes, compared with mailbox(address)."""
    return frozenset(mailbox(address(part)) for part in raw.split(",") if part.strip())


def address_map(raw: str) -> dict[str, str]:
    """'key=addr,key2=addr2' -> {key: addr}."""
    pairs: dict[str, str] = {}
    for part in raw.split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"expected name=address, got {part.strip()!r}")
        pairs[key.strip()] = address(value)
    return pairs


DEFAULT_COORDINATORS = {area: f"coordinator.{area}@example.org" for area in AREAS}
COORDINATORS_FORMAT = ",".join(f"{area}=address" for area in AREAS)


def coordinator_map(raw: str) -> dict[str, str]:
    pairs = address_map(raw)
    unknown = set(pairs) - set(AREAS)
    if unknown:
        raise ValueError(f"unknown area(s) {sorted(unknown)}; areas are {', '.join(AREAS)}")
    missing = [area for area in AREAS if area not in pairs]
    if missing:
        raise ValueError(
            f"no address for area(s) {', '.join(missing)}; give every area: {COORDINATORS_FORMAT}"
        )
    return pairs


COORDINATORS = Var("NOTIFIER_COORDINATOR_EMAILS", DEFAULT_COORDINATORS, coordinator_map, COORDINATORS_FORMAT)
PRINCIPAL = Var("NOTIFIER_PRINCIPAL_EMAIL", "principal.officer@example.org", address)


@dataclass(frozen=True)
class RoleMailboxes:
    coordinators: Mapping[str, str]
    principal: str

    @classmethod
    def defaults(cls) -> RoleMailboxes:
        return cls(DEFAULT_COORDINATORS, PRINCIPAL.default)

    @property
    def addresses(self) -> frozenset[str]:
        return frozenset(a.lower() for a in (*self.coordinators.values(), self.principal))

    def is_role_address(self, candidate: str | None) -> bool:
        """Mail to this address is read by role and area, never by a username."""
        return candidate is not None and candidate.lower() in self.addresses

    def named_by(self, username: str) -> str | None:
        """The role mailbox a username would pass for (its local part or the whole
        address), or None: such a name would be taken for that mailbox's owner."""
        name = username.strip().lower()
        for mailbox in sorted(self.addresses):
            if name in (mailbox, mailbox.partition("@")[0]):
                return mailbox
        return None
