"""Pausing a contact while it waits on the family or a partner, and resuming it:
the API, the audit trail, the encrypted note, and the events that stop the clock."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from contacts.domain import Centre, InvalidTransition, RuleBroken, receive
from contacts.repository import AUDIT, CONTACTS
from contacts_testkit import NOW, erase

NOTE = "Test note: Test Parent is sending the form"


def new_letter(client, headers, letter) -> str:
    response = client.post("/api/v1/contacts", json=letter, headers=headers)
    assert response.status_code == 201, response.json
    return response.json["id"]


def pause(client, headers, contact_id, **body):
    body = {"reason_code": "waiting_on_family", "note": NOTE} | body
    return client.post(f"/api/v1/contacts/{contact_id}/pause", json=body, headers=headers)


def resume(client, headers, contact_id, **body):
    return client.post(f"/api/v1/contacts/{contact_id}/resume", json=body, headers=headers)


def test_staff_pause_and_resume_a_contact_and_everyone_sees_since_when(
    client, staff_headers, letter, clock
) -> None:
    headers = staff_headers()
    contact_id = new_letter(client, headers, letter)
    clock.advance(hours=1)

    paused = pause(client, headers, contact_id)

    assert paused.status_code == 200, paused.json
    assert paused.json["paused_since"].startswith("2026-11-23T11:00:00")
    assert paused.json["pause_reason"] == "waiting_on_family"
    assert paused.json["status"] == "received", "a pause is not a status: the contact is still unanswered"
    listed = client.get("/api/v1/contacts", headers=headers).json["items"][0]
    assert (listed["pause_reason"], listed["paused_since"]) == (
        "waiting_on_family",
        paused.json["paused_since"],
    )
    assert "note" not in json.dumps(listed)

    clock.advance(days=2)
    resumed = resume(client, headers, contact_id)

    assert resumed.status_code == 200, resumed.json
    assert (resumed.json["paused_since"], resumed.json["pause_reason"]) == (None, None)
    detail = client.get(f"/api/v1/contacts/{contact_id}", headers=headers).json
    [record] = detail["pauses"]
    assert record["note"] == NOTE
    assert record["reason_code"] == "waiting_on_family"
    assert record["paused_by"] == record["resumed_by"] == "test.staff"
    assert record["resumed_at"].startswith("2026-11-25T11:00:00")
    assert [step["action"] for step in detail["history"]] == ["receive", "pause", "resume"]


def test_pausing_and_resuming_are_audited_with_the_reason_code(
    client, staff_headers, letter, doc_store, clock
) -> None:
    contact_id = new_letter(client, staff_headers(username="test.creator"), letter)
    clock.advance(minutes=1)
    pause(client, staff_headers(username="test.pauser"), contact_id, reason_code="waiting_on_partner")
    clock.advance(minutes=1)
    resume(client, staff_headers(username="test.resumer"), contact_id)

    entries = doc_store.collection(AUDIT).find({"contact_id": contact_id}, sort=[("at", 1)])
    assert [(e["who"], e["action"], e.get("details")) for e in entries][1:] == [
        ("test.pauser", "pause", {"reason_code": "waiting_on_partner"}),
        ("test.resumer", "resume", None),
    ]
    trail = client.get(f"/api/v1/contacts/{contact_id}/audit", headers=staff_headers()).json
    assert {"who": "test.pauser", "action": "pause"}.items() <= trail[1].items()
    assert trail[1]["details"] == {"reason_code": "waiting_on_partner"}


def test_the_note_is_stored_encrypted_and_erased_with_the_personal_data(
    client, staff_headers, letter, doc_store, clock, settings
) -> None:
    headers = staff_headers()
    contact_id = new_letter(client, headers, letter)
    pause(client, headers, contact_id)

    assert NOTE not in json.dumps(doc_store.collection(CONTACTS).get(contact_id), default=str)

    client.post(f"/api/v1/contacts/{contact_id}/respond", json={"method": "letter"}, headers=headers)
    client.post(f"/api/v1/contacts/{contact_id}/close", json={}, headers=headers)
    clock.advance(days=400)
    assert erase(doc_store, clock, settings) == 1
    stored = doc_store.collection(CONTACTS).get(contact_id)
    assert [record["note"] for record in stored["pauses"]] == [None]
    assert stored["pauses"][0]["reason_code"] == "waiting_on_family"


def test_answering_a_paused_contact_ends_its_pause(client, staff_headers, letter, clock) -> None:
    headers = staff_headers()
    contact_id = new_letter(client, headers, letter)
    pause(client, headers, contact_id)
    clock.advance(hours=3)

    answered = client.post(
        f"/api/v1/contacts/{contact_id}/respond", json={"method": "letter"}, headers=headers
    )

    assert answered.status_code == 200
    assert answered.json["paused_since"] is None
    detail = client.get(f"/api/v1/contacts/{contact_id}", headers=headers).json
    assert detail["pauses"][0]["resumed_at"].startswith("2026-11-23T13:00:00")
    assert [step["action"] for step in detail["history"]] == ["receive", "pause", "resume", "respond"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason_code": None}, "reason_code"),
        ({"reason_code": "waiting_on_godot"}, "reason_code"),
        ({"note": "x" * 1001}, "note"),
        ({"paused_at": "2026-11-20T09:00:00+00:00"}, "paused_at"),
    ],
)
def test_a_bad_pause_gets_a_422_naming_the_field_and_a_pause_cannot_be_backdated(
    client, staff_headers, letter, body, field
) -> None:
    headers = staff_headers()
    contact_id = new_letter(client, headers, letter)
    request = {"reason_code": "waiting_on_family"} | body
    if request["reason_code"] is None:
        del request["reason_code"]

    response = client.post(f"/api/v1/contacts/{contact_id}/pause", json=request, headers=headers)

    assert response.status_code == 422, response.json
    assert field in response.json["error"]["fields"]
    assert client.get(f"/api/v1/contacts/{contact_id}", headers=headers).json["pauses"] == []


def test_a_note_of_only_spaces_is_no_note(client, staff_headers, letter) -> None:
    headers = staff_headers()
    contact_id = new_letter(client, headers, letter)
    body = {"reason_code": "waiting_on_family", "note": " \n  "}

    paused = client.post(f"/api/v1/contacts/{contact_id}/pause", json=body, headers=headers)

    assert paused.status_code == 200, paused.json
    assert client.get(f"/api/v1/contacts/{contact_id}", headers=headers).json["pauses"][0]["note"] is None


def test_a_resume_cannot_be_backdated_either(client, staff_headers, letter) -> None:
    headers = staff_headers()
    contact_id = new_letter(client, headers, letter)
    pause(client, headers, contact_id)

    response = resume(client, headers, contact_id, resumed_at="2026-11-20T09:00:00+00:00")

    assert response.status_code == 422
    assert "resumed_at" in response.json["error"]["fields"]


def test_pausing_twice_resuming_unpaused_and_pausing_an_answered_contact_conflict(
    client, staff_headers, letter
) -> None:
    headers = staff_headers()
    contact_id = new_letter(client, headers, letter)
    assert resume(client, headers, contact_id).status_code == 409
    assert pause(client, headers, contact_id).status_code == 200
    assert pause(client, headers, contact_id).status_code == 409
    client.post(f"/api/v1/contacts/{contact_id}/respond", json={"method": "letter"}, headers=headers)
    conflict = pause(client, headers, contact_id)
    assert conflict.status_code == 409
    assert conflict.json["error"]["current_status"] == "responded"


def test_another_areas_staff_cannot_pause_a_contact(client, staff_headers, letter) -> None:
    contact_id = new_letter(client, staff_headers(), letter)
    assert pause(client, staff_headers(area="south"), contact_id).status_code == 404
    assert resume(client, staff_headers(area="south"), contact_id).status_code == 404


def test_the_model_pauses_only_unanswered_contacts_with_a_known_reason() -> None:
    centre = Centre("centre-1", "Test Centre", "north", "L4 0AA", "open", 1)
    contact = receive(
        contact_id="c-1",
        reference="L-2611-AAAAA",
        channel="letter",
        centre=centre,
        received_at=NOW,
        now=NOW,
        by="test.staff",
        personal="token",
    )
    with pytest.raises(RuleBroken):
        contact.pause("test.staff", NOW, "waiting_on_godot")
    contact.pause("test.staff", NOW, "waiting_on_partner", "note-token")
    contact.withdraw("test.staff", NOW + timedelta(days=1))
    assert contact.pause_now is None and contact.pauses[0].resumed_at == NOW + timedelta(days=1)
    assert [raised.type for raised in contact.events] == [
        "contact.received.v1",
        "contact.paused.v1",
        "contact.resumed.v1",
        "contact.withdrawn.v1",
    ]
    with pytest.raises(InvalidTransition):
        contact.resume("test.staff", NOW + timedelta(days=2))
