"""Choosing the "nearest suitable" centre for a referral that names none.

Suitable first: among open centres, those offering every service asked for,
or, when none offers them all, those offering the most. Nearest next: by
distance when the referral gives a location and the centre's coordinates are
known (the directory's centre events carry them), else by postcode district:
the same district first (L8 for L8 1AB), then the same postcode area with the
closest district number (L7, L9 for L8). A centre that cannot be compared with
the referral's location (no coordinates, another postcode area) is not chosen.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ccshared import contracts as c
from ccshared.geo import distance_km
from ccshared.service_types import label

from .domain import Centre

_OUTWARD = re.compile(r"^([A-Z]{1,2})(\d{1,2})([A-Z]?)$")


@dataclass(frozen=True)
class Place:
    """Where the family is, as the referrer gave it: a district, coordinates, or both."""

    district: str | None = None
    lat: float | None = None
    lon: float | None = None

    @property
    def has_coordinates(self) -> bool:
        return self.lat is not None and self.lon is not None


@dataclass(frozen=True)
class Choice:
    centre: Centre
    offers_all: bool
    missing: tuple[str, ...]
    distance_km: float | None
    reason: str


def district_of(postcode: str) -> str | None:
    """The outward code (district) of a full postcode or of a bare district."""
    compact = postcode.strip().upper()
    outward = compact.split()[0] if " " in compact else compact
    if " " not in compact and len(compact) > 4:
        outward = compact[:-3]
    return outward if _OUTWARD.match(outward) else None


def _district_distance(wanted: str, centre_district: str) -> int | None:
    if wanted == centre_district:
        return 0
    want, have = _OUTWARD.match(wanted), _OUTWARD.match(centre_district)
    if not want or not have or want.group(1) != have.group(1):
        return None
    return 1 + abs(int(want.group(2)) - int(have.group(2)))


def _nearness(place: Place, centre: Centre) -> tuple[int, float] | None:
    """A sortable nearness: by km when both have coordinates, else by district steps."""
    if place.has_coordinates and centre.latitude is not None and centre.longitude is not None:
        return (0, distance_km(place.lat, place.lon, centre.latitude, centre.longitude))  # type: ignore[arg-type]
    centre_district = district_of(centre.postcode)
    if place.district is None or centre_district is None:
        return None
    steps = _district_distance(place.district, centre_district)
    return None if steps is None else (1, float(steps))


def nearest_suitable(centres: Iterable[Centre], place: Place, wanted: Sequence[str]) -> Choice | None:
    """The open centre that best fits the services wanted, nearest first; None if none compares."""
    ranked = []
    for centre in centres:
        if centre.status != c.CENTRE_OPEN:
            continue
        nearness = _nearness(place, centre)
        if nearness is None:
            continue
        missing = tuple(code for code in wanted if code not in centre.services)
        ranked.append((len(missing), nearness, centre.name, centre.id, centre, missing))
    if not ranked:
        return None
    missing_count, nearness, _, _, centre, missing = min(ranked, key=lambda item: item[:4])
    distance = round(nearness[1], 1) if nearness[0] == 0 else None
    return Choice(centre, not missing, missing, distance, _reason(centre, wanted, missing, nearness, place))


def _reason(
    centre: Centre, wanted: Sequence[str], missing: Sequence[str], nearness: tuple[int, float], place: Place
) -> str:
    if not missing:
        fit = "offers every service asked for"
    elif len(missing) == len(wanted):
        names = ", ".join(label(code) for code in missing)
        fit = f"no open centre offers {names}; sent to the nearest centre to sign-post the family"
    else:
        names = ", ".join(label(code) for code in missing)
        fit = f"no open centre offers every service asked for; it offers the most (not {names})"
    if nearness[0] == 0:
        near = f"{nearness[1]:.1f} km from the location given"
    elif nearness[1] == 0:
        near = f"in the postcode district {place.district}"
    else:
        near = f"in the nearest postcode district to {place.district} ({district_of(centre.postcode)})"
    return f"{centre.name}: {fit}; nearest such centre, {near}."
