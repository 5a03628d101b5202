"""Choosing the "nearest suitable" centre for a referral that names none.

Suitable first: among open centres, those offering every service asked for,
or, when none offers them all, those offering the most. Nearest next: by
distance when the referral gives a location and the centre's coordinates are
known (the directory's centre events carry them). Given only a postcode
district, a centre in that district comes first; beyond it, the district is
placed at the middle of the centres known in it (open or not) and centres are
ranked by distance from there, so L8 finds L7 next door before L9 across the
city. A district with no known centre falls back to the same postcode area's
closest district number (L7, L9 for L8). A centre that cannot be compared with
the referral's location (no coordinates, another postcode area) is not chosen.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ccshared import contracts as c
from ccshared.geo import distance_km, district_middle, outward_code
from ccshared.service_types import label

from .domain import Centre

# Liverpool is some 15 km across: a place further than this from every centre is not one of its families'.
FARTHEST_KM = 30.0
_AREA_AND_NUMBER = re.compile(r"([A-Z]+)(\d+)")  # of an outward code: L and 8 in L8, EC and 1 in EC1A
# How a centre compares with the family's place, best first (the first item of a nearness).
BY_DISTANCE, SAME_DISTRICT, FROM_DISTRICT_CENTRES, BY_DISTRICT_NUMBER = range(4)


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


def _district_steps(wanted: str, centre_district: str) -> int | None:
    """0 for the same district, else 1 + the difference of their numbers in one postcode area."""
    if wanted == centre_district:
        return 0
    want, have = _AREA_AND_NUMBER.match(wanted), _AREA_AND_NUMBER.match(centre_district)
    if not want or not have or want.group(1) != have.group(1):
        return None
    return 1 + abs(int(want.group(2)) - int(have.group(2)))


def _located(centre: Centre) -> bool:
    return centre.latitude is not None and centre.longitude is not None


def _nearness(place: Place, middle: tuple[float, float] | None, centre: Centre) -> tuple[int, float] | None:
    """A sortable nearness (how it was measured, then km or district steps); None if not comparable."""
    if place.has_coordinates and _located(centre):
        return BY_DISTANCE, distance_km(place.lat, place.lon, centre.latitude, centre.longitude)  # type: ignore[arg-type]
    centre_district = outward_code(centre.postcode)
    if place.district is None or centre_district is None:
        return None
    if centre_district == place.district:
        return SAME_DISTRICT, 0.0
    if middle is not None and _located(centre):
        return FROM_DISTRICT_CENTRES, distance_km(*middle, centre.latitude, centre.longitude)  # type: ignore[arg-type]
    steps = _district_steps(place.district, centre_district)
    return None if steps is None else (BY_DISTRICT_NUMBER, float(steps))


def farthest_from_every_centre(centres: Iterable[Centre], place: Place) -> float | None:
    """How far a place given by coordinates is from the nearest located centre, in km, when
    that is more than FARTHEST_KM: a place outside the city, or lat and lon given the wrong
    way round (53.4, -2.98 is Liverpool; -2.98, 53.4 is the Indian Ocean). None otherwise."""
    if not place.has_coordinates:
        return None
    kms = [
        distance_km(place.lat, place.lon, centre.latitude, centre.longitude)  # type: ignore[arg-type]
        for centre in centres
        if _located(centre)
    ]
    return min(kms) if kms and min(kms) > FARTHEST_KM else None


def nearest_suitable(centres: Iterable[Centre], place: Place, wanted: Sequence[str]) -> Choice | None:
    """The open centre that best fits the services wanted, nearest first; None if none compares."""
    known = list(centres)
    middle = (
        None
        if place.has_coordinates or place.district is None
        else district_middle(place.district, ((x.postcode, x.latitude, x.longitude) for x in known))
    )
    ranked = []
    for centre in known:
        if centre.status != c.CENTRE_OPEN:
            continue
        nearness = _nearness(place, middle, centre)
        if nearness is None:
            continue
        missing = tuple(code for code in wanted if code not in centre.services)
        ranked.append((len(missing), nearness, centre.name, centre.id, centre, missing))
    if not ranked:
        return None
    missing_count, nearness, _, _, centre, missing = min(ranked, key=lambda item: item[:4])
    distance = round(nearness[1], 1) if nearness[0] == BY_DISTANCE else None
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
    how, amount = nearness
    if how == BY_DISTANCE:
        near = f"{amount:.1f} km from the location given"
    elif how == SAME_DISTRICT:
        near = f"in the postcode district {place.district}"
    elif how == FROM_DISTRICT_CENTRES:
        near = f"about {amount:.1f} km from the centres in {place.district} ({outward_code(centre.postcode)})"
    else:
        near = f"in the nearest postcode district to {place.district} ({outward_code(centre.postcode)})"
    return f"{centre.name}: {fit}; nearest such centre, {near}."
