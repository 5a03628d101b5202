"""Choosing the "nearest suitable" centre for a referral.

The directory's centre events carry a postcode but no coordinates, so nearness
is judged by postcode district: the same outward code first (L8 for L8 1AB),
then the same postcode area with the closest district number (L7, L9 for L8).
Latitude and longitude cannot be used until the events carry them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ccshared import contracts as c

from .domain import Centre

_OUTWARD = re.compile(r"^([A-Z]{1,2})(\d{1,2})([A-Z]?)$")


def district_of(postcode: str) -> str | None:
    """The outward code (district) of a full postcode or of a bare district."""
    compact = postcode.strip().upper()
    outward = compact.split()[0] if " " in compact else compact
    if " " not in compact and len(compact) > 4:
        outward = compact[:-3]
    return outward if _OUTWARD.match(outward) else None


def _distance(wanted: str, centre_district: str) -> int | None:
    if wanted == centre_district:
        return 0
    want, have = _OUTWARD.match(wanted), _OUTWARD.match(centre_district)
    if not want or not have or want.group(1) != have.group(1):
        return None
    return 1 + abs(int(want.group(2)) - int(have.group(2)))


def nearest_centre(centres: Iterable[Centre], district: str) -> Centre | None:
    """The open centre nearest the district, or None when none is in its postcode area."""
    ranked = []
    for centre in centres:
        centre_district = district_of(centre.postcode)
        if centre.status != c.CENTRE_OPEN or centre_district is None:
            continue
        distance = _distance(district, centre_district)
        if distance is not None:
            ranked.append((distance, centre.name, centre.id, centre))
    return min(ranked, key=lambda item: item[:3])[3] if ranked else None
