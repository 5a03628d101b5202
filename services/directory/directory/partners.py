"""Partners' services, imported from their Open Referral UK feeds and sign-posted beside ours.

A partner's service is kept as its feed described it, reduced to what the
public search needs: who offers it (the organisation, and which feed it came
from), its own `assured_date`, ages, languages, costs, taxonomy terms and
places. It belongs to its feed: the next good fetch of that feed replaces it,
or drops it when the feed no longer lists it. Only staff's `hidden` mark (and
its audit trail) is ours. No Flask, no database, no HTTP here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from ccshared.geo import distance_km, district_of, normalise_postcode
from ccshared.retrying import doubling
from ccshared.service_types import BY_ID
from ccshared.timeutil import to_str

PartnerService = dict[str, Any]

# Why a fetch failed: a bounded set, so each is a safe metric label.
UNREACHABLE = "unreachable"
TIMEOUT = "timeout"
HTTP_ERROR = "http_error"
TOO_LARGE = "too_large"
INVALID_JSON = "invalid_json"
INVALID_DATA = "invalid_data"
FAILURE_REASONS = (UNREACHABLE, TIMEOUT, HTTP_ERROR, TOO_LARGE, INVALID_JSON, INVALID_DATA)

FEED_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{0,39}$")


@dataclass(frozen=True)
class Feed:
    """One partner feed: a short name (a metric label, shown to staff) and its base URL.

    The URL may carry a partner's key, so it is never logged, labelled or shown.
    """

    name: str
    url: str

    @property
    def services_url(self) -> str:
        return self.url.rstrip("/") + "/services"


def parse_feeds(raw: str) -> tuple[Feed, ...]:
    """ORUK_IMPORT_FEEDS: base URLs separated by commas or spaces, each optionally `name=URL`.

    Unnamed feeds take their host's name (a second feed on one host gets "-2", ...).
    """
    feeds: list[Feed] = []
    for entry in raw.replace(",", " ").split():
        name, _, url = entry.partition("=") if _named(entry) else ("", "", entry)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"feed {len(feeds) + 1} must be an http(s) URL, optionally name=URL")
        name = name or _unique((parts.hostname or "").lower(), {feed.name for feed in feeds})
        if not FEED_NAME.match(name):
            raise ValueError(f"feed name {name!r}: lower-case letters, digits, dots and dashes, up to 40")
        if any(feed.name == name for feed in feeds):
            raise ValueError(f"feed name {name!r} is used twice")
        feeds.append(Feed(name, url))
    return tuple(feeds)


def _named(entry: str) -> bool:
    before, sep, _ = entry.partition("=")
    return bool(sep) and "/" not in before and ":" not in before


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}-{n}"
    return candidate


def backoff(failures: int, base_seconds: float, max_seconds: float) -> timedelta:
    """How long to leave a feed alone after `failures` failed fetches in a row: doubling, capped."""
    return timedelta(seconds=doubling(failures, base_seconds, max_seconds))


def partner_id(feed: str, service_id: str) -> str:
    return f"{feed}:{service_id}"


def _point(location: Mapping[str, Any]) -> dict[str, Any] | None:
    """A location's place, when it has plausible coordinates or a UK postcode."""
    lat, lon = location.get("latitude"), location.get("longitude")
    has_point = isinstance(lat, int | float) and isinstance(lon, int | float) and -90 <= lat <= 90
    has_point = has_point and -180 <= lon <= 180
    postcodes = [normalise_postcode(a.get("postal_code") or "") for a in location.get("addresses") or ()]
    postcode = next((p for p in postcodes if p), None)
    if not has_point and not postcode:
        return None
    return {
        "latitude": float(lat) if has_point else None,
        "longitude": float(lon) if has_point else None,
        "postcode": postcode,
        "postcode_district": district_of(postcode) if postcode else None,
    }


