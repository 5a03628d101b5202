"""UK postcodes and distances: pure functions, no I/O."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from statistics import fmean

_FULL = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)\s*([0-9][A-Z]{2})$")
_DISTRICT = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?$")
EARTH_RADIUS_KM = 6371.0088


def normalise_postcode(raw: str) -> str | None:
    """'l81aa' -> 'L8 1AA'; None when it is not a UK postcode."""
    match = _FULL.match(raw.strip().upper())
    return f"{match.group(1)} {match.group(2)}" if match else None


def normalise_district(raw: str) -> str | None:
    """'l8' -> 'L8'; None when it is not an outward code."""
    text = raw.strip().upper()
    return text if _DISTRICT.match(text) else None


def normalise_postcode_or_district(raw: str) -> str | None:
    """'l81aa' -> 'L8 1AA', 'l8' -> 'L8'; None when it is neither a UK postcode nor a district."""
    return normalise_postcode(raw) or normalise_district(raw)


def district_of(postcode: str) -> str:
    """The outward code ('L8') of a normalised postcode ('L8 1AA')."""
    return postcode.split(" ", 1)[0]


def outward_code(raw: str) -> str | None:
    """The district ('L8') of a postcode or of a bare district as typed ('l81aa', 'L8'); None if neither."""
    full = normalise_postcode(raw)
    return district_of(full) if full else normalise_district(raw)


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def district_middle(
    district: str, places: Iterable[tuple[str | None, float | None, float | None]]
) -> tuple[float, float] | None:
    """Where a postcode district lies when no geocoder can say: the middle (mean latitude and
    longitude) of the places known in it, each given as (postcode, latitude, longitude), whatever
    their status. None when none of them in the district has coordinates."""
    points = [
        (lat, lon)
        for postcode, lat, lon in places
        if lat is not None and lon is not None and postcode and outward_code(postcode) == district
    ]
    if not points:
        return None
    return fmean(lat for lat, _ in points), fmean(lon for _, lon in points)
