"""Fixed-window rate limits kept in the service's own store.

Every gunicorn worker (and every instance) of a service counts in the same
collection, so a limit holds however the service is scaled. Each hit is one
small document; counting the window's documents needs no atomic increment,
which neither FerretDB v1 nor the SQLite adapter's `update` offers. Old
windows are deleted as a key starts a new one.
"""

from __future__ import annotations

import ipaddress
import uuid
from dataclasses import dataclass

from .errors import TooManyRequests
from .store import Collection
from .timeutil import Clock


@dataclass(frozen=True)
class Limit:
    hits: int
    window_seconds: int

    @classmethod
    def parse(cls, raw: str) -> Limit:
        """'10/60' = at most 10 hits per 60-second window."""
        hits, sep, seconds = raw.strip().partition("/")
        limit = cls(int(hits), int(seconds) if sep else 60)
        if limit.hits <= 0 or limit.window_seconds <= 0:
            raise ValueError("use HITS/SECONDS with both above zero, e.g. 10/60")
        return limit


def client_key(address: str | None) -> str:
    """What a per-address limit counts against: an IPv4 address as it is, an IPv6
    address by its /64, since one subscriber's line or one host is given a whole
    /64 and could otherwise take a fresh address for every request."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))
    return str(ip)


class RateLimiter:
    def __init__(self, collection: Collection, limit: Limit, clock: Clock, scope: str):
        self.collection = collection
        self.limit = limit
        self.clock = clock
        self.scope = scope
        collection.ensure_index(["key", "window"])

    def hit(self, key: str) -> int | None:
        """Count one hit for key; None if within the limit, else seconds until the window ends."""
        now = self.clock.now().timestamp()
        window = int(now // self.limit.window_seconds)
        scoped = f"{self.scope}:{key}"
        self.collection.insert({"_id": uuid.uuid4().hex, "key": scoped, "window": window})
        count = self.collection.count({"key": scoped, "window": window})
        if count == 1:
            self.collection.delete({"key": scoped, "window": {"$lt": window}})
        if count <= self.limit.hits:
            return None
        return max(1, int((window + 1) * self.limit.window_seconds - now + 0.999))

    def check(self, key: str, what: str = "requests") -> None:
        """Count one hit; raise TooManyRequests (429 with Retry-After) when over the limit."""
        retry_after = self.hit(key)
        if retry_after is not None:
            raise TooManyRequests(
                f"too many {what}; try again in {retry_after} seconds", retry_after=retry_after
            )
