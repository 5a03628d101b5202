"""The Kafka broker stopped while staff log contacts and partners post referrals:
intake goes on, every accepted request is in the database, and once the broker is
back every contact reaches the SLA monitor exactly once."""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
import requests
from ccshared import contracts as c
from fault_testkit import UNLIMITED, Run, centre_created, decoded, keyed

from tests.infra.payloads import LETTER, REFERRAL
from tests.infra.system import System
from tests.infra.waiting import wait_for

pytestmark = [pytest.mark.kafka, pytest.mark.mongo]

AREA = c.NORTH
DEADLINE = 120.0
MIN_DURING_OUTAGE = 10
# Steady traffic, not a flood: the test is about an outage, not throughput, and the
# backlog the relay drains afterwards stays small on a busy two-core machine.
PACE_SECONDS = 0.2


@dataclass
class Ledger:
    """What each client was told: the ids of accepted requests, and anything else."""

    accepted: dict[str, str] = field(default_factory=dict)
    during_outage: set[str] = field(default_factory=set)
    refused: list[str] = field(default_factory=list)
    broker_down: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, response: requests.Response | None, error: str = "") -> None:
        with self.lock:
            if response is not None and response.status_code == 201:
                contact_id = response.json()["id"]
                self.accepted[contact_id] = kind
                if self.broker_down:
                    self.during_outage.add(contact_id)
            else:
                status = response.status_code if response is not None else "no answer"
                self.refused.append(f"{kind} {status} {error or response.text[:200]}")

    def count(self) -> int:
        with self.lock:
            return len(self.accepted)

    def count_during_outage(self) -> int:
        with self.lock:
            return len(self.during_outage)


def referral_body(centre_id: str) -> dict:
    return {**REFERRAL, "centre_id": centre_id}


def contact_body(centre_id: str) -> dict:
    return {**LETTER, "centre_id": centre_id, "received_at": datetime.now(UTC).isoformat()}


def agency_key(system: System) -> str:
    out = system.command("contacts", "agency-key", "create", "--agency", "Test Agency").stdout
    return next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("API key:"))


def clock_ids(system: System) -> Counter:
    """Every clock the SLA monitor holds, by contact id, read page by page."""
    ids: Counter = Counter()
    offset = 0
    while True:
        response = requests.get(
            f"{system.url('sla-monitor')}/api/v1/clocks",
            params={"limit": 500, "offset": offset},
            headers=system.staff("sla-monitor", "principal_officer"),
            timeout=30,
        )
        assert response.status_code == 200, response.text
        rows = response.json()["clocks"]
        ids.update(row["contact_id"] for row in rows)
        if len(rows) < 500:
            return ids
        offset += 500


def test_intake_goes_on_while_the_broker_is_down_and_nothing_is_lost_or_doubled(run: Run) -> None:
    system = run.system(["contacts", "sla-monitor"], CONTACTS_PARTNER_RATE_LIMIT=UNLIMITED)
    centre_id = f"centre-{run.tag}"
    run.publish(c.CENTRES_TOPIC, keyed([centre_created(centre_id, AREA)]))
    api_key = agency_key(system)
    system.start()
    base = f"{system.url('contacts')}/api/v1"
    staff = system.staff("contacts", "coordinator", AREA, "coordinator-north")
    partner = {"X-API-Key": api_key}

    def centre_known() -> bool:
        response = requests.post(f"{base}/contacts", json=contact_body(centre_id), headers=staff, timeout=30)
        return response.status_code == 201

    wait_for(centre_known, DEADLINE, "the contacts service knows the centre")
    ledger = Ledger()
    ledger.accepted.update(
        (row["id"], "staff")
        for row in requests.get(f"{base}/contacts", headers=staff, timeout=30).json()["items"]
    )
    stop = threading.Event()

    def client(kind: str, post: Callable[[], requests.Response]) -> None:
        while not stop.wait(PACE_SECONDS):
            try:
                ledger.record(kind, post())
            except requests.RequestException as exc:
                ledger.record(kind, None, repr(exc))

    clients = [
        threading.Thread(
            target=client,
            args=(
                "staff",
                lambda: requests.post(
                    f"{base}/contacts", json=contact_body(centre_id), headers=staff, timeout=30
                ),
            ),
            daemon=True,
        ),
        threading.Thread(
            target=client,
            args=(
                "partner",
                lambda: requests.post(
                    f"{base}/referrals",
                    json=referral_body(centre_id),
                    headers={**partner, "Idempotency-Key": str(uuid.uuid4())},
                    timeout=30,
                ),
            ),
            daemon=True,
        ),
    ]
    for thread in clients:
        thread.start()
    try:
        wait_for(lambda: ledger.count() >= 10, DEADLINE, "requests accepted before the outage")
        with ledger.lock:
            ledger.broker_down = True
        run.kafka.stop()
        wait_for(
            lambda: ledger.count_during_outage() >= MIN_DURING_OUTAGE,
            DEADLINE,
            "requests accepted while the broker is down",
        )
    finally:
        run.kafka.start()
        with ledger.lock:
            ledger.broker_down = False
    before_end = ledger.count()
    wait_for(lambda: ledger.count() >= before_end + 10, DEADLINE, "requests accepted after the outage")
    stop.set()
    for thread in clients:
        thread.join(timeout=60)

    assert ledger.refused == [], "intake must not depend on the broker"
    kinds = Counter(ledger.accepted.values())
    assert kinds["staff"] > 0 and kinds["partner"] > 0, kinds

    # Every accepted request is in the database.
    for contact_id in ledger.during_outage:
        if ledger.accepted[contact_id] == "staff":
            response = requests.get(f"{base}/contacts/{contact_id}", headers=staff, timeout=30)
        else:
            response = requests.get(f"{base}/referrals/{contact_id}", headers=partner, timeout=30)
        assert response.status_code == 200, response.text
    listed = requests.get(f"{base}/contacts", params={"per_page": 1}, headers=staff, timeout=30).json()
    assert listed["total"] == len(ledger.accepted)

    # The relay published each contact's receipt once the broker was back: once each. It may
    # send one event again after an outage (the same event id, absorbed by consumers), never
    # a second receipt.
    def receipts(messages) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for event in decoded(messages, c.CONTACT_RECEIVED):
            found.setdefault(event.subject, set()).add(event.id)
        return found

    wanted = set(ledger.accepted)
    on_bus = receipts(run.read(c.CONTACTS_TOPIC, lambda seen: set(receipts(seen)) >= wanted, DEADLINE))
    assert set(on_bus) == wanted, f"{len(wanted - set(on_bus))} accepted contacts never reached the bus"
    assert all(len(ids) == 1 for ids in on_bus.values())

    # Every contact reaches the SLA monitor: one clock each, none missing, none extra.
    wait_for(lambda: set(clock_ids(system)) >= wanted, DEADLINE, "a clock for every accepted contact")
    clocks = clock_ids(system)
    assert set(clocks) == wanted
    assert set(clocks.values()) == {1}

    # Alerts trust the logs: a broker going away and coming back is expected weather, reported
    # by metrics and warnings, never by error-level lines that would page someone.
    for name in ("contacts", "sla-monitor"):
        errors = [line for line in system.log(name).splitlines() if _is_error(line)]
        assert not errors, f"{name} logged at error level across a broker restart:\n" + "\n".join(errors[:20])


def _is_error(line: str) -> bool:
    if not line.startswith("{"):
        return False
    return json.loads(line).get("level") in ("error", "critical")
