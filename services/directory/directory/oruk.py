"""Centres as Open Referral UK (HSDS 3.0 UK profile) records.

Each centre is published as one service (the children's centre offer) at one
physical location; what it offers becomes taxonomy-term attributes from the
directory's own vocabulary, its weekly sessions become schedules, and its last
verification date becomes `assured_date`; a SAMPLE centre says so in its
`description`. Every id is a UUID derived from the centre id, so the same
record keeps the same ids across requests and restarts.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ccshared.contracts import (
    CENTRE_CLOSED_STATUS,
    CENTRE_OPEN,
    CENTRE_TEMPORARILY_CLOSED,
    ORUK_ACTIVE,
    ORUK_DEFUNCT,
    ORUK_TEMPORARILY_CLOSED,
)
from ccshared.service_types import BY_ID, NAMESPACE, SERVICE_TYPES, TAXONOMY_NAME, ServiceType
from ccshared.timeutil import LONDON, from_str, to_str

from . import hours, sample
from .vocabulary import RRULE_DAYS, WEEKDAYS

HSDS_VERSION = "3.0"
PROFILE_URL = "https://github.com/OpenReferralUK/uk-profile"
STATUS = {
    CENTRE_OPEN: ORUK_ACTIVE,
    CENTRE_TEMPORARILY_CLOSED: ORUK_TEMPORARILY_CLOSED,
    CENTRE_CLOSED_STATUS: ORUK_DEFUNCT,
}
COUNTY = "Merseyside"
COUNTRY = "GB"
ALERT_DAYS = 14
SAMPLE_NOTICE = "SAMPLE DATA, invented for demonstration: not one of Liverpool's children's centres."

Centre = Mapping[str, Any]


TAXONOMY_ID = str(uuid.uuid5(NAMESPACE, f"taxonomy:{TAXONOMY_NAME}"))


@dataclass(frozen=True)
class Organization:
    name: str

    @property
    def id(self) -> str:
        return str(uuid.uuid5(NAMESPACE, f"organization:{self.name}"))

    def as_oruk(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": "Sure Start children's centres: one-stop shops for families with children under five.",
        }

    def in_full(self) -> dict[str, Any]:
        return {**self.as_oruk(), "organization_identifiers": [], "attributes": []}


def taxonomy(with_terms: bool = False) -> dict[str, Any]:
    """The one taxonomy the feed uses: the services a centre can offer (ccshared.service_types)."""
    record = {
        "id": TAXONOMY_ID,
        "name": TAXONOMY_NAME,
        "description": "The services Liverpool's children's centres offer.",
    }
    if with_terms:
        record["taxonomy_terms"] = [taxonomy_term(offered) for offered in SERVICE_TYPES]
    return record


def taxonomy_term(offered: ServiceType) -> dict[str, Any]:
    return {
        "id": offered.term_id,
        "name": offered.label,
        "description": offered.description,
        "taxonomy": TAXONOMY_NAME,
        "taxonomy_id": TAXONOMY_ID,
        "term": offered.id,
    }


def derived_id(centre: Centre, what: str) -> str:
    return str(uuid.uuid5(uuid.UUID(centre["_id"]), what))


@dataclass(frozen=True)
class ScheduleFilter:
    """ORUK's day / start_time / end_time: a weekly session that satisfies all given."""

    day: str | None = None
    start_time: str | None = None
    end_time: str | None = None

    def matches(self, centre: Centre) -> bool:
        if not (self.day or self.start_time or self.end_time):
            return True
        days = [self.day] if self.day else list(WEEKDAYS)
        times = centre.get("opening_times") or {}
        return any(self._fits(session) for day in days for session in times.get(day) or [])

    def _fits(self, session: Mapping[str, str]) -> bool:
        return (self.start_time is None or session["opens"] >= self.start_time) and (
            self.end_time is None or session["closes"] <= self.end_time
        )


