"""Staff edits: who may do what, optimistic concurrency, validation and the audit trail."""

from __future__ import annotations

import pytest
from ccshared.auth import StaffUser
from ccshared.web import provided
from directory import api
from directory_testkit import NEW_CENTRE, NOW, etag, search, slugs_of

from tests.infra import tokens


def patch(client, centre_id, body, headers, version='"1"'):
    extra = {"If-Match": version} if version is not None else {}
    return client.patch(f"/api/v1/centres/{centre_id}", json=body, headers={**headers, **extra})


# The permission matrix of directory.policy, one row per (role, area of token, action on a north centre).
MATRIX = [
    ("staff", "north", "verify", 200),
    ("staff", "south", "verify", 403),
    ("staff", "north", "update", 403),
    ("staff", "north", "audit", 200),
    ("staff", "south", "audit", 403),
    ("staff", "north", "create", 403),
    ("staff", "north", "close", 403),
    ("coordinator", "north", "update", 200),
    ("coordinator", "south", "update", 403),
    ("coordinator", "north", "verify", 200),
    ("coordinator", "central", "verify", 403),
    ("coordinator", "north", "audit", 200),
    ("coordinator", "north", "create", 403),
    ("coordinator", "north", "close", 403),
    ("principal_officer", None, "update", 200),
    ("principal_officer", None, "verify", 200),
    ("principal_officer", None, "audit", 200),
    ("principal_officer", None, "create", 403),
    ("principal_officer", None, "close", 403),
    ("admin", None, "update", 200),
    ("admin", None, "verify", 200),
    ("admin", None, "audit", 200),
    ("admin", None, "create", 201),
    ("admin", None, "close", 200),
]


@pytest.mark.parametrize(("role", "area", "action", "status"), MATRIX)
def test_permission_matrix(client, staff, ids, role, area, action, status):
    headers = staff(role, area)
    anfield = ids["anfield"]  # in the north area
    if action == "update":
        response = patch(client, anfield, {"accessibility": "Test note"}, headers)
    elif action == "verify":
        response = client.post(f"/api/v1/centres/{anfield}/verify", headers=headers)
    elif action == "audit":
        response = client.get(f"/api/v1/centres/{anfield}/audit", headers=headers)
    elif action == "create":
        response = client.post("/api/v1/centres", json={**NEW_CENTRE, "area": "north"}, headers=headers)
    else:
        response = client.post(
            f"/api/v1/centres/{anfield}/close", json={"reason": "Test closure"}, headers=headers
        )
    assert response.status_code == status, response.json
    if status == 403:
        assert response.json["error"]["code"] == "forbidden"


def test_staff_routes_need_a_valid_token_before_anything_else(client, ids):
    centre = ids["anfield"]
    assert patch(client, centre, {"postcode": "nonsense"}, {}).status_code == 401
    assert client.post("/api/v1/centres", json={}).status_code == 401
    assert client.get(f"/api/v1/centres/{centre}/audit").status_code == 401
    assert client.get("/api/v1/centres/stale").status_code == 401
    forged = {"Authorization": "Bearer not-a-real-token"}
    assert client.post(f"/api/v1/centres/{centre}/verify", headers=forged).status_code == 401


def test_coordinator_edit_bumps_version_and_etag(client, staff, ids):
    north = staff("coordinator", "north")
    response = patch(
        client, ids["everton"], {"phone": "0151 496 0777", "status": "temporarily_closed"}, north
    )
    assert response.status_code == 200, response.json
    assert response.headers["ETag"] == '"2"'
    assert response.json["version"] == 2
    assert response.json["phone"] == "0151 496 0777"
    assert response.json["open_now"] is False
    assert client.get(f"/api/v1/centres/{ids['everton']}").json["status"] == "temporarily_closed"


def test_patch_without_if_match_is_428(client, staff, ids):
    response = patch(client, ids["everton"], {"phone": "0151 496 0777"}, staff("admin"), version=None)
    assert response.status_code == 428
    assert response.json["error"]["code"] == "precondition_required"


