"""The public and staff pages say so wherever a SAMPLE centre (the demo data `make run` loads) is shown:
no one takes an invented centre for a real one."""

from __future__ import annotations

from web_testkit import CONTACTS, DIRECTORY, centre, referral

NOTICE = "Sample data for demonstration:</strong> not the council's list of children's centres"


def test_a_sample_centre_is_marked_in_the_results_and_on_its_page(client, services):
    sample = centre("c-1", "Anfield Test Centre", "north", sample=True)
    real = centre("c-2", "Everton Test Centre", "north", sample=False)
    found = {"items": [real, sample], "total": 2, "page": 1, "pages": 1}
    services.on("GET", DIRECTORY, "/api/v1/centres", (200, found))
    services.on("GET", DIRECTORY, "/api/v1/centres/c-1", (200, sample))
    services.on("GET", DIRECTORY, "/api/v1/centres/c-2", (200, real))

    assert client.get("/?q=test").text.count(NOTICE) == 1
    assert NOTICE in client.get("/centres/c-1").text
    assert NOTICE not in client.get("/centres/c-2").text


def test_pages_that_show_no_sample_centre_carry_no_mark(client, services):
    assert "2 centres found" in client.get("/?q=test").text
    assert NOTICE not in client.get("/?q=test").text
    assert NOTICE not in client.get("/").text


def test_staff_pages_mark_a_sample_centre_where_they_list_show_and_offer_it(client, services, sign_in):
    sample = centre("c-1", "Anfield Test Centre", "north", sample=True)
    real = centre("c-2", "Everton Test Centre", "north", sample=False)
    found = {"items": [real, sample], "total": 2, "page": 1, "pages": 1}
    services.on("GET", DIRECTORY, "/api/v1/centres", (200, found))
    for listed in (sample, real):
        services.on("GET", DIRECTORY, f"/api/v1/centres/{listed['id']}", (200, listed, {"ETag": '"3"'}))
        services.on("GET", DIRECTORY, f"/api/v1/centres/{listed['id']}/audit", (200, {"items": []}))
    sign_in("t.north", "coordinator", "north")

    assert client.get("/staff/centres/").text.count(NOTICE) == 1
    assert NOTICE in client.get("/staff/centres/c-1").text
    assert NOTICE not in client.get("/staff/centres/c-2").text
    assert NOTICE in client.get("/staff/contacts/new").text, "where staff choose the centre of a contact"


def test_staff_pages_that_show_no_sample_centre_carry_no_mark(client, services, sign_in):
    sign_in("t.principal", "principal_officer", None)

    assert "Everton Test Centre" in client.get("/staff/centres/").text
    assert NOTICE not in client.get("/staff/centres/").text
    assert NOTICE not in client.get("/staff/contacts/new").text


def test_the_list_of_centres_to_check_marks_sample_centres(client, services, sign_in):
    listed = [
        {"id": "c-1", "name": "Anfield Test Centre", "area": "north", "sample": True},
        {"id": "c-2", "name": "Everton Test Centre", "area": "north", "sample": False},
    ]
    services.on("GET", DIRECTORY, "/api/v1/centres/stale", (200, {"stale_days": 90, "items": listed}))
    sign_in("t.north", "coordinator", "north")

    assert client.get("/staff/centres/stale").text.count(NOTICE) == 1

    services.on("GET", DIRECTORY, "/api/v1/centres/stale", (200, {"stale_days": 90, "items": listed[1:]}))
    assert NOTICE not in client.get("/staff/centres/stale").text


def _partner_directory(services, *, sample: bool) -> None:
    listed = [centre("c-south", "Garston Test Centre", "south", sample=sample)]
    services.on(
        "GET", DIRECTORY, "/api/v1/centres", (200, {"items": listed, "total": 1, "page": 1, "pages": 1})
    )
    found = referral("r1", "R-2603-AAAA1")
    services.on("GET", CONTACTS, "/api/v1/referrals/r1", (200, found))
    services.on("GET", CONTACTS, "/api/v1/referrals", (200, {"items": [found], "total": 1, "page": 1}))


def test_partner_pages_mark_a_sample_centre_where_they_offer_and_name_it(client, services, sign_in):
    _partner_directory(services, sample=True)
    sign_in("p.visitor", "partner", None, "example-health-visitors")

    assert client.get("/partners/refer").text.count(NOTICE) == 1, "where the partner chooses the centre"
    listed = client.get("/partners/").text
    assert "Garston Test Centre" in listed and listed.count(NOTICE) == 1, "once above the list of referrals"
    page = client.get("/partners/referrals/r1").text
    assert "Garston Test Centre" in page and page.count(NOTICE) == 1


def test_partner_pages_that_offer_and_name_no_sample_centre_carry_no_mark(client, services, sign_in):
    _partner_directory(services, sample=False)
    sign_in("p.visitor", "partner", None, "example-health-visitors")

    assert NOTICE not in client.get("/partners/refer").text
    listed = client.get("/partners/").text
    assert "Garston Test Centre" in listed and NOTICE not in listed
    page = client.get("/partners/referrals/r1").text
    assert "Garston Test Centre" in page and NOTICE not in page
