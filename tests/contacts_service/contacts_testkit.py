"""Test data and helpers of the contacts service's tests (fake values only)."""

from __future__ import annotations

from datetime import UTC, datetime

from ccshared import events
from ccshared.bus import Bus
from ccshared.outbox import OUTBOX
from ccshared.store import Store, StoreUnavailable
from ccshared.timeutil import Clock
from ccshared.web import field_paths
from contacts.config import Settings
from contacts.idempotency import idempotent_requests
from contacts.repository import CONTACTS, AuditLog, ContactRepository
from contacts.retention import erase_expired
from contacts.scrubbing import OwedScrub
from prometheus_client import REGISTRY

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)

CENTRES = [
    # (centre_id, name, area, postcode, status)
    ("centre-north", "Test North Centre", "north", "L4 0AA", "open"),
    ("centre-north-2", "Test Second North Centre", "north", "L11 0AA", "open"),
    ("centre-central", "Test Central Centre", "central", "L1 0AA", "open"),
    ("centre-south", "Test South Centre", "south", "L8 0AA", "open"),
    ("centre-closed", "Test Closed Centre", "south", "L19 0AA", "closed"),
]
# What the directory says each offers, and where (made-up points around the city).
CENTRE_SERVICES = {
    "centre-north": ("childcare", "stay-and-play", "health-visitor-clinic"),
    "centre-north-2": ("childcare", "send-support"),
    "centre-central": ("stay-and-play", "employment-support", "adult-learning"),
    "centre-south": ("stay-and-play", "health-visitor-clinic", "speech-and-language"),
    "centre-closed": ("childcare", "send-support", "speech-and-language"),
}
CENTRE_LOCATIONS = {
    "centre-north": (53.433, -2.961),
    "centre-north-2": (53.452, -2.905),
    "centre-central": (53.407, -2.983),
    "centre-south": (53.389, -2.966),
}


PERSONAL_VALUES = (
    "Test Parent",
    "1 Test Street",
    "Test subject about a nursery place",
    "Test summary text",
    "Test Referrer",
    "referrer@example.org",
    "Test Family Carer",
    "07700 900123",
    "Test note",
    "age_years",
    "age_months",
)


def centre_event(
    centre_id: str,
    name: str,
    area: str,
    postcode: str,
    status: str,
    version: int = 1,
    type_: str = "centre.created.v1",
) -> events.Event:
    envelope = events.make(
        type_,
        centre_id,
        {
            "centre_id": centre_id,
            "name": name,
            "area": area,
            "ward": "Test Ward",
            "postcode": postcode,
            "status": status,
            "version": version,
            "services": list(CENTRE_SERVICES.get(centre_id, ())),
            "latitude": CENTRE_LOCATIONS.get(centre_id, (None, None))[0],
            "longitude": CENTRE_LOCATIONS.get(centre_id, (None, None))[1],
        },
        source="directory",
        time=NOW,
    )
    return events.decode(events.encode(envelope))


def metric(name: str) -> float:
    """A sample of the process's Prometheus registry (0 if not yet set)."""
    return REGISTRY.get_sample_value(name) or 0.0


class ScrubFailsOnce:
    """The test store, whose first scrub fails as one does while a reader holds SQLite's WAL
    (the checkpoint cannot complete): nothing scrubbed, StoreUnavailable raised."""

    def __init__(self, store: Store):
        self.store = store
        self.failed = 0
        self.scrubbed = 0

    def __getattr__(self, name: str):
        return getattr(self.store, name)

    def scrub(self) -> None:
        if not self.failed:
            self.failed += 1
            raise StoreUnavailable("test store: a reader kept the WAL from being checkpointed")
        self.store.scrub()
        self.scrubbed += 1


def erase(doc_store: Store, clock: Clock, settings: Settings, retention_days: int = 365) -> int:
    """Run retention erasure on the test store as the erase-expired command does."""
    return erase_expired(
        ContactRepository(doc_store, clock),
        AuditLog(doc_store),
        idempotent_requests(settings, doc_store, clock),
        clock,
        retention_days,
        OwedScrub(doc_store, clock),
    )


def staged(doc_store: Store, contact_id: str, type_: str) -> list[events.Event]:
    """The contact's events of one type waiting in its outbox for the relay."""
    envelopes = doc_store.collection(CONTACTS).get(contact_id)[OUTBOX]
    decoded = [events.decode(events.encode(envelope)) for envelope in envelopes]
    return [event for event in decoded if event.type == type_]


def staged_erasures(doc_store: Store, contact_id: str) -> list[events.Event]:
    """The contact's personal_erased events waiting in its outbox for the relay."""
    return staged(doc_store, contact_id, "contact.personal_erased.v1")


def publish_centres(event_bus: Bus, topic: str, rows: list[tuple]) -> None:
    producer = event_bus.producer()
    for row in rows:
        envelope = events.make(
            row[0],
            row[1],
            {
                "centre_id": row[1],
                "name": "Test Kafka Centre",
                "area": row[2],
                "ward": "Test Ward",
                "postcode": "L2 0AA",
                "status": row[3],
                "version": row[4],
            },
            source="directory",
            time=NOW,
        )
        producer.publish(topic, row[1], events.encode(envelope))
    producer.close()


def names(error: dict, field: str) -> bool:
    """Whether a 422's envelope names `field` (a dotted path), or a field within it, in `fields`."""
    paths = field_paths(error["error"]["fields"])
    return any(path == field or path.startswith(f"{field}.") for path in paths)
