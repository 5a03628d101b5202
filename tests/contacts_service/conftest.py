"""Fixtures of the contacts service's tests: the API runs on each store adapter."""

from __future__ import annotations

import copy
import os
import secrets
import threading
import uuid
from collections.abc import Callable, Iterator

import pytest
from ccshared import store
from ccshared.auth import StaffUser
from ccshared.timeutil import FixedClock
from contacts.agencies import AgencyKeys
from contacts.app import create_app
from contacts.config import Settings
from contacts.crypto import PersonalDataCipher
from contacts.read_model import CentreReadModel
from contacts.repository import AgencyRepository, CentreRepository
from contacts_testkit import CENTRES, NOW, centre_event
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient

from tests.infra import tokens
from tests.infra.payloads import LETTER, REFERRAL


@pytest.fixture
def cli_env(tmp_path) -> dict[str, str]:
    """The environment a contacts command runs with: its own SQLite store and log, fresh keys."""
    return {
        **{name: value for name, value in os.environ.items() if name in ("PATH", "HOME", "LANG")},
        "STORE_URL": f"sqlite:///{tmp_path}/contacts.db",
        "EVENT_BUS_URL": f"sqlite:///{tmp_path}/events.db",
        **tokens.key_env("contacts"),
        "CONTACTS_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "CONTACTS_BLIND_INDEX_KEY": secrets.token_urlsafe(32),
    }


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture(params=["sqlite", pytest.param("mongo", marks=pytest.mark.mongo)])
def store_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/contacts.db"
    return request.getfixturevalue("mongo").store_url(request.getfixturevalue("fresh_mongo_db"))


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
        staff_token_public_key=tokens.STAFF_PUBLIC,
        service_token_public_key=tokens.SERVICE_PUBLIC,
        encryption_key=Fernet.generate_key().decode(),
        blind_index_key=secrets.token_urlsafe(32),
    )


def seed_centres(doc_store: store.Store) -> CentreRepository:
    repository = CentreRepository(doc_store)
    read_model = CentreReadModel(repository)
    for row in CENTRES:
        read_model.apply(centre_event(*row))
    return repository


@pytest.fixture
def centres(doc_store: store.Store) -> CentreRepository:
    return seed_centres(doc_store)


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
def staff_headers() -> Callable[..., tokens.TokenHeaders]:
    def headers(
        role: str = "staff", area: str | None = "north", username: str = "test.staff"
    ) -> tokens.TokenHeaders:
        return tokens.staff_headers(StaffUser(username, role, area), "contacts")

    return headers


@pytest.fixture
def agency_keys(doc_store: store.Store, clock: FixedClock, settings: Settings) -> AgencyKeys:
    return AgencyKeys(AgencyRepository(doc_store), clock, PersonalDataCipher(settings.encryption_key))


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


@pytest.fixture
def running() -> Iterator[Callable]:
    """Start worker tasks in threads; stop them after the test and fail if one died."""
    stop = threading.Event()
    threads: list[threading.Thread] = []
    errors: list[BaseException] = []

    def guarded(task: Callable[[threading.Event], None]) -> None:
        try:
            task(stop)
        except BaseException as exc:  # noqa: BLE001 - reported when the test ends
            errors.append(exc)
            raise

    def start(*tasks) -> None:
        for task in tasks:
            thread = threading.Thread(target=guarded, args=(task,), daemon=True)
            thread.start()
            threads.append(thread)

    yield start
    stop.set()
    for thread in threads:
        thread.join(timeout=15)
    assert not errors, f"a worker task died: {errors!r}"
