"""Builders for the hostile-input tests: every service's Flask app on a store
adapter, seeded with a little data, and the identities that call it.

All values are obviously fake. `Stack` wires the web front end to the real
backend apps through a transport that calls their WSGI test clients, so a page
test renders exactly what the services answer, with no sockets.
"""

from __future__ import annotations

import copy
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from ccshared import events
from ccshared.auth import StaffUser
from ccshared.store import Store, connect
from ccshared.timeutil import FixedClock
from ccshared.web import provided
from cryptography.fernet import Fernet
from directory import api as directory_api
from flask import Flask
from frontend.clients import Reply

from tests.infra import tokens
from tests.infra.payloads import LETTER, REFERRAL

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday
PUBLISHED_MONTH_DAY = datetime(2026, 9, 14, 10, 0, tzinfo=UTC)  # a Monday of a month public by NOW

DIRECTORY = "http://directory.test"
CONTACTS = "http://contacts.test"
SLA = "http://sla.test"
NOTIFIER = "http://notifier.test"

CENTRES = [
    ("centre-north", "Test North Centre", "north", "L4 0AA", "open"),
    ("centre-central", "Test Central Centre", "central", "L1 0AA", "open"),
    ("centre-south", "Test South Centre", "south", "L8 0AA", "open"),
]


def letter(**changes: Any) -> dict:
    return {**copy.deepcopy(LETTER), **changes}


def referral(**changes: Any) -> dict:
    return {**copy.deepcopy(REFERRAL), **changes}


def bearer(
    role: str,
    area: str | None = None,
    username: str | None = None,
    agency: str | None = None,
    *,
    to: str,
) -> tokens.TokenHeaders:
    """The front end's token for this user at service `to`, fresh at every use."""
    user = StaffUser(username or f"test.{role}.{area or agency or 'all'}", role, area, agency)
    return tokens.staff_headers(user, to)


def sqlite_url(tmp: Path, name: str) -> str:
    return f"sqlite:///{tmp}/{name}.db"


# Directory --------------------------------------------------------------------


def directory_app(store_url: str, tmp: Path) -> Flask:
    from directory.app import create_app
    from directory.config import Settings
    from directory.sample import load_sample

    settings = Settings(
        store_url=store_url,
        bus_url=sqlite_url(tmp, "directory-events"),
        staff_token_public_key=tokens.STAFF_PUBLIC,
    )
    app = create_app(settings, store=connect(store_url), clock=FixedClock(NOW))
    load_sample(provided(app, directory_api.Context).service)
    return app


def a_centre_id(app: Flask) -> str:
    from directory.sample import sample_ids

    return next(iter(sample_ids().values()))


# Contacts ---------------------------------------------------------------------


@dataclass
class ContactsWorld:
    app: Flask
    store: Store
    agency_key: str
    other_agency_key: str
    letter_id: str = ""
    referral_id: str = ""
    keys: dict[str, str] = field(default_factory=dict)


def _centre_event(centre_id: str, name: str, area: str, postcode: str, status: str) -> events.Event:
    data = {
        "centre_id": centre_id,
        "name": name,
        "area": area,
        "ward": "Test Ward",
        "postcode": postcode,
        "status": status,
        "version": 1,
    }
    envelope = events.make("centre.created.v1", centre_id, data, source="directory", time=NOW)
    return events.decode(events.encode(envelope))


def contacts_app(
    store_url: str, tmp: Path, *, seed: bool = True, trusted_proxy_hops: int = 0
) -> ContactsWorld:
    from contacts.agencies import AgencyKeys
    from contacts.app import create_app
    from contacts.config import Settings
    from contacts.read_model import CentreReadModel
    from contacts.repository import AgencyRepository, CentreRepository

    store = connect(store_url)
    settings = Settings(
        store_url=store_url,
        bus_url=sqlite_url(tmp, "contacts-events"),
        staff_token_public_key=tokens.STAFF_PUBLIC,
        service_token_public_key=tokens.SERVICE_PUBLIC,
        encryption_key=Fernet.generate_key().decode(),
        blind_index_key=secrets.token_urlsafe(32),
        trusted_proxy_hops=trusted_proxy_hops,
    )
    read_model = CentreReadModel(CentreRepository(store))
    for row in CENTRES:
        read_model.apply(_centre_event(*row))
    keys = AgencyKeys(AgencyRepository(store), FixedClock(NOW))
    world = ContactsWorld(
        app=create_app(settings, store=store, clock=FixedClock(NOW)),
        store=store,
        agency_key=keys.create("Example Health Visitors").key,
        other_agency_key=keys.create("Example Job Centre").key,
    )
    if seed:
        client = world.app.test_client()
        made = client.post("/api/v1/contacts", json=LETTER, headers=bearer("staff", "north", to="contacts"))
        assert made.status_code == 201, made.text
        world.letter_id = made.get_json()["id"]
        made = client.post("/api/v1/referrals", json=REFERRAL, headers={"X-API-Key": world.agency_key})
        assert made.status_code == 201, made.text
        world.referral_id = made.get_json()["id"]
    return world