@dataclass(frozen=True)
class ServiceFilter:
    modified_after: datetime | None = None
    minimum_age: float | None = None
    maximum_age: float | None = None
    schedule: ScheduleFilter = ScheduleFilter()
    taxonomy_id: str | None = None

    def matches(self, centre: Centre) -> bool:
        if self.modified_after and centre["updated_at"] < to_str(self.modified_after):
            return False
        if self.taxonomy_id is not None and not (
            self.taxonomy_id == TAXONOMY_ID and any(s in BY_ID for s in centre.get("services") or ())
        ):
            return False
        if self.minimum_age is not None and centre["min_age"] < self.minimum_age:
            return False
        if self.maximum_age is not None and centre["max_age"] > self.maximum_age:
            return False
        return self.schedule.matches(centre)


def _without_none(record: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if value is not None}


def _instant(text: str) -> str:
    return from_str(text).strftime("%Y-%m-%dT%H:%M:%S.") + f"{from_str(text).microsecond // 1000:03d}Z"


def _assured_date(centre: Centre) -> str | None:
    raw = centre.get("last_verified_at")
    return from_str(raw).astimezone(LONDON).date().isoformat() if raw else None


def _alert(centre: Centre, now: datetime) -> str | None:
    if centre["status"] == CENTRE_TEMPORARILY_CLOSED:
        return "Temporarily closed."
    today = hours.local(now).date()
    upcoming = [
        e
        for e in centre.get("exceptions") or ()
        if e.get("closed") and 0 <= (date.fromisoformat(e["date"]) - today).days <= ALERT_DAYS
    ]
    if not upcoming:
        return None
    return " ".join(
        f"Closed on {e['date']}" + (f": {e['note']}." if e.get("note") else ".") for e in upcoming
    )


def _description(centre: Centre) -> str:
    """The centre's description; a SAMPLE centre's opens with SAMPLE_NOTICE, since a service has
    no field that says it is invented and a federated reader must not import it as real."""
    described = centre.get("description") or f"Children's centre in {centre['ward']}, Liverpool."
    return f"{SAMPLE_NOTICE} {described}" if sample.is_sample(centre["_id"]) else described


def service_summary(centre: Centre, organization: Organization, now: datetime) -> dict[str, Any]:
    """The one-to-one fields of a service (an item of GET /services)."""
    return _without_none(
        {
            "id": centre["_id"],
            "organization_id": organization.id,
            "name": centre["name"],
            "description": _description(centre),
            "url": centre.get("website"),
            "email": centre.get("email"),
            "status": STATUS[centre["status"]],
            "minimum_age": centre.get("min_age"),
            "maximum_age": centre.get("max_age"),
            "assured_date": _assured_date(centre),
            "alert": _alert(centre, now),
            "last_modified": _instant(centre["updated_at"]),
            "organization": organization.as_oruk(),
        }
    )


def location_summary(centre: Centre) -> dict[str, Any]:
    location = centre.get("location") or {}
    return _without_none(
        {
            "id": derived_id(centre, "location"),
            "location_type": "physical",
            "name": centre["name"],
            "latitude": location.get("latitude"),
            "longitude": location.get("longitude"),
        }
    )


def _address(centre: Centre) -> dict[str, Any]:
    address = centre["address"]
    return _without_none(
        {
            "id": derived_id(centre, "address"),
            "location_id": derived_id(centre, "location"),
            "address_1": address["line1"],
            "address_2": address.get("line2"),
            "city": address.get("town") or "Liverpool",
            "state_province": COUNTY,
            "postal_code": centre["postcode"],
            "country": COUNTRY,
            "address_type": "physical",
        }
    )


def _location(centre: Centre) -> dict[str, Any]:
    record = location_summary(centre)
    record["addresses"] = [_address(centre)]
    record["accessibility"] = (
        [
            {
                "id": derived_id(centre, "accessibility"),
                "location_id": record["id"],
                "description": centre["accessibility"],
            }
        ]
        if centre.get("accessibility")
        else []
    )
    record["attributes"] = []
    return record


