"""Fixed-window rate limits kept in the service's own store.

Every gunicorn worker (and every instance) of a service counts in the same
collection, so a limit holds however the service is scaled. A key's window is
one bucket document, its `_id` the (key, window) pair, so a hit is a lookup and
a write by `_id` (the one index FerretDB v1 uses). The count goes up by a
compare-and-set on `_version`: neither FerretDB v1 nor the SQLite adapter has an
atomic increment. A hit that loses the race reads again; each loss means another
hit was counted, so this ends. A hit over the limit writes nothing. A key's old
windows are deleted as it starts a new one.

Buckets replace the one-document-per-hit layout used before; documents of that
layout have no `hits` field, are never read, and go with their key's next window.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from .errors import TooManyRequests
from .outbox import VERSION
from .store import Collection, insert_new
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
        bucket_id = f"{scoped}@{window}"
        while True:
            bucket = self.collection.get(bucket_id)
            if bucket is None:
                if self._start(bucket_id, scoped, window):
                    return None
            elif bucket["hits"] >= self.limit.hits:
                return max(1, int((window + 1) * self.limit.window_seconds - now + 0.999))
            else:
                counted = bucket | {"hits": bucket["hits"] + 1, VERSION: bucket[VERSION] + 1}
                if self.collection.replace(counted, expected_version=bucket[VERSION]):
                    return None

    def _start(self, bucket_id: str, scoped: str, window: int) -> bool:
        """Open the key's bucket for this window with its first hit; False if another hit did."""
        first = {"_id": bucket_id, "key": scoped, "window": window, "hits": 1, VERSION: 1}
        if not insert_new(self.collection, first):
            return False
        self.collection.delete({"key": scoped, "window": {"$lt": window}})
        return True

    def check(self, key: str, what: str = "requests") -> None:
        """Count one hit; raise TooManyRequests (429 with Retry-After) when over the limit."""
        retry_after = self.hit(key)
        if retry_after is not None:
            raise TooManyRequests(
                f"too many {what}; try again in {retry_after} seconds", retry_after=retry_after
            )
