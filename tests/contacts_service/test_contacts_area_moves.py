"""A centre that staff move to another area in the directory takes its unanswered
contacts with it: the new area's staff see them and the SLA monitor is told, while
answered and ended contacts keep the area they were handled in."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest
from ccshared import bus, events
from contacts import bootstrap
from contacts.worker import CENTRES, centres_task
from contacts_testkit import centre_event, publish_centres, staged

from tests.infra.waiting import wait_for

MOVED = "contact.area_moved.v1"


def log_letters(client, staff, letter) -> dict[str, str]:
    """Letters to Test North Centre in each state: received, assigned, responded, closed, withdrawn."""

    def logged() -> str:
        created = client.post("/api/v1/contacts", json=letter, headers=staff)
        assert created.status_code == 201
        return created.json["id"]

    ids = {state: logged() for state in ("received", "assigned", "responded", "closed", "withdrawn")}
    client.post(f"/api/v1/contacts/{ids['assigned']}/assign", json={"assignee": "test.worker"}, headers=staff)
    for answered in ("responded", "closed"):
        client.post(f"/api/v1/contacts/{ids[answered]}/respond", json={"method": "letter"}, headers=staff)
    client.post(f"/api/v1/contacts/{ids['closed']}/close", json={}, headers=staff)
    client.post(f"/api/v1/contacts/{ids['withdrawn']}/withdraw", json={}, headers=staff)
    return ids


def moved_north_to_central(version: int = 2) -> events.Event:
    return centre_event(
        "centre-north", "Test North Centre", "central", "L4 0AA", "open", version, "centre.updated.v1"
    )


def test_a_centre_moved_to_another_area_takes_its_unanswered_contacts(
    client, staff_headers, letter, doc_store, clock
):
    north, central = staff_headers(), staff_headers(role="coordinator", area="central")
    ids = log_letters(client, north, letter)
    read_model = bootstrap.centre_read_model(doc_store, clock)

    read_model.handlers()["centre.updated.v1"](moved_north_to_central())

    listed = client.get("/api/v1/contacts?centre_id=centre-north&per_page=50", headers=central).json
    assert {item["id"] for item in listed["items"]} == {ids["received"], ids["assigned"]}
    for state in ("received", "assigned"):
        assert client.get(f"/api/v1/contacts/{ids[state]}", headers=north).status_code == 404
        contact = client.get(f"/api/v1/contacts/{ids[state]}", headers=central).json
        assert contact["area"] == "central" and contact["status"] == state
        step = contact["history"][-1]
        assert (step["action"], step["by"], step["from"], step["to"]) == (
            "area_moved",
            "system",
            state,
            state,
        )
        assert (step["from_area"], step["to_area"]) == ("north", "central")
        (event,) = staged(doc_store, ids[state], MOVED)
        assert event.subject == ids[state]
        assert event.data == {
            "contact_id": ids[state],
            "centre_id": "centre-north",
            "from_area": "north",
            "to_area": "central",
            "moved_at": clock.now(),
            "move": 1,
        }
    for state in ("responded", "closed", "withdrawn"):
        contact = client.get(f"/api/v1/contacts/{ids[state]}", headers=north).json
        assert contact["area"] == "north", f"a {state} contact keeps the area it was handled in"
        assert "area_moved" not in [step["action"] for step in contact["history"]]
        assert staged(doc_store, ids[state], MOVED) == []
    logged_now = client.post("/api/v1/contacts", json=letter, headers=central)
    assert logged_now.status_code == 201 and logged_now.json["area"] == "central"


def test_a_redelivered_or_repeated_centre_event_moves_nothing_twice(
    client, staff_headers, letter, doc_store, clock
):
    north = staff_headers()
    received = client.post("/api/v1/contacts", json=letter, headers=north).json["id"]
    read_model = bootstrap.centre_read_model(doc_store, clock)
    moved = moved_north_to_central()

    read_model.apply(moved)
    read_model.apply(moved)
    read_model.apply(replace(moved, id=str(uuid.uuid4())))
    read_model.apply(
        centre_event(
            "centre-north", "Test North Centre", "central", "L4 0AA", "open", 3, "centre.verified.v1"
        )
    )

    central = staff_headers(area="central")
    history = client.get(f"/api/v1/contacts/{received}", headers=central).json["history"]
    assert [step["action"] for step in history].count("area_moved") == 1
    assert len(staged(doc_store, received, MOVED)) == 1


def test_each_move_of_a_contact_is_numbered_so_readers_follow_them_in_order(
    client, staff_headers, letter, doc_store, clock
):
    """Moves may reach a reader in another order than they happened, and replicas' clocks
    differ: the contact counts its moves, and each event says which one it is."""
    received = client.post("/api/v1/contacts", json=letter, headers=staff_headers()).json["id"]
    read_model = bootstrap.centre_read_model(doc_store, clock)

    read_model.apply(moved_north_to_central())
    read_model.apply(
        centre_event("centre-north", "Test North Centre", "south", "L4 0AA", "open", 3, "centre.updated.v1")
    )

    moves = [
        (e.data["from_area"], e.data["to_area"], e.data["move"]) for e in staged(doc_store, received, MOVED)
    ]
    assert moves == [("north", "central", 1), ("central", "south", 2)]


def test_a_move_cut_short_is_finished_when_the_centre_event_comes_again(
    client, staff_headers, letter, doc_store, clock, centres
):
    """A crash after the centre was stored but before its contacts moved: the redelivery
    finds the centre's version held already, and still moves the contacts left behind."""
    received = client.post("/api/v1/contacts", json=letter, headers=staff_headers()).json["id"]
    moved = moved_north_to_central()
    centres.put(replace(centres.get("centre-north"), area="central", version=2))

    bootstrap.centre_read_model(doc_store, clock).apply(moved)

    contact = client.get(f"/api/v1/contacts/{received}", headers=staff_headers(area="central"))
    assert contact.status_code == 200 and contact.json["area"] == "central"


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_the_worker_moves_contacts_when_the_directory_moves_their_centre(
    client, staff_headers, letter, doc_store, clock, running, tmp_path
):
    event_bus = bus.connect(f"sqlite:///{tmp_path}/bus.db")
    received = client.post("/api/v1/contacts", json=letter, headers=staff_headers()).json["id"]
    subscription = replace(CENTRES, topic="centres", group=f"g-{uuid.uuid4().hex[:8]}")
    running(centres_task(doc_store, event_bus, clock, subscription=subscription))

    publish_centres(event_bus, "centres", [("centre.updated.v1", "centre-north", "south", "open", 2)])

    south = staff_headers(area="south")
    wait_for(
        lambda: client.get(f"/api/v1/contacts/{received}", headers=south).status_code == 200,
        60,
        "the letter to follow its centre into the south area",
    )
    assert [event.data["to_area"] for event in staged(doc_store, received, MOVED)] == ["south"]