def _schedules(centre: Centre) -> list[dict[str, Any]]:
    sal_id = service_at_location_id(centre)
    schedules = []
    for day in WEEKDAYS:
        for session in (centre.get("opening_times") or {}).get(day) or []:
            opens, closes = session["opens"], session["closes"]
            schedules.append(
                {
                    "id": derived_id(centre, f"schedule:{day}:{opens}-{closes}"),
                    "service_id": centre["_id"],
                    "service_at_location_id": sal_id,
                    "freq": "WEEKLY",
                    "interval": 1,
                    "byday": RRULE_DAYS[day],
                    "opens_at": opens,
                    "closes_at": closes,
                    "description": f"{day.capitalize()} {opens} to {closes}",
                    "attending_type": "in person",
                }
            )
    return schedules


def _attributes(centre: Centre) -> list[dict[str, Any]]:
    attributes = []
    for service_id in centre.get("services") or []:
        offered = BY_ID.get(service_id)
        if offered is None:
            continue
        attributes.append(
            {
                "id": derived_id(centre, f"attribute:{offered.id}"),
                "link_id": centre["_id"],
                "link_type": "service",
                "taxonomy_term_id": offered.term_id,
                "taxonomy_term": taxonomy_term(offered),
            }
        )
    return attributes


def _phones(centre: Centre) -> list[dict[str, Any]]:
    if not centre.get("phone"):
        return []
    return [{"id": derived_id(centre, "phone"), "service_id": centre["_id"], "number": centre["phone"]}]


def _languages(centre: Centre) -> list[dict[str, Any]]:
    return [
        {"id": derived_id(centre, f"language:{name.casefold()}"), "service_id": centre["_id"], "name": name}
        for name in centre.get("languages") or ()
    ]


def _cost_options(centre: Centre) -> list[dict[str, Any]]:
    return [
        _without_none(
            {
                "id": derived_id(centre, f"cost_option:{n}"),
                "service_id": centre["_id"],
                "option": option["option"],
                "amount": option.get("amount"),
                "amount_description": option.get("amount_description") or None,
            }
        )
        for n, option in enumerate(centre.get("cost_options") or ())
    ]


def service_full(centre: Centre, organization: Organization, now: datetime) -> dict[str, Any]:
    """A fully nested service (GET /services/{id})."""
    record = service_summary(centre, organization, now)
    sal = {
        "id": service_at_location_id(centre),
        "service_id": centre["_id"],
        "location_id": derived_id(centre, "location"),
        "location": _location(centre),
    }
    record.update(
        schedules=_schedules(centre),
        service_at_locations=[sal],
        attributes=_attributes(centre),
        phones=_phones(centre),
        service_areas=[],
        languages=_languages(centre),
        funding=[],
        cost_options=_cost_options(centre),
        contacts=[],
    )
    return record


def service_minimal(centre: Centre) -> dict[str, Any]:
    """An item of GET /services?minimal=true: the id and when it last changed, with the name and
    status the page schema (service_list.json) requires of every item, whatever `minimal` says."""
    return {
        "id": centre["_id"],
        "name": centre["name"],
        "status": STATUS[centre["status"]],
        "last_modified": _instant(centre["updated_at"]),
    }


def service_at_location_id(centre: Centre) -> str:
    return derived_id(centre, "service_at_location")


def service_at_location_full(centre: Centre, organization: Organization, now: datetime) -> dict[str, Any]:
    """GET /service_at_locations/{id}: the location in full, and its service."""
    service = service_full(centre, organization, now)
    del service["service_at_locations"]
    return {
        "id": service_at_location_id(centre),
        "service_id": centre["_id"],
        "location_id": derived_id(centre, "location"),
        "location": _location(centre),
        "service": service,
    }


def service_at_location_summary(centre: Centre, organization: Organization, now: datetime) -> dict[str, Any]:
    """An item of GET /service_at_locations."""
    return {
        "id": service_at_location_id(centre),
        "service_id": centre["_id"],
        "location_id": derived_id(centre, "location"),
        "location": location_summary(centre),
        "service": service_summary(centre, organization, now),
    }


def page_envelope(contents: list[dict], total: int, page: int, per_page: int) -> dict[str, Any]:
    """HSDS's page envelope."""
    total_pages = -(-total // per_page) if total else 0
    return {
        "total_items": total,
        "total_pages": total_pages,
        "page_number": page,
        "size": len(contents),
        "first_page": page == 1,
        "last_page": page >= total_pages,
        "empty": not contents,
        "contents": contents,
    }
