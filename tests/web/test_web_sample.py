"""The public and staff pages say so wherever a SAMPLE centre (the demo data `make run` loads) is shown:
no one takes an invented centre for a real one."""

from __future__ import annotations

from web_testkit import DIRECTORY, centre

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
