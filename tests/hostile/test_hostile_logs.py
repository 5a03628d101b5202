"""No personal data in logs: the whole system runs as real processes on the
embedded defaults; a contact, a partner referral, a declined referral, a
refused (422) request and a failed sign-in carry distinctive fake personal
values, and every service's captured log is scanned for each of them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.infra.system import BACKEND, System
from tests.infra.waiting import wait_for

DEADLINE = 60.0
# Distinctive, obviously fake values that occur nowhere else.
PERSONAL = {
    "requester_name": "Zebedee Qx7testperson",
    "requester_address": "42 Quokkaville Test Row",
    "requester_phone": "07700 900456",
    "requester_email": "qx7.testperson@example.org",
    "subject": "Qx7 worry about my toddler",
    "summary": "Qx7 private family circumstances",
    "family_name": "Ysolde Qx7carer",
    "family_address": "9 Wombat Test Close",
    "family_phone": "07700 900789",
    "referrer_name": "Quentin Qx7referrer",
    "referrer_email": "qx7.referrer@example.org",
    "notes": "Qx7 note about domestic situation",
    "consent_by": "Quentin Qx7referrer",
    "decline_reason": "Qx7 declined because of family history",
    "bad_email": "Zebedee.Qx7bad@",
    "password": "Qx7-not-a-real-password",
    "password_as_username": "qx7-typed-in-the-username-box",
}


@pytest.fixture
def running(tmp_path: Path) -> Iterator[System]:
    system = System(
        tmp_path / "system",
        f"sqlite:///{tmp_path}/events.db",
        lambda name: f"sqlite:///{tmp_path}/{name}.db",
        services=(*BACKEND, "web"),
    )
    system.command("directory", "load-sample")
    system.start()
    try:
        yield system
    finally:
        system.stop()


def _agency_key(system: System) -> str:
    printed = system.command("contacts", "agency-key", "create", "--agency", "Example Qx7 Health").stdout
    return re.search(r"API key: (\S+)", printed).group(1)


def test_hostile_no_personal_data_in_any_log(running: System) -> None:
    system = running
    centre = requests.get(f"{system.url('directory')}/api/v1/centres", params={"area": "north"}, timeout=10)
    centre_id = next(c["id"] for c in centre.json()["items"] if c["status"] == "open")
    contacts = f"{system.url('contacts')}/api/v1"
    staff = system.staff("contacts", "coordinator", "north", "coordinator-north")
    letter = {
        "channel": "letter",
        "centre_id": centre_id,
        "subject": PERSONAL["subject"],
        "summary": PERSONAL["summary"],
        "requester": {
            "name": PERSONAL["requester_name"],
            "reply_by": "post",
            "address": PERSONAL["requester_address"],
            "phone": PERSONAL["requester_phone"],
            "email": PERSONAL["requester_email"],
        },
    }

    def logged() -> dict | None:
        answer = requests.post(f"{contacts}/contacts", json=letter, headers=staff, timeout=10)
        return answer.json() if answer.status_code == 201 else None

    made = wait_for(logged, DEADLINE, "the contacts service learns the sample centres", interval=0.3)
    assert requests.get(f"{contacts}/contacts/{made['id']}", headers=staff, timeout=10).status_code == 200
    refused = {**letter, "requester": {**letter["requester"], "email": PERSONAL["bad_email"]}}
    assert requests.post(f"{contacts}/contacts", json=refused, headers=staff, timeout=10).status_code == 422

    partner = {"X-API-Key": _agency_key(system)}
    referral = {
        "centre_id": centre_id,
        "referrer": {"name": PERSONAL["referrer_name"], "email": PERSONAL["referrer_email"]},
        "family": {
            "name": PERSONAL["family_name"],
            "address": PERSONAL["family_address"],
            "phone": PERSONAL["family_phone"],
        },
        "children": [{"age_months": 14}],
        "support_needed": ["stay_and_play"],
        "urgency": "soon",
        "consent": {
            "given": True,
            "recorded_by": PERSONAL["consent_by"],
            "recorded_at": "2026-01-05T09:00:00Z",
        },
        "notes": PERSONAL["notes"],
    }
    sent = requests.post(f"{contacts}/referrals", json=referral, headers=partner, timeout=10)
    assert sent.status_code == 201, sent.text
    referral_id = sent.json()["id"]
    for action, body in (("open", None), ("decline", {"reason": PERSONAL["decline_reason"]})):
        path = f"{contacts}/contacts/{referral_id}/referral/{action}"
        assert requests.post(path, json=body, headers=staff, timeout=10).status_code == 200
    seen = requests.get(f"{contacts}/referrals/{referral_id}", headers=partner, timeout=10).json()
    assert seen["decline_reason"] == PERSONAL["decline_reason"]

    web = requests.Session()
    page = web.get(f"{system.url('web')}/sign-in", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = {"username": "coordinator-north", "password": PERSONAL["password"], "csrf_token": token}
    assert web.post(f"{system.url('web')}/sign-in", data=form, timeout=10).status_code == 401
    form = {"username": PERSONAL["password_as_username"], "password": "x", "csrf_token": token}
    assert web.post(f"{system.url('web')}/sign-in", data=form, timeout=10).status_code == 401

    clocks = f"{system.url('sla-monitor')}/api/v1/clocks"

    def clocked() -> bool:
        answer = requests.get(clocks, headers=system.staff("sla-monitor"), timeout=10)
        return made["id"] in {c["contact_id"] for c in answer.json()["clocks"]}

    wait_for(clocked, DEADLINE, "the SLA monitor receives the contact events", interval=0.3)
    system.stop()

    logs = {name: system.log(name) for name in (*BACKEND, "web")}
    assert made["reference"] in logs["contacts"] or made["id"] in logs["contacts"] + logs["sla-monitor"], (
        "the logs must be the real ones, naming ids"
    )
    for name, text in logs.items():
        flat = text.lower()
        for label, value in PERSONAL.items():
            variants = {value.lower(), value.replace(" ", "").lower(), value.split()[-1].lower()}
            found = [variant for variant in variants if variant in flat]
            assert not found, f"{name}'s log holds {label} ({found})"
