"""The admin's subject access pages against a stand-in contacts service."""

from __future__ import annotations

import json

import pytest
from web_testkit import CONTACTS, csrf_of, error

PAGE = "/admin/subject-access/"
EXPORT = {
    "about": "Every contact and referral ...",
    "search_id": "search-1",
    "generated_at": "2026-03-18T10:30:00.000000Z",
    "generated_by": "t.admin",
    "searched_for": ["name"],
    "count": 1,
    "contacts": [
        {
            "id": "contact-1",
            "reference": "T-2603-ABCDE",
            "channel": "telephone",
            "centre": {"id": "c-north", "name": "Everton Test Centre"},
            "area": "north",
            "received_at": "2026-03-13T10:00:00.000000Z",
            "status": "closed",
            "found_as": {"requester": ["name"]},
            "details": {"requester": {"name": "Test Parent"}},
            "history": [],
            "access_log": [],
        }
    ],
}


@pytest.fixture
def admin(sign_in):
    return sign_in("t.admin", "admin", None)


def _erase_answers(services, **answer) -> None:
    """The stand-in contacts service erases contact-1: all of it and scrubbed, unless told."""
    done = {
        "erased": ["contact-1"],
        "already_erased": [],
        "not_found": [],
        "not_matched": [],
        "parts": {"contact-1": ["all"]},
        "scrub": "done",
    }
    services.on("POST", CONTACTS, "/api/v1/subject-access/erase", (200, done | answer))


@pytest.fixture
def sar(services):
    services.on("POST", CONTACTS, "/api/v1/subject-access/search", (200, EXPORT))
    _erase_answers(services)
    return services


def _post(client, path: str, form: dict):
    token = csrf_of(client.get(PAGE).text)
    return client.post(path, data={**form, "csrf_token": token})


def test_an_admin_searches_by_post_and_sees_who_the_person_is_in_each_contact(admin, sar):
    page = _post(admin, PAGE, {"name": "Test Parent", "phone": "", "email": "", "postcode": ""})

    assert page.status_code == 200
    call = sar.last("POST", "/api/v1/subject-access/search")
    assert call.json == {"name": "Test Parent"} and call.user.role == "admin"
    assert call.params == {}, "the values searched for never travel in a URL"
    assert "1 contact found" in page.text
    assert "T-2603-ABCDE" in page.text and "Everton Test Centre" in page.text
    assert "The person who wrote or called (name)" in page.text
    assert "Download the export" in page.text and "Erase personal data" in page.text


def test_the_export_downloads_as_a_readable_json_file(admin, sar):
    answer = _post(admin, PAGE + "export", {"name": "Test Parent"})

    assert answer.status_code == 200
    assert answer.mimetype == "application/json"
    assert answer.headers["Content-Disposition"] == 'attachment; filename="subject-access-2026-03-18.json"'
    assert answer.headers["Cache-Control"] == "no-store"
    assert json.loads(answer.text) == EXPORT
    assert "\n  " in answer.text


def test_the_contacts_services_complaint_shows_beside_its_field(admin, services):
    services.on(
        "POST",
        CONTACTS,
        "/api/v1/subject-access/search",
        error(422, "invalid input", {"postcode": ["give a full postcode such as L8 0AA"]}),
    )
    page = _post(admin, PAGE, {"postcode": "L8"})
    assert page.status_code == 422
    assert 'id="postcode-error"' in page.text and "give a full postcode" in page.text
    empty = _post(admin, PAGE, {"name": " "})
    assert empty.status_code == 422 and "Give a name" in empty.text


def test_erasing_needs_a_reason_and_a_confirmation(admin, sar):
    form = {"name": "Test Parent", "contact_id": "contact-1", "reason": "erasure_request"}

    refused = _post(admin, PAGE + "erase", form)

    assert refused.status_code == 422
    assert 'id="confirm-error"' in refused.text
    assert not [c for c in sar.calls if c.path == "/api/v1/subject-access/erase"]
    no_reason = _post(admin, PAGE + "erase", {**form, "reason": "", "confirm": "yes"})
    assert no_reason.status_code == 422 and 'id="reason-error"' in no_reason.text

    done = _post(admin, PAGE + "erase", {**form, "confirm": "yes", "case_reference": "SAR/2026/0042"})

    assert done.status_code == 302 and done.headers["Location"].endswith(PAGE)
    call = sar.last("POST", "/api/v1/subject-access/erase")
    assert call.json == {
        "name": "Test Parent",
        "contact_ids": ["contact-1"],
        "reason": "erasure_request",
        "case_reference": "SAR/2026/0042",
    }
    page = admin.get(PAGE).text
    assert "Personal data erased from 1 contact." in page and "pending" not in page


def test_an_erasure_whose_clean_up_is_owed_says_it_is_done_and_the_clean_up_pending(admin, services):
    """The contacts service erased the data but could not yet scrub its files: staff are told the
    erasure is done, not shown an error that reads as a failed erasure."""
    _erase_answers(services, scrub="owed")
    form = {"name": "Test Parent", "contact_id": "contact-1", "reason": "erasure_request", "confirm": "yes"}

    done = _post(admin, PAGE + "erase", form)

    assert done.status_code == 302 and done.headers["Location"].endswith(PAGE)
    page = admin.get(PAGE)
    assert page.status_code == 200
    assert "Personal data erased from 1 contact." in page.text
    assert "The erasure is done. Clearing the old copies from the database files is pending" in page.text


def test_erasing_at_a_referrers_request_says_only_their_details_went(admin, services):
    _erase_answers(services, parts={"contact-1": ["referrer"]})
    form = {"name": "Test Referrer", "contact_id": "contact-1", "reason": "erasure_request", "confirm": "yes"}

    done = _post(admin, PAGE + "erase", form)

    assert done.status_code == 302
    call = services.last("POST", "/api/v1/subject-access/erase")
    assert call.json["name"] == "Test Referrer", "the service erases only this person's part"
    assert "(as referrer or consent recorder) were erased" in admin.get(PAGE).text


@pytest.mark.parametrize(
    ("role", "area"), [("staff", "north"), ("coordinator", "north"), ("principal_officer", None)]
)
def test_only_admins_reach_the_pages(sign_in, sar, role, area):
    client = sign_in(f"t.{role}", role, area)
    assert client.get(PAGE).status_code == 403
    token = csrf_of(client.get("/staff/contacts/new").text)
    for path in (PAGE, PAGE + "export", PAGE + "erase"):
        assert client.post(path, data={"name": "Test Parent", "csrf_token": token}).status_code == 403
    assert not [c for c in sar.calls if c.path.startswith("/api/v1/subject-access")]