# SLA monitor ------------------------------------------------------------------


def sla_app(store_url: str, tmp: Path) -> Flask:
    from sla_monitor import bootstrap, config
    from sla_monitor.app import create_app
    from sla_monitor.repository import repositories
    from sla_monitor.service import Monitor

    settings = config.Settings.from_env({**tokens.key_env("sla-monitor"), "STORE_URL": store_url})
    store = connect(store_url)
    clock = FixedClock(NOW)
    clocks, centres = repositories(store, clock)
    monitor = Monitor(clocks, centres, bootstrap.policy(settings.worker.calendar), clock)
    # One letter now, and one still open from September: the public sees September's figures
    # (published by now, the month after it having ended), not November's.
    for reference, received_at in (("LET-TEST-0001", NOW), ("LET-TEST-0002", PUBLISHED_MONTH_DAY)):
        contact_id = str(uuid.uuid4())
        data = {
            "contact_id": contact_id,
            "reference": reference,
            "channel": "letter",
            "centre_id": "centre-north",
            "area": "north",
            "received_at": received_at,
            "status": "received",
            "assignee": None,
            "responded_at": None,
            "occurred_at": received_at,
        }
        envelope = events.make("contact.received.v1", contact_id, data, source="tests", time=received_at)
        event = events.decode(events.encode(envelope))
        monitor.handlers()[event.type](event)
    return create_app(settings, store=store, clock=clock)


# Notifier ---------------------------------------------------------------------


def notifier_app(store_url: str, tmp: Path) -> Flask:
    from notifier.app import create_app
    from notifier.config import Settings
    from notifier.file_transport import FileTransport

    mail_dir = tmp / "mail"
    settings = Settings.from_env(
        {
            **tokens.key_env("notifier"),
            "STORE_URL": store_url,
            "EVENT_BUS_URL": sqlite_url(tmp, "notifier-events"),
            "NOTIFIER_MAIL_DIR": str(mail_dir),
        }
    )
    message = EmailMessage()
    message["From"] = "noreply@example.org"
    message["To"] = "coordinator.north@example.org"
    message["Subject"] = "Test breach notice"
    message["X-CC-Area"] = "north"
    message.set_content("A test contact is overdue.")
    FileTransport(mail_dir).deliver(message, "coordinator.north@example.org", "test-message-1")
    return create_app(settings, store=connect(store_url))


# The web front end over the real backends --------------------------------------


@dataclass
class WsgiTransport:
    """The front end's Transport port, answered by the backends' WSGI test clients."""

    apps: Mapping[str, Flask]

    def request(self, method, url, *, params, json, headers, timeout) -> Reply:  # noqa: ANN001
        base = next(prefix for prefix in self.apps if url.startswith(prefix))
        client = self.apps[base].test_client()
        response = client.open(
            url[len(base) :], method=method, query_string=params, json=json, headers=dict(headers)
        )
        body = response.get_json(silent=True) if response.data else None
        return Reply(response.status_code, response.headers, body if body is not None else response.text)


@dataclass
class Stack:
    web: Flask
    directory: Flask
    contacts: ContactsWorld
    sla: Flask
    notifier: Flask

    def backends(self) -> dict[str, Flask]:
        return {
            "directory": self.directory,
            "contacts": self.contacts.app,
            "sla-monitor": self.sla,
            "notifier": self.notifier,
        }


def web_app(store_url: str, tmp: Path, transport: Any, **settings: Any) -> Flask:
    from frontend.app import create_app
    from frontend.config import Settings

    config = Settings(
        store_url=store_url,
        staff_token_private_key=tokens.STAFF_KEY,
        secret_key=tokens.WEB_SECRET_KEY,
        directory_url=DIRECTORY,
        contacts_url=CONTACTS,
        sla_monitor_url=SLA,
        notifier_url=NOTIFIER,
        cookie_secure=False,
        **settings,
    )
    app = create_app(config, store=connect(store_url), transport=transport, clock=FixedClock(NOW))
    app.config["TESTING"] = True
    return app


def stack(tmp: Path, url: Any = None) -> Stack:
    """All five apps; url(name) gives each one's store URL (SQLite in tmp by default)."""
    url = url or (lambda name: sqlite_url(tmp, name))
    directory = directory_app(url("directory"), tmp)
    contacts = contacts_app(url("contacts"), tmp)
    sla = sla_app(url("sla"), tmp)
    notifier = notifier_app(url("notifier"), tmp)
    transport = WsgiTransport({DIRECTORY: directory, CONTACTS: contacts.app, SLA: sla, NOTIFIER: notifier})
    web = web_app(url("web"), tmp, transport)
    return Stack(web, directory, contacts, sla, notifier)
