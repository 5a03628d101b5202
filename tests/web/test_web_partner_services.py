"""Partners' services on the public search page and the staff page of their feeds (issue 15, part 4)."""

from __future__ import annotations

from web_testkit import DIRECTORY, centre, error

PARTNER = {
    "id": "partner:0b9b8a43-57a5-5cbb-9d55-1e6d4b0d4d2f",
    "feed": "partner",
    "name": "Test Stay and Play Group",
    "description": "Test description of a partner's group.",
    "organization": "Test Partner Charity",
    "label": "from Test Partner Charity",
    "url": "https://partner.example.org/stay-and-play",
    "email": None,
    "fees": None,
    "min_age": 0,
    "max_age": 5,
    "languages": ["English"],
    "free": True,
    "postcode": "L1 0AA",
    "assured_date": "2026-10-01",
    "distance_km": None,
}


def search_answer(partners: list[dict], total: int = 1) -> tuple[int, dict]:
    return 200, {
        "items": [centre("c-north", "Everton Test Centre", "north")],
        "total": total,
        "page": 1,
        "per_page": 50,
        "pages": 1,
        "partner_services": partners,
        "partner_total": len(partners),
    }


def feeds_answer(hidden: bool = False) -> tuple[int, dict]:
    return 200, {
        "feeds": [
            {
                "name": "partner",
                "services": 1,
                "hidden": int(hidden),
                "last_attempt_at": "2026-11-23T10:00:00.000000Z",
                "last_success_at": "2026-11-23T09:00:00.000000Z",
                "last_result": "failed",
                "failures_in_a_row": 2,
                "next_attempt_at": "2026-11-23T10:02:00.000000Z",
                "last_error": {
                    "at": "2026-11-23T10:00:00.000000Z",
                    "reason": "timeout",
                    "detail": "no answer within 10 s",
                },
            }
        ],
        "services": [
            {**PARTNER, "service_id": "0b9b8a43", "status": "active", "hidden": hidden, "audit": []}
        ],
    }


def test_partners_services_follow_the_centres_labelled_from_their_organisation(client, services):
    services.on("GET", DIRECTORY, "/api/v1/centres", search_answer([PARTNER]))
    page = client.get("/?q=play").text

    centres_at, partners_at = page.index("Everton Test Centre"), page.index("Test Stay and Play Group")
    assert centres_at < partners_at
    assert "1 service from partner organisations" in page
    assert '<p class="from" data-testid="partner-from"><strong>from Test Partner Charity</strong></p>' in page
    assert "Information last checked by Test Partner Charity 1 October 2026" in page


def test_a_partner_services_ages_read_as_whole_years_when_they_are(client, services):
    """Feeds give ages as JSON numbers, which the directory keeps as decimals (3.0)."""
    given = [
        {**PARTNER, "min_age": 3.0, "max_age": 10.0},
        {**PARTNER, "id": "p2", "min_age": 1.5, "max_age": None},
    ]
    services.on("GET", DIRECTORY, "/api/v1/centres", search_answer(given, total=2))
    page = client.get("/?q=play").text
    assert "<li>Ages 3 to 10</li>" in page and "<li>Ages 1.5 and over</li>" in page


def test_a_cut_list_says_so(client, services):
    status, body = search_answer([PARTNER])
    services.on("GET", DIRECTORY, "/api/v1/centres", (status, {**body, "partner_total": 30}))
    page = client.get("/?q=play").text
    assert "30 services from partner organisations" in page and "Showing the first 1." in page


def test_no_partner_section_when_none_match(client, services):
    services.on("GET", DIRECTORY, "/api/v1/centres", search_answer([]))
    assert "partner organisations" not in client.get("/?q=play").text


def test_the_staff_page_shows_each_feeds_state(sign_in, services):
    services.on("GET", DIRECTORY, "/api/v1/partner-feeds", feeds_answer())
    page = sign_in(role="staff").get("/staff/partner-feeds/")
    assert page.status_code == 200
    text = page.text
    assert "Mon 23 Nov 2026, 9:00am" in text  # last success
    assert "timeout (no answer within 10 s), 2 in a row" in text
    assert "Test Stay and Play Group" in text and "Shown" in text
    assert "/hide" not in text  # staff see, coordinators and above decide


def test_a_coordinator_hides_a_partner_service(sign_in, services, post_form):
    services.on("GET", DIRECTORY, "/api/v1/partner-feeds", feeds_answer())
    services.on(
        "POST",
        DIRECTORY,
        "/api/v1/partner-services/[^/]+/hide",
        (200, {**PARTNER, "hidden": True}),
    )
    sign_in(role="coordinator")
    action = f"/staff/partner-feeds/services/{PARTNER['id']}/hide"
    answer = post_form("/staff/partner-feeds/", action, {"reason": "Test reason"})

    assert answer.status_code == 302
    call = services.last("POST", "/api/v1/partner-services/")
    assert call.path == "/api/v1/partner-services/partner%3A0b9b8a43-57a5-5cbb-9d55-1e6d4b0d4d2f/hide"
    assert call.json == {"reason": "Test reason"}
    assert call.user.role == "coordinator"


def test_the_directory_refusing_a_hide_is_shown_not_swallowed(sign_in, services, post_form):
    services.on("GET", DIRECTORY, "/api/v1/partner-feeds", feeds_answer())
    services.on(
        "POST", DIRECTORY, "/api/v1/partner-services/[^/]+/hide", error(404, "no partner service with id x")
    )
    sign_in(role="coordinator")
    answer = post_form("/staff/partner-feeds/", f"/staff/partner-feeds/services/{PARTNER['id']}/hide", {})
    assert answer.status_code == 404
