"""Loading the SAMPLE centres (sample_centres.json) through the service layer.

Each centre goes through the same validation and `create` command as a staff
edit, so it raises centre.created.v1 through the outbox. Ids are uuid5 of the
file's namespace and each slug, so a second load finds them and adds nothing.
Verification ages and dated exceptions are stored relative to the day of
loading, so "stale" and "closed on" demos work whenever the data is loaded.
"""

from __future__ import annotations

import functools
import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from typing import Any

from ccshared.contracts import ROLE_ADMIN
from ccshared.errors import Conflict

from . import hours
from .schemas import CentreInputSchema
from .service import DirectoryService

LOADER = "sample-data"


@dataclass(frozen=True)
class SampleLoader:
    username: str = LOADER
    role: str = ROLE_ADMIN
    area: str | None = None


@dataclass(frozen=True)
class Loaded:
    created: int
    existing: int


def sample_file() -> dict[str, Any]:
    return json.loads(
        resources.files("directory").joinpath("sample_centres.json").read_text(encoding="utf-8")
    )


def sample_ids() -> dict[str, str]:
    """{slug: centre id} of every sample centre."""
    data = sample_file()
    namespace = uuid.UUID(data["namespace"])
    return {entry["slug"]: str(uuid.uuid5(namespace, entry["slug"])) for entry in data["centres"]}


@functools.cache
def _sample_id_set() -> frozenset[str]:
    return frozenset(sample_ids().values())


def is_sample(centre_id: str) -> bool:
    """One of the SAMPLE centres (an id of the sample file's namespace), however edited or
    verified since: invented data, for demonstrations, never the council's list."""
    return centre_id in _sample_id_set()


def _details(entry: dict[str, Any], today: Any) -> dict[str, Any]:
    details = dict(entry["details"])
    details["exceptions"] = [
        {
            **{k: v for k, v in e.items() if k != "in_days"},
            "date": (today + timedelta(days=e["in_days"])).isoformat(),
        }
        for e in entry.get("exceptions_in_days", [])
    ]
    return CentreInputSchema().load(details)


def load_sample(service: DirectoryService) -> Loaded:
    data = sample_file()
    namespace = uuid.UUID(data["namespace"])
    now = service.clock.now()
    today = hours.local(now).date()
    created = existing = 0
    for entry in data["centres"]:
        centre_id = str(uuid.uuid5(namespace, entry["slug"]))
        if service.repository.get(centre_id) is not None:
            existing += 1
            continue
        verified_at = now - timedelta(days=entry["verified_days_ago"])
        try:
            service.create(
                _details(entry, today), SampleLoader(), centre_id=centre_id, verified_at=verified_at
            )
            created += 1
        except Conflict:
            existing += 1
    return Loaded(created, existing)
