"""Fixtures of the front end's tests.

Page tests: the app on a SQLite store in tmp_path with the services faked at
the transport port (`web_app`, `services`, `sign_in`).
Browser tests: `system` starts the whole system on the embedded defaults
(all five services as subprocesses) and `browser` drives headless Chromium;
started by tests/infra/system.py, which the e2e and fault tests use too.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ccshared.store import connect
from ccshared.timeutil import FixedClock
from ccshared.web import provided
from flask import Flask
from flask.testing import FlaskClient
from frontend.app import create_app
from frontend.config import Settings
from frontend.views import Context
from web_testkit import CONTACTS, DIRECTORY, NOTIFIER, NOW, SLA, FakeServices, centre, csrf_of

from tests.infra import tokens
from tests.infra.system import SPECS, System


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def services() -> FakeServices:
    fake = FakeServices()
    fake.on(
        "GET",
        DIRECTORY,
        "/api/v1/services-list",
        (200, {"items": [{"id": "stay-and-play", "label": "Stay and play"}]}),
    )
    fake.on(
        "GET",
        DIRECTORY,
        "/api/v1/centres",
        (
            200,
            {
                "items": [
                    centre("c-north", "Everton Test Centre", "north"),
                    centre("c-south", "Garston Test Centre", "south"),
                ],
                "total": 2,
                "page": 1,
                "per_page": 100,
                "pages": 1,
            },
        ),
    )
    fake.on("GET", CONTACTS, "/api/v1/contacts", (200, {"items": [], "total": 0, "page": 1, "per_page": 100}))
    fake.on("GET", CONTACTS, "/api/v1/referrals", (200, {"items": [], "total": 0, "page": 1, "per_page": 20}))
    fake.on("GET", SLA, "/api/v1/clocks", (200, {"clocks": [], "count": 0}))
    fake.on("GET", NOTIFIER, "/api/v1/messages", (200, {"items": []}))
    fake.on("GET", NOTIFIER, "/api/v1/notifications", (200, {"items": []}))
    return fake


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        store_url=f"sqlite:///{tmp_path}/web.db",
        staff_token_private_key=tokens.STAFF_KEY,
        secret_key=tokens.WEB_SECRET_KEY,
        directory_url=DIRECTORY,
        contacts_url=CONTACTS,
        sla_monitor_url=SLA,
        notifier_url=NOTIFIER,
        cookie_secure=True,
        login_max_failures=3,
        login_lockout_minutes=15,
    )


@pytest.fixture
def web_app(settings: Settings, services: FakeServices, clock: FixedClock) -> Flask:
    app = create_app(settings, store=connect(settings.store_url), transport=services, clock=clock)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(web_app: Flask) -> FlaskClient:
    return web_app.test_client()


@pytest.fixture
def make_user(web_app: Flask) -> Callable[..., str]:
    """Create an account; returns its password."""

    def make(username: str, role: str, area: str | None = None, agency: str | None = None) -> str:
        _, password = provided(web_app, Context).desk.create_account(
            username, role, area, None, by="test", agency=agency
        )
        return password

    return make


@pytest.fixture
def sign_in(client: FlaskClient, make_user: Callable[..., str]) -> Callable[..., FlaskClient]:
    """Create an account and sign the test client in as it."""

    def sign(
        username: str = "t.north",
        role: str = "coordinator",
        area: str | None = "north",
        agency: str | None = None,
    ) -> FlaskClient:
        password = make_user(username, role, area, agency)
        token = csrf_of(client.get("/sign-in").text)
        response = client.post(
            "/sign-in", data={"username": username, "password": password, "csrf_token": token}
        )
        assert response.status_code == 302, response.text
        return client

    return sign


def form_token(client: FlaskClient, path: str) -> str:
    return csrf_of(client.get(path).text)


@pytest.fixture
def post_form(client: FlaskClient) -> Callable[..., object]:
    """POST a form with the CSRF token of the page it is on."""

    def post(page: str, action: str, data: dict) -> object:
        return client.post(action, data={**data, "csrf_token": form_token(client, page)})

    return post


# Browser tests ---------------------------------------------------------------


def _require_browser_tools() -> None:
    import browser_testkit

    missing = browser_testkit.missing_tools()
    if missing:
        message = f"browser tests need {', '.join(missing)}: {browser_testkit.INSTALL_HINT}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """The whole system on its embedded defaults, once per test session."""
    root = tmp_path_factory.mktemp("system")
    running = System(
        root,
        f"sqlite:///{root}/events.db",
        lambda name: f"sqlite:///{root}/{name}.db",
        services=tuple(SPECS),
        extra_env={"LOG_LEVEL": "WARNING"},
    )
    running.command("directory", "load-sample")
    try:
        running.start()
        running.settle()
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def _driver() -> Iterator[object]:
    _require_browser_tools()
    import browser_testkit

    driver = browser_testkit.make_driver()
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def browser(_driver: object, system: System) -> Iterator[object]:
    """Headless Chromium with no cookies from an earlier test, at a normal window size."""
    _driver.delete_all_cookies()
    _driver.set_window_size(1280, 1000)
    yield _driver
    _driver.delete_all_cookies()


@pytest.fixture(scope="session")
def axe() -> str:
    _require_browser_tools()
    import browser_testkit

    return browser_testkit.axe_source()
