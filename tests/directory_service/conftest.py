"""Fixtures of the directory's tests: the app on a store adapter, a fixed clock, staff tokens."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from ccshared.auth import StaffUser
from ccshared.store import connect
from ccshared.timeutil import FixedClock
from ccshared.web import provided
from directory import api
from directory.app import create_app
from directory.config import Settings
from directory.geocoder import Geocoder
from directory.sample import load_sample, sample_ids
from directory_testkit import NOW
from flask import Flask
from flask.testing import FlaskClient

from tests.infra import tokens

AppFactory = Callable[..., Flask]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture(params=["sqlite", pytest.param("mongo", marks=pytest.mark.mongo)])
def any_store_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """Each store adapter in turn: the embedded SQLite one and real FerretDB."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/directory.db"
    engine = request.getfixturevalue("mongo")
    return engine.store_url(request.getfixturevalue("fresh_mongo_db"))


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path}/directory.db"


@pytest.fixture
def make_app(clock: FixedClock, tmp_path) -> AppFactory:
    """Build an app; store_url and geocoder as the test needs, the sample centres loaded."""

    def build(
        store_url: str | None = None, *, geocoder_url: str = "", geocoder: Geocoder | None = None
    ) -> Flask:
        settings = Settings(
            store_url=store_url or f"sqlite:///{tmp_path}/directory.db",
            bus_url=f"sqlite:///{tmp_path}/events.db",
            staff_token_public_key=tokens.STAFF_PUBLIC,
            geocoder_url=geocoder_url,
            geocoder_timeout=1.0,
        )
        app = create_app(settings, store=connect(settings.store_url), clock=clock, geocoder=geocoder)
        load_sample(provided(app, api.Context).service)
        return app

    return build


@pytest.fixture
def client(make_app: AppFactory, sqlite_url: str) -> FlaskClient:
    """The API on SQLite with the sample centres."""
    return make_app(sqlite_url).test_client()


@pytest.fixture
def any_store_client(make_app: AppFactory, any_store_url: str) -> FlaskClient:
    """The API with the sample centres, once per store adapter."""
    return make_app(any_store_url).test_client()


@pytest.fixture
def ids() -> dict[str, str]:
    """Sample centre ids by slug (stable uuid5s)."""
    return sample_ids()


@pytest.fixture
def staff() -> Callable[..., tokens.TokenHeaders]:
    """staff(role, area) -> Authorization header of a signed staff token."""

    def headers(role: str, area: str | None = None, username: str | None = None) -> tokens.TokenHeaders:
        user = StaffUser(username or f"test.{role}.{area or 'all'}.{uuid.uuid4().hex[:4]}", role, area)
        return tokens.staff_headers(user, "directory")

    return headers
