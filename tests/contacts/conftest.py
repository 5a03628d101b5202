"""Fixtures of the contacts service's tests: the API runs on each store adapter."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from ccshared import events, store
from ccshared.auth import StaffUser, TokenSigner
from ccshared.timeutil import FixedClock
from contacts.agencies import AgencyKeys
from contacts.app import create_app
from contacts.config import Settings
from contacts.read_model import CentreReadModel
from contacts.repository import AgencyRepository, CentreRepository
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient

STAFF_SECRET = "contacts-test-staff-secret"
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)

CENTRES = [
    # (centre_id, name, area, postcode, status)
    ("centre-north", "Test North Centre", "north", "L4 0AA", "open"),
    ("centre-north-2", "Test Second North Centre", "north", "L11 0AA", "open"),
    ("centre-central", "Test Central Centre", "central", "L1 0AA", "open"),
    ("centre-south", "Test South Centre", "south", "L8 0AA", "open"),
    ("centre-closed", "Test Closed Centre", "south", "L19 0AA", "closed"),
]

LETTER = {
    "channel": "letter",
    "centre_id": "centre-north",
    "subject": "Test subject about a nursery place",
    "summary": "Test summary text of the letter",
    "requester": {"name": "Test Parent", "reply_by": "post", "address": "1 Test Street, Liverpool L4 0AA"},
}

REFERRAL = {
    "centre_id": "centre-south",
    "referrer": {"name": "Test Referrer", "role": "health visitor", "email": "referrer@example.org"},
    "family": {"name": "Test Family Carer", "phone": "07700 900123", "postcode": "L8 0AA"},
    "children": [{"age_years": 2}, {"age_months": 7}],
    "support_needed": ["stay_and_play", "health_visitor_clinic"],
    "urgency": "soon",
    "consent": {"given": True, "recorded_by": "Test Referrer", "recorded_at": "2026-11-22T09:30:00+00:00"},
    "notes": "Test note: family new to the area",
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


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture(params=["sqlite", pytest.param("mongo", marks=pytest.mark.mongo)])
def store_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/contacts.db"
    return f"{request.getfixturevalue('mongo').url.rstrip('/')}/{request.getfixturevalue('fresh_mongo_db')}"


@pytest.fixture
def doc_store(store_url: str) -> Iterator[store.Store]:
    opened = store.connect(store_url)
    yield opened
    opened.close()


@pytest.fixture
def settings(store_url: str, tmp_path) -> Settings:
    return Settings(
        store_url=store_url,
        bus_url=f"sqlite:///{tmp_path}/events.db",
        staff_token_secret=STAFF_SECRET,
        encryption_key=Fernet.generate_key().decode(),
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
        },
        source="directory",
        time=NOW,
    )
    return events.decode(events.encode(envelope))


@pytest.fixture
def centres(doc_store: store.Store) -> CentreRepository:
    return seed_centres(doc_store)


def seed_centres(doc_store: store.Store) -> CentreRepository:
    repository = CentreRepository(doc_store)
    read_model = CentreReadModel(repository)
    for row in CENTRES:
        read_model.apply(centre_event(*row))
    return repository


@pytest.fixture
def centres_in() -> Callable[[Settings], CentreRepository]:
    """Seed the test centres into the store a Settings points at."""
    return lambda settings: seed_centres(store.connect(settings.store_url))


@pytest.fixture
def app(settings: Settings, doc_store: store.Store, clock: FixedClock, centres: CentreRepository) -> Flask:
    return create_app(settings, store=doc_store, clock=clock)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def staff_headers() -> Callable[..., dict]:
    signer = TokenSigner(STAFF_SECRET)

    def headers(role: str = "staff", area: str | None = "north", username: str = "test.staff") -> dict:
        return {"Authorization": f"Bearer {signer.issue(StaffUser(username, role, area))}"}

    return headers


@pytest.fixture
def agency_keys(doc_store: store.Store, clock: FixedClock) -> AgencyKeys:
    return AgencyKeys(AgencyRepository(doc_store), clock)


@pytest.fixture
def agency_headers(agency_keys: AgencyKeys) -> dict:
    return {"X-API-Key": agency_keys.create("Example Health Visitors").key}


@pytest.fixture
def other_agency_headers(agency_keys: AgencyKeys) -> dict:
    return {"X-API-Key": agency_keys.create("Example Job Centre").key}


@pytest.fixture
def letter() -> dict:
    return copy.deepcopy(LETTER)


@pytest.fixture
def referral() -> dict:
    return copy.deepcopy(REFERRAL)


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:8]
