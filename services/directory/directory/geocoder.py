"""The geocoder port: a full postcode to coordinates.

Production points GEOCODER_URL at Postcodes.io (or anything that answers like
it: GET {url}/postcodes/{postcode} -> {"result": {"latitude", "longitude"}}).
Without one, or when it fails, searches are measured from the middle of the
postcode's district (DirectoryService.locate), so a geocoder outage degrades
the search instead of breaking it.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from typing import Protocol

log = logging.getLogger(__name__)

Point = tuple[float, float]


class Geocoder(Protocol):
    def locate(self, postcode: str) -> Point | None:
        """(latitude, longitude) of a normalised postcode, or None if unknown or unavailable."""


class NoGeocoder:
    """No geocoding configured: every search is measured from the postcode's district."""

    def locate(self, postcode: str) -> Point | None:
        return None


class PostcodesIoGeocoder:
    def __init__(self, base_url: str, timeout: float = 2.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def locate(self, postcode: str) -> Point | None:
        url = f"{self.base_url}/postcodes/{urllib.parse.quote(postcode)}"
        request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310 - http(s) only, checked in config
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - URL scheme checked in config
                body = json.load(response)
            result = body["result"]
            return float(result["latitude"]), float(result["longitude"])
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                log.warning("geocoder refused a lookup", extra={"status": exc.code})
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning(
                "geocoder unavailable; measuring from the postcode district", extra={"error": repr(exc)}
            )
            return None


def from_url(url: str | None, timeout: float = 2.0) -> Geocoder:
    return PostcodesIoGeocoder(url, timeout) if url else NoGeocoder()