@pytest.mark.parametrize("version", ['"2"', '"0"'])
def test_stale_if_match_is_409_and_changes_nothing(any_store_client, staff, ids, version):
    client = any_store_client
    first = patch(client, ids["everton"], {"name": "Test Everton First Edit"}, staff("coordinator", "north"))
    assert first.status_code == 200
    second = patch(
        client, ids["everton"], {"name": "Test Everton Second Edit"}, staff("admin"), version='"1"'
    )
    assert second.status_code == 409
    assert second.json["error"]["code"] == "conflict"
    current = client.get(f"/api/v1/centres/{ids['everton']}")
    assert current.json["name"] == "Test Everton First Edit"
    assert current.headers["ETag"] == '"2"'
    if version == '"2"':
        third = patch(
            client, ids["everton"], {"name": "Test Everton Third Edit"}, staff("admin"), version=version
        )
        assert third.status_code == 200


def test_concurrent_editors_of_the_same_version_one_wins(client, staff, ids):
    """Both read version 1; the store's compare-and-set lets exactly one save."""
    service = provided(client.application, api.Context).service
    from directory.sample import SampleLoader

    service.update(ids["county"], {"accessibility": "Test A"}, SampleLoader(), 1)
    with pytest.raises(Exception, match="no longer at version 1"):
        service.update(ids["county"], {"accessibility": "Test B"}, SampleLoader(), 1)