def _terms(record: Mapping[str, Any]) -> list[str]:
    found: set[str] = set()
    for attribute in record.get("attributes") or ():
        term = attribute.get("taxonomy_term") or {}
        for value in (attribute.get("taxonomy_term_id"), term.get("id"), term.get("term"), term.get("name")):
            if value:
                found.add(str(value).strip().casefold())
    return sorted(found)


def from_record(feed: Feed, record: Mapping[str, Any], now: datetime) -> PartnerService:
    """Our copy of one validated ORUK service (a list item, or a fully nested one)."""
    organization = record.get("organization") or {}
    locations = [
        sal.get("location") or {} for sal in record.get("service_at_locations") or () if sal.get("location")
    ]
    return {
        "_id": partner_id(feed.name, record["id"]),
        "feed": feed.name,
        "service_id": record["id"],
        "organization": organization.get("name") or "",
        "organization_id": organization.get("id") or record.get("organization_id"),
        "name": record["name"],
        "description": record.get("description") or "",
        "url": record.get("url"),
        "email": record.get("email"),
        "status": record["status"],
        "fees": record.get("fees"),
        "min_age": record.get("minimum_age"),
        "max_age": record.get("maximum_age"),
        "assured_date": record.get("assured_date"),
        "last_modified": record.get("last_modified"),
        "languages": sorted({lang["name"] for lang in record.get("languages") or () if lang.get("name")}),
        "cost_options": [
            {"option": c.get("option"), "amount": c.get("amount")} for c in record.get("cost_options") or ()
        ],
        "terms": _terms(record),
        "places": [p for p in (_point(location) for location in locations) if p],
        "imported_at": to_str(now),
    }


def same_content(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether a re-import changes anything but the time it was seen."""
    return {k: v for k, v in old.items() if k in new and k != "imported_at"} == {
        k: v for k, v in new.items() if k != "imported_at"
    }


# Matching the public search's filters: a filter the data cannot answer excludes the service.


def offers(service: Mapping[str, Any], code: str) -> bool:
    offered = BY_ID.get(code)
    wanted = {code.casefold()} | ({offered.term_id, offered.label.casefold()} if offered else set())
    return bool(wanted & set(service.get("terms") or ()))


def takes_age(service: Mapping[str, Any], age: int) -> bool:
    low, high = service.get("min_age"), service.get("max_age")
    return (low is None or low <= age) and (high is None or age <= high)


def is_free(service: Mapping[str, Any]) -> bool:
    """Free only when the feed says what it costs and no option has a price."""
    options = service.get("cost_options") or ()
    return bool(options) and not any((o.get("amount") or 0) > 0 for o in options)


def speaks(service: Mapping[str, Any], language: str) -> bool:
    wanted = language.strip().casefold()
    return any(spoken.casefold() == wanted for spoken in service.get("languages") or ())


def nearest_km(service: Mapping[str, Any], near: tuple[float, float]) -> float | None:
    found = [
        distance_km(near[0], near[1], p["latitude"], p["longitude"])
        for p in service.get("places") or ()
        if p.get("latitude") is not None
    ]
    return min(found) if found else None


def in_district(service: Mapping[str, Any], district: str) -> bool:
    return any(p.get("postcode_district") == district for p in service.get("places") or ())


def mentions(service: Mapping[str, Any], text: str) -> bool:
    wanted = text.strip().casefold()
    return any(wanted in (service.get(f) or "").casefold() for f in ("name", "description", "organization"))


def order(services: Iterable[tuple[Mapping[str, Any], float | None]], by_distance: bool) -> list:
    def key(pair: tuple[Mapping[str, Any], float | None]) -> tuple:
        service, km = pair
        by_name = (service["name"].casefold(), service["_id"])
        return ((km,) if by_distance else ()) + by_name

    return sorted(services, key=key)


def hide_record(*, hidden: bool, by: str, role: str, now: datetime, reason: str | None) -> dict[str, Any]:
    record = {"at": to_str(now), "by": by, "role": role, "action": "hidden" if hidden else "shown"}
    if reason:
        record["reason"] = reason
    return record
