"""The database stopped (or killed) under the contacts service: requests fail fast
with 503 and the database named, nothing is half-written, and the service comes
back by itself when the database does."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import requests
from ccshared import contracts as c
from fault_testkit import UNLIMITED, Run, centre_created, keyed

from tests.infra.payloads import REFERRAL, TELEPHONE
from tests.infra.system import System
from tests.infra.waiting import wait_for

pytestmark = [pytest.mark.kafka, pytest.mark.mongo]

FAST = 5.0
DEADLINE = 60.0
AREA = c.NORTH


class Contacts:
    """The contacts service's HTTP API as a staff member and as a partner agency use it."""

    def __init__(self, system: System, centre_id: str, api_key: str):
        self.base = f"{system.url('contacts')}/api/v1"
        self.centre_id = centre_id
        self.staff = system.staff("contacts", "coordinator", AREA, "coordinator-north")
        self.partner = {"X-API-Key": api_key}
        self.bodies: dict[str, dict] = {}

    def body(self, key: str, make: Callable[[str], dict]) -> dict:
        """The same body for every try of one Idempotency-Key, as a retrying client sends."""
        return self.bodies.setdefault(key, make(self.centre_id))

    def log_contact(self, key: str) -> requests.Response:
        headers = {**self.staff, "Idempotency-Key": key}
        body = self.body(key, contact)
        return requests.post(f"{self.base}/contacts", json=body, headers=headers, timeout=30)

    def refer(self, key: str) -> requests.Response:
        headers = {**self.partner, "Idempotency-Key": key}
        body = self.body(key, referral)
        return requests.post(f"{self.base}/referrals", json=body, headers=headers, timeout=30)

    def list_contacts(self) -> requests.Response:
        return requests.get(f"{self.base}/contacts", params={"per_page": 1}, headers=self.staff, timeout=30)

    def total(self) -> int:
        response = self.list_contacts()
        assert response.status_code == 200, response.text
        return response.json()["total"]

    def referral_total(self) -> int:
        response = requests.get(f"{self.base}/referrals", headers=self.partner, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()["total"]


def contact(centre_id: str) -> dict:
    return {**TELEPHONE, "centre_id": centre_id, "received_at": datetime.now(UTC).isoformat()}


def referral(centre_id: str) -> dict:
    return {**REFERRAL, "centre_id": centre_id, "urgency": "routine"}


def agency_key(system: System) -> str:
    out = system.command("contacts", "agency-key", "create", "--agency", "Test Agency").stdout
    return next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("API key:"))


@pytest.fixture
def contacts(run: Run) -> Contacts:
    system = run.system(["contacts"], CONTACTS_PARTNER_RATE_LIMIT=UNLIMITED)
    centre_id = f"centre-{run.tag}"
    run.publish(c.CENTRES_TOPIC, keyed([centre_created(centre_id, AREA)]))
    key = agency_key(system)
    system.start()
    api = Contacts(system, centre_id, key)
    wait_for(lambda: api.log_contact(str(uuid.uuid4())).status_code == 201, DEADLINE, "centre known")
    return api


def timed(call: Callable[[], requests.Response]) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def assert_database_unavailable(response: requests.Response, took: float) -> None:
    assert response.status_code == 503, response.text
    assert took < FAST, f"took {took:.1f}s to fail"
    error = response.json()["error"]
    assert error["code"] == "database_unavailable"
    assert "database" in error["message"]
    assert response.headers.get("Retry-After")


def retried(create: Callable[[str], requests.Response], key: str) -> bool:
    """One more try, as a client does after a 503: True once created, False to try again.

    A document lock the killed database was holding when it died stays until it is stale, so
    a write to that one document may still get 503 for a while after the database is back.
    """
    response = create(key)
    assert response.status_code in (201, 503), (key, response.text)
    return response.status_code == 201


def test_requests_fail_fast_while_the_database_is_down_and_the_service_recovers_alone(
    run: Run, contacts: Contacts
) -> None:
    before, referrals_before = contacts.total(), contacts.referral_total()
    refused: list[tuple[Callable[[str], requests.Response], str]] = []
    run.mongo.stop()
    try:
        for attempt in range(3):
            for create in (contacts.log_contact, contacts.refer):
                key = f"down-{attempt}-{uuid.uuid4()}"
                assert_database_unavailable(*timed(lambda create=create, key=key: create(key)))
                refused.append((create, key))
        assert_database_unavailable(*timed(contacts.list_contacts))
        ready = requests.get(f"{contacts.base.removesuffix('/api/v1')}/readyz", timeout=FAST + 5)
        assert ready.status_code == 503
        assert "store" in ready.json()["problems"]
    finally:
        run.mongo.start()

    wait_for(lambda: contacts.list_contacts().status_code == 200, DEADLINE, "contacts answers again")
    assert contacts.total() == before, "a refused request left a contact behind"
    assert contacts.referral_total() == referrals_before

    for create, key in refused:
        assert create(key).status_code == 201
    assert contacts.total() == before + len(refused)


def test_a_database_killed_mid_request_leaves_each_request_whole_once_retried(
    run: Run, contacts: Contacts
) -> None:
    """Requests in flight when the database dies may get 503 or fail outright; a retry with
    the same Idempotency-Key then makes exactly one contact, never two."""
    before = contacts.total()
    outcomes: dict[str, int] = {}
    odd: dict[str, str] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def client(create: Callable[[str], requests.Response], name: str) -> None:
        n = 0
        while not stop.is_set():
            key, n = f"{name}-{n}", n + 1
            try:
                response = create(key)
                status, detail = response.status_code, response.text[:300]
            except requests.RequestException as exc:
                status, detail = 0, repr(exc)
            with lock:
                outcomes[key] = status
                if status not in (201, 503):
                    odd[key] = f"{status}: {detail}"

    clients = [
        threading.Thread(target=client, args=(contacts.log_contact, "staff"), daemon=True),
        threading.Thread(target=client, args=(contacts.refer, "partner"), daemon=True),
    ]
    for thread in clients:
        thread.start()
    try:
        wait_for(lambda: len(outcomes) >= 6, DEADLINE, "requests under way before the kill")
        run.mongo.kill()
        wait_for(lambda: sum(s == 503 for s in outcomes.values()) >= 4, DEADLINE, "503s while down")
    finally:
        run.mongo.start()

    def successes() -> int:
        with lock:
            return sum(status == 201 for status in outcomes.values())

    after_restart = successes()
    wait_for(lambda: successes() >= after_restart + 4, DEADLINE, "requests succeed again")
    stop.set()
    for thread in clients:
        thread.join(timeout=60)

    assert set(outcomes.values()) <= {201, 503}, odd
    for key, status in outcomes.items():
        if status != 201:
            create = contacts.log_contact if key.startswith("staff") else contacts.refer
            wait_for(lambda create=create, key=key: retried(create, key), DEADLINE, f"retry of {key}")
    assert contacts.total() == before + len(outcomes)