def test_coordinator_cannot_move_a_centre_out_of_their_area(client, staff, ids):
    response = patch(client, ids["anfield"], {"area": "south"}, staff("coordinator", "north"))
    assert response.status_code == 403
    assert patch(client, ids["anfield"], {"area": "south"}, staff("principal_officer")).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"postcode": "XYZ 123"}, "postcode"),
        ({"phone": "12345"}, "phone"),
        ({"email": "not-an-email"}, "email"),
        ({"website": "ftp://example.org"}, "website"),
        ({"area": "east"}, "area"),
        ({"services": ["bingo"]}, "services"),
        ({"opening_times": {"monday": [{"opens": "17:00", "closes": "09:00"}]}}, "opening_times"),
        ({"opening_times": {"funday": []}}, "opening_times"),
        ({"opening_times": {"monday": [{"opens": "9am", "closes": "17:00"}]}}, "opening_times"),
        (
            {
                "opening_times": {
                    "monday": [{"opens": "09:00", "closes": "13:00"}, {"opens": "12:00", "closes": "15:00"}]
                }
            },
            "opening_times",
        ),
        (
            {
                "exceptions": [
                    {
                        "date": "2026-12-25",
                        "closed": True,
                        "sessions": [{"opens": "09:00", "closes": "10:00"}],
                    }
                ]
            },
            "exceptions",
        ),
        (
            {"exceptions": [{"date": "2026-12-25", "closed": True}, {"date": "2026-12-25", "closed": True}]},
            "exceptions",
        ),
        ({"exceptions": [{"date": "2026-13-40", "closed": True}]}, "exceptions"),
        ({"min_age": 5, "max_age": 2}, "max_age"),
        ({"status": "closed"}, "status"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_invalid_edits_are_422_naming_the_field_and_change_nothing(client, staff, ids, body, field):
    response = patch(client, ids["anfield"], body, staff("admin"))
    assert response.status_code == 422, response.json
    assert field in response.json["error"]["fields"], response.json
    assert etag(client, ids["anfield"]) == '"1"'


def test_a_days_times_and_an_exception_are_refused_in_their_own_words(client, staff, ids):
    def fields_of(body: dict) -> dict:
        response = patch(client, ids["anfield"], body, staff("admin"))
        assert response.status_code == 422, response.json
        return response.json["error"]["fields"]

    overlapping = [{"opens": "09:00", "closes": "13:00"}, {"opens": "12:00", "closes": "15:00"}]
    closed_with_sessions = {"date": "2026-12-25", "closed": True, "sessions": overlapping[:1]}

    assert fields_of({"opening_times": {"monday": overlapping}}) == {
        "opening_times": {"monday": ["sessions 09:00-13:00 and 12:00-15:00 overlap"]}
    }
    assert fields_of({"exceptions": [closed_with_sessions]}) == {
        "exceptions": {"0": {"sessions": ["A closed day has no sessions."]}}
    }
    assert fields_of({"exceptions": [{"date": "2026-12-24"}]}) == {
        "exceptions": {"0": {"sessions": ["Give the sessions, or set closed to true."]}}
    }
    assert fields_of({"exceptions": [{"date": "2026-12-24", "sessions": overlapping}]}) == {
        "exceptions": {"0": {"sessions": ["sessions 09:00-13:00 and 12:00-15:00 overlap"]}}
    }
    document = client.get("/openapi.json").json["components"]["schemas"]["Exception"]
    assert [branch["required"] for branch in document["oneOf"]] == [["closed"], ["sessions"]]
    assert etag(client, ids["anfield"]) == '"1"'


CONTROL_CHARACTERS = [
    ({"name": "Test Centre\nBcc: someone@example.org"}, ["name"]),
    ({"name": "Test\rCentre"}, ["name"]),
    ({"name": "Test\x00Centre"}, ["name"]),
    ({"name": "Test\u2028Centre"}, ["name"]),
    ({"ward": "Test\tWard"}, ["ward"]),
    ({"address": {"line1": "1 Test\nStreet"}}, ["address", "line1"]),
    ({"address": {"line1": "1 Test Street", "line2": "Test\x1b[31m"}}, ["address", "line2"]),
    ({"address": {"line1": "1 Test Street", "town": "Test\x7fTown"}}, ["address", "town"]),
    ({"postcode": "L8\n0AA"}, ["postcode"]),
    ({"phone": "0151\n496 0000"}, ["phone"]),
    ({"description": "Test\x0bdescription"}, ["description"]),
    ({"accessibility": "Test\x00ramp"}, ["accessibility"]),
    ({"opening_times": {"monday": [{"opens": "09:00\n", "closes": "17:00"}]}}, ["opening_times"]),
    ({"exceptions": [{"date": "2026-12-25", "closed": True, "note": "Test\nnote"}]}, ["exceptions"]),
]


@pytest.mark.parametrize(("body", "path"), CONTROL_CHARACTERS)
def test_control_characters_in_any_text_field_are_422_naming_the_field(client, staff, ids, body, path):
    response = patch(client, ids["anfield"], body, staff("admin"))
    assert response.status_code == 422, response.json
    fields = response.json["error"]["fields"]
    for name in path:
        assert name in fields, response.json
        fields = fields[name]
    assert etag(client, ids["anfield"]) == '"1"'


def test_a_textarea_keeps_its_line_breaks_and_a_closure_reason_has_none(client, staff, ids):
    kept = patch(client, ids["anfield"], {"description": "Test line one\r\nTest line two"}, staff("admin"))
    closing = client.post(
        f"/api/v1/centres/{ids['anfield']}/close", json={"reason": "Test\nreason"}, headers=staff("admin")
    )
    searched = client.get("/api/v1/centres", query_string={"q": "Test\x00"})

    assert kept.status_code == 200 and kept.json["description"] == "Test line one\r\nTest line two"
    assert closing.status_code == 422 and "reason" in closing.json["error"]["fields"]
    assert searched.status_code == 422 and "q" in searched.json["error"]["fields"]


def test_the_weekday_and_session_at_fault_are_named(client, staff, ids):
    body = {"opening_times": {"tuesday": [{"opens": "17:00", "closes": "09:00"}]}}
    fields = patch(client, ids["anfield"], body, staff("admin")).json["error"]["fields"]
    assert fields == {"opening_times": {"tuesday": {"0": {"closes": ["Must be after opens."]}}}}


def test_postcode_is_normalised_and_district_follows(client, staff, ids):
    response = patch(client, ids["anfield"], {"postcode": "l6 0zz"}, staff("admin"))
    assert response.json["postcode"] == "L6 0ZZ"
    assert response.json["postcode_district"] == "L6"
    assert ids["anfield"] in {item["id"] for item in search(client, postcode="L6")["items"]}


def test_every_change_is_audited_newest_first(client, staff, ids, clock):
    editor = staff("coordinator", "north", username="test.coordinator")
    clock.advance(hours=1)
    patch(client, ids["anfield"], {"phone": "0151 496 0555", "name": "Test Anfield"}, editor)
    client.post(
        f"/api/v1/centres/{ids['anfield']}/verify", headers=staff("staff", "north", username="test.staff")
    )

    audit = client.get(f"/api/v1/centres/{ids['anfield']}/audit", headers=staff("principal_officer")).json
    assert [entry["action"] for entry in audit["items"]] == ["verified", "updated", "created"]
    verified, updated, created = audit["items"]
    assert (verified["by"], verified["role"], verified["version"]) == ("test.staff", "staff", 3)
    assert updated["by"] == "test.coordinator" and updated["role"] == "coordinator"
    assert updated["at"] == "2026-11-23T11:30:00.000000Z"
    assert updated["changed_fields"] == ["name", "phone"]
    assert updated["changes"]["phone"] == {"from": "0151 496 0001", "to": "0151 496 0555"}
    assert created["by"] == "sample-data"


def test_an_edit_that_changes_nothing_keeps_the_version(client, staff, ids):
    same = client.get(f"/api/v1/centres/{ids['anfield']}").json["phone"]
    response = patch(client, ids["anfield"], {"phone": same}, staff("admin"))
    assert response.status_code == 200
    assert response.headers["ETag"] == '"1"'
    audit = client.get(f"/api/v1/centres/{ids['anfield']}/audit", headers=staff("admin")).json["items"]
    assert [entry["action"] for entry in audit] == ["created"]


def test_stale_list_is_per_area_and_verify_clears_it(any_store_client, staff, ids, clock):
    client = any_store_client

    def stale_for(headers):
        response = client.get("/api/v1/centres/stale", headers=headers)
        assert response.status_code == 200
        return {item["id"] for item in response.json["items"]}, response.json

    north_coordinator = staff("coordinator", "north", username="test.north")
    north, body = stale_for(north_coordinator)
    assert north == {ids["county"], ids["croxteth"]}
    assert body["stale_days"] == 90
    assert {item["days_since_verified"] for item in body["items"]} == {120, 97}
    assert stale_for(staff("principal_officer"))[0] == {
        ids[s] for s in ("county", "croxteth", "picton", "garston")
    }
    assert stale_for(staff("staff", "central"))[0] == {ids["picton"]}

    clock.advance(minutes=5)
    verified = client.post(f"/api/v1/centres/{ids['county']}/verify", headers=north_coordinator)
    assert verified.status_code == 200
    assert verified.json["last_verified_at"] == "2026-11-23T10:35:00.000000Z"
    assert verified.json["verified_by"] == "test.north"
    assert verified.json["stale"] is False
    assert stale_for(north_coordinator)[0] == {ids["croxteth"]}


def test_who_checked_a_centre_is_told_to_staff_and_never_to_the_public(client, staff, ids):
    """verified_by is a member of staff's sign-in name: the public reads (proxied to anyone) leave
    it out and keep the date; the staff pages read with a staff token and still say who checked."""
    client.post(
        f"/api/v1/centres/{ids['county']}/verify", headers=staff("staff", "north", username="test.north")
    )
    public = client.get(f"/api/v1/centres/{ids['county']}").json
    assert "verified_by" not in public
    assert public["last_verified_at"] == "2026-11-23T10:30:00.000000Z"
    assert not any("verified_by" in item for item in search(client)["items"])
    partner = StaffUser("test.partner", "partner", None, agency="test-agency")
    as_partner = client.get(
        f"/api/v1/centres/{ids['county']}", headers=tokens.staff_headers(partner, "directory")
    )
    assert "verified_by" not in as_partner.json

    as_staff = client.get(f"/api/v1/centres/{ids['county']}", headers=staff("staff", "south"))
    assert as_staff.json["verified_by"] == "test.north"
    listed = client.get(
        "/api/v1/centres", query_string={"per_page": 100}, headers=staff("staff", "south")
    ).json
    assert {item["id"]: item["verified_by"] for item in listed["items"]}[ids["county"]] == "test.north"


def test_a_public_read_with_a_bad_token_is_refused(client, ids):
    response = client.get(f"/api/v1/centres/{ids['county']}", headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401


def test_verify_with_a_stale_if_match_is_409(client, staff, ids):
    response = client.post(
        f"/api/v1/centres/{ids['county']}/verify", headers={**staff("admin"), "If-Match": '"7"'}
    )
    assert response.status_code == 409


def test_admin_adds_a_centre(client, staff):
    response = client.post("/api/v1/centres", json=NEW_CENTRE, headers=staff("admin", username="test.admin"))
    assert response.status_code == 201, response.json
    centre = response.json
    assert response.headers["Location"] == f"/api/v1/centres/{centre['id']}"
    assert response.headers["ETag"] == '"1"'
    assert centre["postcode"] == "L1 0AA"
    assert [s["id"] for s in centre["services"]] == ["childcare", "stay-and-play"]
    assert centre["opening_times"]["tuesday"] == []
    assert centre["verified_by"] == "test.admin"
    assert centre["last_verified_at"] == "2026-11-23T10:30:00.000000Z"
    assert client.get(response.headers["Location"]).status_code == 200


def test_creating_needs_the_essentials(client, staff):
    response = client.post("/api/v1/centres", json={"name": "Test Only A Name"}, headers=staff("admin"))
    assert response.status_code == 422
    assert {"address", "postcode", "ward", "area", "opening_times"} <= set(response.json["error"]["fields"])


def test_closing_hides_a_centre_from_default_search_and_freezes_it(any_store_client, staff, ids):
    client = any_store_client
    admin = staff("admin")
    closed = client.post(
        f"/api/v1/centres/{ids['garston']}/close", json={"reason": "Test merger"}, headers=admin
    )
    assert closed.status_code == 200
    assert closed.json["status"] == "closed"
    assert "garston" not in slugs_of(search(client), ids)
    assert "garston" in slugs_of(search(client, include_closed="true"), ids)
    assert (
        client.post(
            f"/api/v1/centres/{ids['garston']}/close", json={"reason": "again"}, headers=admin
        ).status_code
        == 409
    )
    south = staff("coordinator", "south")
    assert patch(client, ids["garston"], {"phone": "0151 496 0111"}, south, version='"2"').status_code == 403
    assert client.post(f"/api/v1/centres/{ids['garston']}/verify", headers=admin).status_code == 409
    audit = client.get(f"/api/v1/centres/{ids['garston']}/audit", headers=admin).json["items"]
    assert audit[0]["action"] == "closed" and audit[0]["reason"] == "Test merger"


def test_closing_needs_a_reason(client, staff, ids):
    response = client.post(f"/api/v1/centres/{ids['garston']}/close", json={}, headers=staff("admin"))
    assert response.status_code == 422
    assert "reason" in response.json["error"]["fields"]


def test_sample_is_loaded_once_and_relative_to_now(client, ids):
    from directory.sample import load_sample

    service = provided(client.application, api.Context).service
    assert load_sample(service).created == 0
    assert search(client, include_closed="true")["total"] == 24
    county = client.get(f"/api/v1/centres/{ids['county']}").json
    assert county["last_verified_at"] == "2026-07-26T10:30:00.000000Z"  # 120 days before NOW
    assert NOW.isoformat().startswith("2026-11-23")
