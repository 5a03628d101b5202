"""The pages against stand-in services: what each page asks the services and shows."""

from __future__ import annotations

import html as html_text
import re

import pytest
from ccshared.web import provided
from frontend import formatting
from frontend.views import Context
from web_testkit import CONTACTS, DIRECTORY, NOTIFIER, SLA, centre, csrf_of, error


def _contact(contact_id: str, reference: str, status: str = "received", **extra) -> dict:
    return {
        "id": contact_id,
        "reference": reference,
        "channel": "telephone",
        "centre_id": "c-north",
        "area": "north",
        "received_at": "2026-03-13T10:00:00+00:00",
        "status": status,
        "assignee": None,
        "responded_at": None,
        "referral": None,
        **extra,
    }


def _clock(contact_id: str, state: str, due_at: str, remaining: int) -> dict:
    return {
        "contact_id": contact_id,
        "state": state,
        "due_at": due_at,
        "working_days_remaining": remaining,
        "channel": "telephone",
        "centre_id": "c-north",
        "area": "north",
    }


# Public pages -----------------------------------------------------------------


def test_searching_by_service_asks_the_directory_and_lists_what_it_found(client, services):
    near = centre("c-1", "Everton Test Centre", "north", distance_km=1.234)
    services.on(
        "GET", DIRECTORY, "/api/v1/centres", (200, {"items": [near], "total": 1, "page": 1, "pages": 1})
    )

    page = client.get("/?service=stay-and-play&lat=53.41&lon=-2.97")

    assert page.status_code == 200
    call = services.last("GET", "/api/v1/centres")
    assert call.params["service"] == "stay-and-play"
    assert (call.params["lat"], call.params["lon"]) == ("53.41", "-2.97")
    assert call.user is None
    assert "1 centre found near you" in page.text
    assert "1.2 km" in page.text
    assert "Information last checked 1 March 2026" in page.text
    assert "Open today 09:00 to 17:00" in page.text


def test_the_place_box_takes_a_place_name_or_a_postcode(client, services):
    client.get("/?place=L8")
    assert services.last("GET", "/api/v1/centres").params.get("postcode") == "L8"

    # Part of a ward ("Speke-Garston"), a centre's name or its address: not a whole ward's name.
    client.get("/?place=Garston")
    params = services.last("GET", "/api/v1/centres").params
    assert params.get("place") == "Garston" and "ward" not in params


def directory_located(services, located_by: str, *items: dict) -> None:
    """The directory's answer to a postcode search, saying how it placed the postcode."""
    answer = {"items": list(items), "total": len(items), "page": 1, "pages": 1, "located_by": located_by}
    services.on("GET", DIRECTORY, "/api/v1/centres", (200, answer))


def test_distances_from_a_districts_middle_are_said_to_be_from_the_district(client, services):
    near = centre("c-7", "Kensington Test Centre", "central", postcode="L7 0AE", distance_km=1.97)
    directory_located(services, "district_middle", near)

    page = client.get("/?place=l8&service=stay-and-play")

    assert "1 centre found, nearest first" in page.text
    assert "measured from the middle of postcode district L8, not from your address" in page.text
    assert "2.0 km</strong> from the middle of L8" in page.text


def test_a_district_matched_exactly_says_so(client, services):
    directory_located(services, "district")

    page = client.get("/?place=L99+1ZZ")

    assert "centres in postcode district L99 only" in page.text


@pytest.mark.parametrize(
    ("field", "place", "message", "shown"),
    [
        (
            "postcode",
            "L99+ZZZ",
            "Not a UK postcode or postcode district, e.g. L8 or L8 0AA.",
            "Place or postcode: enter a postcode like L8 0AA, or its first part like L8",
        ),
        (
            "postcode",
            "L8%090AA",
            "Must not contain control characters such as line breaks or tabs.",
            "Place or postcode: take out any tabs, line breaks or other invisible characters",
        ),
        (
            "place",
            "x" * 101,
            "Longer than maximum length 100.",
            "Place or postcode: use 100 characters or fewer",
        ),
    ],
)
def test_the_directorys_complaint_shows_beside_the_place_box(client, services, field, place, message, shown):
    services.on(
        "GET", DIRECTORY, "/api/v1/centres", error(422, f"invalid input: {field}", {field: [message]})
    )

    page = client.get(f"/?place={place}")

    assert page.status_code == 422
    assert f'<p class="field-error" id="place-error">{shown}</p>' in page.text
    assert 'aria-invalid="true"' in page.text


@pytest.mark.parametrize(
    ("query", "refusal", "field", "shown"),
    [
        (
            "service=x",
            {"service": ["Must be one of: childcare, early-education, stay-and-play."]},
            "service",
            "Service you are looking for: choose a service from the list",
        ),
        (
            "lat=91&lon=0",
            {"lat": ["Must be greater than or equal to -90 and less than or equal to 90."]},
            "place",
            "Place or postcode: we could not use your location; type a place or postcode instead",
        ),
        (
            "language=" + "x" * 41,
            {"language": ["Length must be between 1 and 40."]},
            "language",
            "Language you would like to speak: use 1 to 40 characters",
        ),
    ],
)
def test_the_find_form_names_the_field_and_says_what_to_do_not_the_apis_words(
    client, services, query, refusal, field, shown
):
    """The directory's words name its parameters, its own codes and ranges: the form says its own."""
    name = next(iter(refusal))
    services.on("GET", DIRECTORY, "/api/v1/centres", error(422, f"invalid input: {name}", refusal))

    page = client.get(f"/?{query}")

    assert page.status_code == 422
    assert f'<p class="field-error" id="{field}-error">{shown}</p>' in page.text
    assert f'<a href="#{field}">{shown}</a>' in page.text
    for api_words in ("Must be", "early-education", "less than or equal"):
        assert api_words not in page.text


def test_a_complaint_about_a_parameter_the_form_never_sends_is_said_above_the_form(client, services):
    refusal = {"per_page": ["Must be greater than or equal to 1 and less than or equal to 100."]}
    services.on("GET", DIRECTORY, "/api/v1/centres", error(422, "invalid input: per_page", refusal))

    page = client.get("/?q=everton")

    assert page.status_code == 422
    assert 'id="q-error"' not in page.text
    assert "Name of centre:" not in page.text
    assert "We could not search with that link: please choose again below." in page.text
    assert "Must be" not in page.text


def test_a_directory_that_is_down_gets_a_clear_message_not_a_crash(client, services):
    services.down.add(DIRECTORY)

    page = client.get("/?service=stay-and-play")

    assert page.status_code == 503
    assert "the centre search is not working at the moment" in page.text
    assert "<form" in page.text


def test_a_centres_page_has_address_map_services_times_and_access(client, services):
    found = centre("c-1", "Everton Test Centre", "north", location={"latitude": 53.42, "longitude": -2.97})
    services.on("GET", DIRECTORY, "/api/v1/centres/c-1", (200, found))

    page = client.get("/centres/c-1").text

    assert "<h1>Everton Test Centre</h1>" in page
    assert "openstreetmap.org/?mlat=53.42&amp;mlon=-2.97" in page
    assert "Stay and play" in page
    assert "Monday</th>" in page and "09:00 to 17:00" in page
    assert "Step-free entrance." in page
    assert "last checked on 1 March 2026" in page


def test_a_centre_overdue_for_checking_tells_families_to_phone_first(client, services):
    overdue = centre("c-1", "Everton Test Centre", "north", stale=True)
    fresh = centre("c-2", "Garston Test Centre", "south")
    services.on("GET", DIRECTORY, "/api/v1/centres/c-1", (200, overdue))
    services.on("GET", DIRECTORY, "/api/v1/centres/c-2", (200, fresh))
    services.on(
        "GET",
        DIRECTORY,
        "/api/v1/centres",
        (200, {"items": [overdue, fresh], "total": 2, "page": 1, "pages": 1}),
    )
    notice = "This information is due to be checked:</strong> please phone the centre before you visit"

    assert notice in client.get("/centres/c-1").text
    assert notice not in client.get("/centres/c-2").text
    cards = client.get("/?service=stay-and-play").text.split('class="centre-card"')[1:]
    assert [notice in card for card in cards] == [True, False]


def test_an_unknown_centre_is_a_friendly_404(client, services):
    services.on("GET", DIRECTORY, "/api/v1/centres/nope", error(404, "no centre with id nope"))

    page = client.get("/centres/nope")

    assert page.status_code == 404
    assert "Page not found" in page.text
    assert "No centre with id nope. If you followed a link, it may be out of date." in page.text


def test_how_we_are_doing_shows_each_months_letters_and_telephone_messages(client, services):
    groups = [
        {
            "month": "2026-02",
            "key": "letter",
            "met": 9,
            "breached": 1,
            "open": 0,
            "total": 10,
            "percent_met": 90.0,
            "targets": [5],
        },
        {
            "month": "2026-02",
            "key": "telephone",
            "met": 3,
            "breached": 1,
            "open": 0,
            "total": 4,
            "percent_met": 75.0,
            "targets": [2],
        },
        {
            "month": "2026-03",
            "key": "letter",
            "met": 0,
            "breached": 0,
            "open": 2,
            "total": 2,
            "percent_met": None,
            "targets": [],
        },
    ]
    services.on("GET", SLA, "/api/v1/reports/compliance", (200, {"monthly": groups, "months": []}))

    page = client.get("/how-we-are-doing").text

    asked = [c.params for c in services.calls if c.path == "/api/v1/reports/compliance"]
    assert asked == [{"from": "2025-04-01", "to": "2026-03-18", "group_by": "channel"}]  # each month's own
    assert page.index("March 2026") < page.index("February 2026")
    assert "90%</strong> (9 of 10) answered within 5 working days" in page
    assert "75%</strong> (3 of 4) answered within 2 working days" in page
    assert "No letters answered yet" in page


def test_how_we_are_doing_says_when_a_months_figures_appear_and_which_are_not_published_yet(client, services):
    """Figures are published once a month has settled, and then never change: the page says so,
    and names the months of its period the SLA monitor has not published yet."""
    waiting = {"monthly": [], "months": [], "not_yet_published": ["2026-02", "2026-03"]}
    services.on("GET", SLA, "/api/v1/reports/compliance", (200, waiting))

    page = client.get("/how-we-are-doing").text

    said = " ".join(re.search(r'<p data-testid="publication">(.*?)</p>', page, re.S).group(1).split())
    assert said == (
        "A month's figures appear a few days after it ends, once every letter and message in it has been "
        "answered or has passed its "
        "deadline (or, at the latest, once the month after it has ended), and then they do not change. "
        "Figures for February 2026 and March 2026 are not published yet."
    )


def test_how_we_are_doing_says_closure_days_are_not_working_days(client, services):
    """The clocks skip the team's closure days as well as bank holidays: the page says both."""
    services.on("GET", SLA, "/api/v1/reports/compliance", (200, {"monthly": [], "months": []}))

    page = client.get("/how-we-are-doing").text

    assert "not counting bank holidays or the days our centres are closed" in page


def _cells(page: str) -> list[str]:
    """The figures' cells as read, without their bars."""
    cells = re.findall(r"<td>(.*?)</td>", page, re.S)
    return [
        " ".join(re.sub(r'<span class="bar-wrap".*?</span></span>', "", cell, flags=re.S).split())
        for cell in cells
    ]


def test_how_we_are_doing_words_each_month_with_the_targets_its_figures_were_judged_by(client, services):
    """SLA_TARGET_LETTER went from 5 to 3 in March: February's letters were judged by 5 and keep
    it; March's by 5 or 3, as each arrived. Today's target must not reword an older month."""

    def cell(month: str, channel: str, met: int, breached: int, targets: list[int]) -> dict:
        decided = met + breached
        counts = {"met": met, "breached": breached, "open": 0, "total": decided}
        return {"month": month, "key": channel, **counts, "percent_met": round(100 * met / decided, 1)} | {
            "targets": targets
        }

    groups = [
        cell("2026-02", "letter", 9, 1, [5]),
        cell("2026-02", "telephone", 5, 5, [2]),
        cell("2026-03", "letter", 6, 4, [3, 5]),
        cell("2026-03", "telephone", 10, 0, [2]),
    ]
    services.on("GET", SLA, "/api/v1/reports/compliance", (200, {"monthly": groups}))

    page = client.get("/how-we-are-doing").text

    assert _cells(page) == [
        "<strong>60%</strong> (6 of 10) answered within 3 or 5 working days (not every one had the same time to answer)",
        "<strong>100%</strong> (10 of 10) answered within 2 working days",
        "<strong>90%</strong> (9 of 10) answered within 5 working days",
        "<strong>50%</strong> (5 of 10) answered within 2 working days",
    ]
    assert "We will respond to all letters within 5 working days." in page  # the standard, as published
    assert not [call for call in services.calls if call.path == "/api/v1/due"], "no target of today's"


def test_how_we_are_doing_names_no_time_for_figures_shown_without_their_targets(client, services):
    """A channel's figures shown but its targets not (an area's letters hidden that month): the
    page says "answered in time", naming no number of days."""
    letters = {"month": "2026-02", "key": "letter", "met": 9, "breached": 1, "open": 0, "total": 10}
    services.on(
        "GET",
        SLA,
        "/api/v1/reports/compliance",
        (200, {"monthly": [letters | {"percent_met": 90.0, "targets": None}]}),
    )

    page = client.get("/how-we-are-doing").text

    assert "<strong>90%</strong> (9 of 10) answered in time" in _cells(page)


def test_how_we_are_doing_without_figures_says_so_and_unavailable_says_try_later(client, services):
    services.on("GET", SLA, "/api/v1/reports/compliance", (200, {"monthly": []}))
    empty = client.get("/how-we-are-doing")
    assert empty.status_code == 200 and "There are no figures for" in empty.text

    services.on(
        "GET", SLA, "/api/v1/reports/compliance", (503, {"error": {"status": 503, "code": "unavailable"}})
    )
    page = client.get("/how-we-are-doing")
    assert page.status_code == 200
    assert "these figures are not available at the moment" in page.text


def test_how_we_are_doing_says_fewer_than_5_only_of_small_counts_and_withheld_of_the_others(client, services):
    """A cell hidden only so that a small one cannot be worked out may be 25: it is "withheld",
    and the page does not call it fewer than 5."""
    small, withheld = "fewer than 5", "withheld"
    groups = [
        {
            "month": "2026-03",
            "key": "letter",
            "met": small,
            "breached": small,
            "total": small,
            "percent_met": None,
        },
        {
            "month": "2026-03",
            "key": "telephone",
            "met": withheld,
            "breached": 7,
            "total": 32,
            "percent_met": None,
        },
        {
            "month": "2026-02",
            "key": "letter",
            "met": 12,
            "breached": small,
            "total": withheld,
            "percent_met": None,
        },
    ]
    services.on("GET", SLA, "/api/v1/reports/compliance", (200, {"monthly": groups}))

    page = client.get("/how-we-are-doing")

    assert page.status_code == 200
    cells = [" ".join(cell.split()) for cell in re.findall(r"<td>(.*?)</td>", page.text, re.S)]
    assert cells == [
        "Fewer than 5 answered in time and fewer than 5 not answered in time: too few to show without risk of identifying anyone",
        "Withheld, so that a smaller figure for this month cannot be worked out from it",
        "Fewer than 5 not answered in time: too few to show without risk of identifying anyone",
        "No messages answered yet",
    ]
    assert all(call.user is None for call in services.calls if call.path == "/api/v1/reports/compliance")


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Staff pages ------------------------------------------------------------------


def test_today_lists_my_areas_unanswered_contacts_soonest_due_first_with_markers(client, services, sign_in):
    services.on(
        "GET",
        CONTACTS,
        "/api/v1/contacts",
        lambda call: (
            200,
            {
                "items": {
                    "received": [_contact("k1", "T-2603-AAAAA"), _contact("k2", "L-2603-BBBBB")],
                    "assigned": [_contact("k3", "T-2603-CCCCC", "assigned", assignee="c.north")],
                }[call.params["status"]],
                "total": 2 if call.params["status"] == "received" else 1,
            },
        ),
    )
    services.on(
        "GET",
        SLA,
        "/api/v1/clocks",
        (
            200,
            {
                "clocks": [
                    _clock("k1", "breached", "2026-03-17T23:59:59+00:00", -1),
                    _clock("k2", "open", "2026-03-20T23:59:59+00:00", 2),
                    _clock("k3", "at_risk", "2026-03-18T23:59:59+00:00", 0),
                ]
            },
        ),
    )
    sign_in("c.north", "coordinator", "north")

    page = client.get("/staff/today").text

    contacts_call = services.last("GET", "/api/v1/contacts")
    assert contacts_call.params["area"] == "north"
    assert contacts_call.user.username == "c.north" and contacts_call.user.area == "north"
    assert page.index("T-2603-AAAAA") < page.index("T-2603-CCCCC") < page.index("L-2603-BBBBB")
    assert 'data-testid="count-breached">1<' in page
    assert 'data-testid="count-at-risk">1<' in page
    assert "Overdue by 1 working day" in page and "Due today" in page and "2 working days" in page
    assert 'class="tag tag-breached">Breached' in page


def test_today_still_lists_contacts_when_the_sla_monitor_is_down(client, services, sign_in):
    services.on(
        "GET", CONTACTS, "/api/v1/contacts", (200, {"items": [_contact("k1", "T-2603-AAAAA")], "total": 1})
    )
    services.down.add(SLA)
    sign_in()

    page = client.get("/staff/today")

    assert page.status_code == 200
    assert "T-2603-AAAAA" in page.text
    assert "The SLA monitor is not answering" in page.text


def test_a_staff_page_whose_service_is_down_says_so(client, services, sign_in):
    sign_in()
    services.down.add(CONTACTS)

    page = client.get("/staff/today")

    assert page.status_code == 503
    assert "The contacts service is not answering at the moment" in page.text


def test_logging_a_telephone_message_sends_the_london_time_it_was_received(client, services, sign_in):
    services.on("POST", CONTACTS, "/api/v1/contacts", (201, {"id": "k9", "reference": "T-2603-ZZZZZ"}))
    sign_in()
    form = client.get("/staff/contacts/new").text
    assert 'value="2026-03-18"' in form and 'value="10:30"' in form

    response = client.post(
        "/staff/contacts/new",
        data={
            "csrf_token": csrf_of(form),
            "idempotency_key": "key-1",
            "channel": "telephone",
            "centre_id": "c-north",
            "received_date": "2026-03-13",
            "received_time": "16:45",
            "subject": "Asking about stay and play",
            "name": "Test Parent",
            "reply_by": "telephone",
            "phone": "07700 900123",
        },
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/contacts/k9"
    call = services.last("POST", "/api/v1/contacts")
    assert call.json == {
        "channel": "telephone",
        "centre_id": "c-north",
        "received_at": "2026-03-13T16:45:00.000000Z",
        "subject": "Asking about stay and play",
        "requester": {"name": "Test Parent", "reply_by": "telephone", "phone": "07700 900123"},
    }
    assert call.headers["Idempotency-Key"] == "key-1"
    assert call.user.username == "t.north"


def test_logging_a_contact_offers_an_urgency_that_picks_its_target(client, services, sign_in):
    services.on("POST", CONTACTS, "/api/v1/contacts", (201, {"id": "k9", "reference": "T-2603-ZZZZZ"}))
    sign_in()
    form = client.get("/staff/contacts/new").text
    assert '<select id="urgency" name="urgency"' in form
    assert '<option value="">Usual target</option>' in form, "none chosen: the channel's own target"
    for value, text in (("routine", "Routine"), ("soon", "Soon"), ("urgent", "Urgent")):
        assert f'<option value="{value}">{text}</option>' in form
    fields = {
        "csrf_token": csrf_of(form),
        "idempotency_key": "key-urgent",
        "channel": "letter",
        "centre_id": "c-north",
        "received_date": "2026-03-18",
        "received_time": "09:00",
        "subject": "Asking about a place",
        "name": "Test Parent",
        "reply_by": "post",
        "address": "1 Test Street",
    }

    response = client.post("/staff/contacts/new", data={**fields, "urgency": "urgent"})

    assert response.status_code == 302
    assert services.last("POST", "/api/v1/contacts").json["urgency"] == "urgent"
    client.post("/staff/contacts/new", data={**fields, "idempotency_key": "key-usual", "urgency": ""})
    assert "urgency" not in services.last("POST", "/api/v1/contacts").json


def test_an_urgency_the_contacts_service_refuses_shows_beside_the_select(client, services, sign_in):
    services.on(
        "POST",
        CONTACTS,
        "/api/v1/contacts",
        error(422, "invalid input: urgency", {"urgency": ["Must be one of: routine, soon, urgent."]}),
    )
    sign_in()
    form = client.get("/staff/contacts/new").text

    page = client.post(
        "/staff/contacts/new",
        data={
            "csrf_token": csrf_of(form),
            "channel": "letter",
            "centre_id": "c-north",
            "received_date": "2026-03-18",
            "received_time": "09:00",
            "subject": "Asking",
            "name": "Test Parent",
            "reply_by": "post",
            "address": "1 Test Street",
            "urgency": "whenever",
        },
    )

    assert page.status_code == 422
    assert '<a href="#urgency">How urgent it is: choose one of the options given</a>' in page.text
    assert 'id="urgency-error"' in page.text


LAST_WEEKS_LETTER = {
    "idempotency_key": "key-answered",
    "channel": "letter",
    "centre_id": "c-north",
    "received_date": "2026-03-09",
    "received_time": "09:00",
    "subject": "Asking about a place",
    "name": "Test Parent",
    "reply_by": "post",
    "address": "1 Test Street",
}


def test_a_contact_already_answered_is_logged_with_its_answer(client, services, sign_in):
    """Last week's letter, answered on Tuesday: logged with the answer, its clock stops then."""
    services.on("POST", CONTACTS, "/api/v1/contacts", (201, {"id": "k9", "reference": "L-2603-ZZZZZ"}))
    sign_in()
    form = client.get("/staff/contacts/new").text
    assert "Already answered? (optional)" in form
    assert '<option value="">Not answered yet</option>' in form
    assert 'id="responded_date" name="responded_date" type="date" value=""' in form
    answered = {"response_method": "letter", "responded_date": "2026-03-10", "responded_time": "14:15"}

    response = client.post(
        "/staff/contacts/new", data={"csrf_token": csrf_of(form), **LAST_WEEKS_LETTER, **answered}
    )

    assert response.status_code == 302
    sent = services.last("POST", "/api/v1/contacts").json
    assert sent["response"] == {"method": "letter", "responded_at": "2026-03-10T14:15:00.000000Z"}
    client.post(
        "/staff/contacts/new",
        data={"csrf_token": csrf_of(form), **LAST_WEEKS_LETTER, "idempotency_key": "k2"},
    )
    assert "response" not in services.last("POST", "/api/v1/contacts").json, "left empty: not answered yet"


@pytest.mark.parametrize(
    ("answered", "field", "message"),
    [
        (
            {"responded_date": "2026-03-10", "responded_time": "14:15"},
            "response_method",
            "Choose how it was answered",
        ),
        ({"response_method": "letter"}, "responded_date", "Enter a real date and time"),
        (
            {"response_method": "email", "responded_date": "2026-03-19", "responded_time": "09:00"},
            "responded_date",
            "The time answered cannot be in the future.",
        ),
    ],
)
def test_a_half_filled_answer_is_refused_beside_its_field_before_anything_is_sent(
    client, services, sign_in, answered, field, message
):
    sign_in()
    form = client.get("/staff/contacts/new").text

    page = client.post(
        "/staff/contacts/new", data={"csrf_token": csrf_of(form), **LAST_WEEKS_LETTER, **answered}
    )

    assert page.status_code == 422
    assert f'<a href="#{field}">{message}' in page.text
    assert not [c for c in services.calls if c.method == "POST"]


def test_an_answer_the_contacts_service_refuses_shows_beside_its_date(client, services, sign_in):
    refused = {"response.responded_at": ["must not be before the contact was received"]}
    services.on("POST", CONTACTS, "/api/v1/contacts", error(422, "must not be before", refused))
    sign_in()
    form = client.get("/staff/contacts/new").text
    answered = {"response_method": "letter", "responded_date": "2026-03-08", "responded_time": "09:00"}

    page = client.post(
        "/staff/contacts/new", data={"csrf_token": csrf_of(form), **LAST_WEEKS_LETTER, **answered}
    )

    assert page.status_code == 422
    assert '<a href="#responded_date">must not be before the contact was received</a>' in page.text
    assert 'value="2026-03-08"' in page.text


def test_a_received_time_in_the_future_is_refused_before_anything_is_sent(client, services, sign_in):
    sign_in()
    form = client.get("/staff/contacts/new").text

    page = client.post(
        "/staff/contacts/new",
        data={
            "csrf_token": csrf_of(form),
            "channel": "letter",
            "received_date": "2026-03-19",
            "received_time": "09:00",
        },
    )

    assert page.status_code == 422
    assert "The time received cannot be in the future." in page.text
    assert not [c for c in services.calls if c.method == "POST"]


def test_an_empty_log_form_names_every_problem_at_once_in_plain_words(client, services, sign_in):
    sign_in()
    form = client.get("/staff/contacts/new").text

    page = client.post("/staff/contacts/new", data={"csrf_token": csrf_of(form), "channel": "letter"})

    assert page.status_code == 422
    assert _summary(page.text) == [
        "Choose a centre",
        "Enter a real date and time, for example 2026-03-04 and 14:30.",
        "Enter what it is about",
        "Enter the caller's name",
        "Choose how they want a reply",
    ]
    assert '<a href="#centre_id">Choose a centre</a>' in page.text
    assert not [call for call in services.calls if call.method == "POST"]


def test_a_choice_the_contacts_service_refuses_is_named_in_plain_words(client, services, sign_in):
    refusal = {"requester": {"reply_by": ["Must be one of: post, telephone, email."]}}
    services.on("POST", CONTACTS, "/api/v1/contacts", error(422, "invalid input: requester", refusal))
    sign_in()
    form = client.get("/staff/contacts/new").text
    fields = {"channel": "letter", "centre_id": "c-north", "subject": "Asking", "name": "Test Parent"}
    dated = {"received_date": "2026-03-18", "received_time": "09:00", "reply_by": "pigeon"}

    page = client.post("/staff/contacts/new", data={"csrf_token": csrf_of(form), **fields, **dated})

    assert page.status_code == 422
    assert _summary(page.text) == ["Choose how they want a reply"]


def test_marshmallows_words_for_a_logged_contact_read_plainly_naming_each_field(client, services, sign_in):
    refusal = {
        "requester": {
            "name": ["Length must be between 1 and 200."],
            "email": ["Not a valid email address."],
        },
        "received_at": ["must be between 1990-01-01 and 2100-12-31"],
    }
    services.on("POST", CONTACTS, "/api/v1/contacts", error(422, "invalid input: requester", refusal))
    sign_in()
    form = client.get("/staff/contacts/new").text
    fields = {"channel": "letter", "centre_id": "c-north", "subject": "Asking", "name": "Test " * 41}
    dated = {"received_date": "2026-03-18", "received_time": "09:00", "reply_by": "email", "email": "x@y"}

    page = client.post("/staff/contacts/new", data={"csrf_token": csrf_of(form), **fields, **dated})

    assert page.status_code == 422
    assert _summary(page.text) == [
        "Their name: use 1 to 200 characters",
        "E-mail address: enter an address like name@example.org",
        "When it was received: enter a date from 1 January 1990 to 31 December 2100",
    ]
    assert "Longer than" not in page.text and "Not a valid" not in page.text


def test_the_contacts_services_field_errors_show_beside_the_form_fields(client, services, sign_in):
    services.on(
        "POST",
        CONTACTS,
        "/api/v1/contacts",
        error(422, "invalid input: requester", {"requester": {"phone": ["needed to reply by telephone"]}}),
    )
    sign_in()
    form = client.get("/staff/contacts/new").text

    page = client.post(
        "/staff/contacts/new",
        data={
            "csrf_token": csrf_of(form),
            "channel": "telephone",
            "centre_id": "c-north",
            "received_date": "2026-03-18",
            "received_time": "09:00",
            "subject": "Asking",
            "name": "Test Parent",
            "reply_by": "telephone",
        },
    )

    assert page.status_code == 422
    assert '<a href="#phone">needed to reply by telephone</a>' in page.text
    assert 'id="phone-error"' in page.text
    assert 'value="Test Parent"' in page.text


def test_recording_a_response_sends_the_method_and_when(client, services, sign_in):
    services.on("GET", CONTACTS, "/api/v1/contacts/k1", (200, _contact("k1", "T-2603-AAAAA")))
    services.on(
        "POST", CONTACTS, "/api/v1/contacts/k1/respond", (200, _contact("k1", "T-2603-AAAAA", "responded"))
    )
    sign_in()
    page = client.get("/staff/contacts/k1").text

    response = client.post(
        "/staff/contacts/k1/respond",
        data={
            "csrf_token": csrf_of(page),
            "method": "telephone",
            "responded_date": "2026-03-18",
            "responded_time": "09:05",
        },
    )

    assert response.status_code == 302
    assert services.last("POST", "/api/v1/contacts/k1/respond").json == {
        "method": "telephone",
        "responded_at": "2026-03-18T09:05:00.000000Z",
    }


@pytest.mark.parametrize(
    ("state", "said"),
    [
        ("breached", "after it was breached (it was due by Tue 17 Mar 2026, 11:59pm)"),
        ("responded_late", "after it was breached (it was due by Tue 17 Mar 2026, 11:59pm)"),
        ("met", "in time (it was due by Tue 17 Mar 2026, 11:59pm)"),
    ],
)
def test_an_answered_contact_says_whether_it_was_answered_in_time(client, services, sign_in, state, said):
    answered = _contact("k1", "T-2603-AAAAA", "responded", responded_at="2026-03-18T09:05:00+00:00")
    services.on("GET", CONTACTS, "/api/v1/contacts/k1", (200, answered))
    services.on("GET", SLA, "/api/v1/clocks/k1", (200, _clock("k1", state, "2026-03-17T23:59:59+00:00", -1)))
    sign_in()

    page = client.get("/staff/contacts/k1").text

    assert f"Answered Wed 18 Mar 2026, 9:05am, {said}; the clock has stopped" in page
    assert services.last("GET", "/api/v1/clocks/k1").user.username == "t.north"  # as the signed-in user


LATE = ", after it was breached (it was due by Tue 17 Mar 2026, 11:59pm)"


@pytest.mark.parametrize(
    ("monitor", "due_at", "said"),
    [
        ("open", "2026-03-17T23:59:59+00:00", LATE),
        ("at_risk", "2026-03-17T23:59:59+00:00", LATE),
        (None, "2026-03-17T23:59:59+00:00", LATE),  # logged already answered: the monitor has no clock yet
        ("open", "2026-03-19T23:59:59+00:00", ""),  # in time, but only the monitor says met
        (None, "2026-03-19T23:59:59+00:00", ""),
    ],
)
def test_an_answer_after_the_due_date_is_late_before_the_monitor_records_the_breach(
    client, services, sign_in, monitor, due_at, said
):
    """The response's own time decides met or late: an answer after the due date says so at once, in
    the words the page uses once the monitor has stopped the clock (or before it has one at all)."""
    answered = _contact("k1", "T-2603-AAAAA", "responded", responded_at="2026-03-18T09:05:00+00:00")
    services.on("GET", CONTACTS, "/api/v1/contacts/k1", (200, answered))
    services.on("GET", SLA, "/api/v1/due", (200, {"due_at": due_at, "target_working_days": 2}))
    if monitor:
        services.on("GET", SLA, "/api/v1/clocks/k1", (200, _clock("k1", monitor, due_at, -1)))
    sign_in()

    page = client.get("/staff/contacts/k1").text

    assert f"Answered Wed 18 Mar 2026, 9:05am{said}; the clock has stopped" in page


@pytest.mark.parametrize(
    ("stopped", "said"),
    [
        (
            {"state": "met", "responded_at": "2026-03-16T09:05:00+00:00"},
            "Answered Mon 16 Mar 2026, 9:05am, in time",
        ),
        ({"state": "withdrawn", "responded_at": None}, "The clock has stopped (withdrawn)"),
    ],
)
def test_a_stopped_clock_is_never_shown_as_running(client, services, sign_in, stopped, said):
    """The monitor may have stopped a clock before the contact shows it answered (a contact's events
    reach it first): the page says it stopped, never a due date and working days left."""
    services.on("GET", CONTACTS, "/api/v1/contacts/k1", (200, _contact("k1", "T-2603-AAAAA", "assigned")))
    clock = _clock("k1", stopped["state"], "2026-03-17T23:59:59+00:00", 1) | stopped
    services.on("GET", SLA, "/api/v1/clocks/k1", (200, clock))
    sign_in()

    page = client.get("/staff/contacts/k1").text

    assert said in page
    assert 'data-testid="clock-stopped"' in page and 'data-testid="clock-state"' not in page


def _lists_today(services, contact: dict) -> None:
    """The contacts service lists the contact among those of its status."""

    def listed(call):
        items = [contact] if call.params.get("status") == contact["status"] else []
        return 200, {"items": items, "total": len(items), "page": 1, "per_page": 100}

    services.on("GET", CONTACTS, "/api/v1/contacts", listed)


def test_an_answer_dated_before_the_deadline_but_recorded_after_the_breach_says_why_it_stays_breached(
    client, services, sign_in
):
    """A breach once raised is never undone, so a backdated answer stays late: the page says so
    without claiming the family was answered after the deadline."""
    answered = _contact("k1", "L-2603-AAAAA", "responded", responded_at="2026-03-16T09:05:00+00:00")
    services.on("GET", CONTACTS, "/api/v1/contacts/k1", (200, answered))
    late = _clock("k1", "responded_late", "2026-03-17T23:59:59+00:00", 1)
    services.on("GET", SLA, "/api/v1/clocks/k1", (200, late))
    sign_in()

    page = client.get("/staff/contacts/k1").text

    assert (
        "Answered Mon 16 Mar 2026, 9:05am, recorded after the deadline had passed, so it stays breached "
        "(it was due by Tue 17 Mar 2026, 11:59pm); the clock has stopped"
    ) in page
    assert "after it was breached" not in page


def test_a_contact_past_its_due_time_before_the_monitor_records_the_breach_is_not_on_time(
    client, services, sign_in
):
    """A contact logged late is saved a few seconds before the monitor's scan calls it breached."""
    logged_late = _contact("k1", "T-2603-AAAAA", received_at="2026-03-12T10:00:00+00:00")
    services.on("GET", CONTACTS, "/api/v1/contacts/k1", (200, logged_late))
    _lists_today(services, logged_late)
    not_yet_breached = _clock("k1", "open", "2026-03-16T23:59:59+00:00", -2)
    services.on("GET", SLA, "/api/v1/clocks/k1", (200, not_yet_breached))
    services.on("GET", SLA, "/api/v1/clocks", (200, {"clocks": [not_yet_breached]}))
    sign_in()

    page = client.get("/staff/contacts/k1").text
    today = client.get("/staff/today").text

    assert "On time" not in page and "On time" not in today
    assert "Overdue</span> (it was due by Mon 16 Mar 2026, 11:59pm; overdue by 2 working days)" in page
    assert "the breach is being recorded" in page and "the breach is being recorded" in today
    assert 'class="tag tag-breached">Overdue' in today and 'data-testid="count-breached">1<' in today


@pytest.mark.parametrize(
    ("channel", "urgency", "shown"),
    [("letter", "urgent", "Urgent"), ("email", "soon", "Soon"), ("telephone", None, "Usual target")],
)
def test_the_urgency_chosen_for_a_contact_shows_on_its_page_and_today(
    client, services, sign_in, channel, urgency, shown
):
    logged = _contact("k1", "T-2603-AAAAA", channel=channel, urgency=urgency)
    services.on("GET", CONTACTS, "/api/v1/contacts/k1", (200, logged))
    _lists_today(services, logged)
    sign_in()

    page = client.get("/staff/contacts/k1").text
    today = client.get("/staff/today").text

    assert f'data-testid="urgency">{shown}' in page
    row = re.search(r'<tr class="[^"]*" data-reference="T-2603-AAAAA">(.*?)</tr>', today, re.S).group(1)
    assert f"<td>{shown}</td>" in row


def test_erased_personal_details_say_when_and_no_reason_the_service_did_not_give(client, services, sign_in):
    """A subject-access erasure is not a retention one: the page cannot tell which it was."""
    erased = _contact(
        "k1", "T-2603-AAAAA", "closed", personal=None, personal_erased_at="2026-03-18T09:00:00Z"
    )
    services.on("GET", CONTACTS, "/api/v1/contacts/k1", (200, erased))
    sign_in()

    page = client.get("/staff/contacts/k1").text

    assert 'data-testid="erased">The personal details were erased on 18 March 2026.</p>' in page
    assert "retention" not in page


def test_a_contact_the_sla_monitor_has_not_seen_shows_when_it_falls_due(client, services, sign_in):
    logged = _contact("k1", "T-2603-AAAAA", received_at="2026-03-18T09:00:00+00:00")
    services.on("GET", CONTACTS, "/api/v1/contacts/k1", (200, logged))
    due = {"due_at": "2026-03-20T23:59:59+00:00", "target_working_days": 2}
    services.on("GET", SLA, "/api/v1/due", (200, due))
    sign_in()

    page = client.get("/staff/contacts/k1").text

    assert "Due by Fri 20 Mar 2026, 11:59pm" in page and "the clock starts in a moment" in page
    assert "Overdue" not in page


@pytest.mark.parametrize("monitor", ["has no clock yet", "has a clock, not yet breached"])
def test_a_contact_logged_after_its_due_date_is_overdue_before_the_monitor_has_its_clock(
    client, services, sign_in, monitor
):
    """A letter received a week before it is logged is already past due: the page says so at once,
    in the words it uses a few seconds later, once the monitor has the clock."""
    logged = _contact("k1", "L-2603-AAAAA", channel="letter", received_at="2026-03-10T10:00:00+00:00")
    services.on("GET", CONTACTS, "/api/v1/contacts/k1", (200, logged))
    services.on(
        "GET", SLA, "/api/v1/due", (200, {"due_at": "2026-03-17T23:59:59+00:00", "target_working_days": 5})
    )
    if monitor == "has a clock, not yet breached":
        services.on(
            "GET", SLA, "/api/v1/clocks/k1", (200, _clock("k1", "open", "2026-03-17T23:59:59+00:00", -1))
        )
    sign_in()

    page = client.get("/staff/contacts/k1").text

    assert 'data-testid="clock-state">Overdue</span> (it was due by Tue 17 Mar 2026, 11:59pm' in page
    assert "the breach is being recorded" in page
    assert "the clock starts in a moment" not in page and "On time" not in page


@pytest.fixture
def assignable(client, services, sign_in, make_user, web_app):
    """A north contact, and accounts of every kind: its Assign list offers the north's active
    staff and coordinators only (the assignee's at-risk mail goes to them by name)."""
    services.on("GET", CONTACTS, "/api/v1/contacts/k1", (200, _contact("k1", "T-2603-AAAAA")))
    services.on(
        "POST", CONTACTS, "/api/v1/contacts/k1/assign", (200, _contact("k1", "T-2603-AAAAA", "assigned"))
    )
    make_user("s.north", "staff", "north")
    make_user("s.south", "staff", "south")
    make_user("c.central", "coordinator", "central")
    make_user("partner-demo", "partner", None, agency="demo-health-visitors")
    make_user("admin", "admin")
    make_user("p.officer", "principal_officer")
    make_user("s.left", "staff", "north")
    provided(web_app, Context).desk.set_disabled("s.left", True)
    return sign_in()  # t.north, the north's coordinator


def test_the_assign_list_offers_only_active_staff_and_coordinators_of_the_contacts_area(assignable):
    page = assignable.get("/staff/contacts/k1").text
    offered = re.findall(r'<option value="([^"]+)"', page.split('id="assignee"')[1].split("</select>")[0])
    assert sorted(offered) == ["s.north", "t.north"]


@pytest.mark.parametrize(
    "someone", ["partner-demo", "admin", "p.officer", "s.south", "c.central", "s.left", "nobody"]
)
def test_assigning_to_someone_the_list_does_not_offer_is_refused(assignable, services, someone):
    page = assignable.get("/staff/contacts/k1").text
    answer = assignable.post(
        "/staff/contacts/k1/assign", data={"csrf_token": csrf_of(page), "assignee": someone}
    )
    assert answer.status_code == 422
    assert "Choose a member of staff or a coordinator of the contact&#39;s area." in answer.text
    assert 'href="#assignee"' in answer.text
    assert not [call for call in services.calls if call.method == "POST"], (
        "nothing reached the contacts service"
    )


def test_assigning_to_a_member_of_the_contacts_area_reaches_the_contacts_service(assignable, services):
    page = assignable.get("/staff/contacts/k1").text
    answer = assignable.post(
        "/staff/contacts/k1/assign", data={"csrf_token": csrf_of(page), "assignee": "s.north"}
    )
    assert answer.status_code == 302
    assert services.last("POST", "/api/v1/contacts/k1/assign").json == {"assignee": "s.north"}


def test_a_referral_is_declined_with_a_reason_for_the_agency(client, services, sign_in):
    referral = {
        "agency_name": "Test Health Visiting Team",
        "status": "opened",
        "urgency": "soon",
        "support_needed": [],
    }
    services.on(
        "GET",
        CONTACTS,
        "/api/v1/contacts/r1",
        (200, _contact("r1", "R-2603-AAAAA", channel="referral", referral=referral)),
    )
    services.on("POST", CONTACTS, "/api/v1/contacts/r1/referral/decline", (200, {}))
    sign_in()
    page = client.get("/staff/contacts/r1").text
    assert "Referral from Test Health Visiting Team" in page and "Accept referral" in page
    assert "by e-mail and on its pages: do not name the family" in page  # the words leave the service

    client.post(
        "/staff/contacts/r1/referral-decline",
        data={
            "csrf_token": csrf_of(page),
            "reason_code": "outside_area",
            "reason": "The family lives in Sefton.",
        },
    )

    assert services.last("POST", "/api/v1/contacts/r1/referral/decline").json == {
        "reason": "The family lives in Sefton.",
        "reason_code": "outside_area",
    }


@pytest.mark.parametrize(("contact_status", "offered"), [("assigned", True), ("responded", False)])
def test_mark_as_opened_is_offered_only_while_the_family_waits(
    client, services, sign_in, contact_status, offered
):
    referral = {"agency_name": "Test Agency", "status": "new", "urgency": "routine", "support_needed": []}
    found = _contact("r3", "R-2603-CCCCC", contact_status, channel="referral", referral=referral)
    services.on("GET", CONTACTS, "/api/v1/contacts/r3", (200, found))
    sign_in()
    page = client.get("/staff/contacts/r3").text

    assert ("Mark as opened" in page) is offered
    assert "Accept referral" in page  # the decision can still be recorded after a reply by phone


def test_a_referral_shows_its_services_by_name_and_why_its_centre_was_chosen(client, services, sign_in):
    referral = {
        "agency_name": "Test Health Visiting Team",
        "status": "new",
        "urgency": "urgent",
        "support_needed": ["speech-and-language", "employment-support"],
        "routing": {
            "chosen": "nearest",
            "reason": "Test Centre: offers every service asked for; nearest such centre, 1.2 km away.",
            "services_missing": [],
            "distance_km": 1.2,
        },
    }
    services.on(
        "GET",
        CONTACTS,
        "/api/v1/contacts/r2",
        (200, _contact("r2", "R-2603-BBBBB", channel="referral", referral=referral)),
    )
    sign_in()
    page = client.get("/staff/contacts/r2").text

    assert "Speech and language, Job Centre Plus employment support" in page
    assert "offers every service asked for; nearest such centre, 1.2 km away." in page


def test_a_referral_answered_by_telephone_shows_the_status_its_agency_reads_and_may_still_be_decided(
    client, services, sign_in
):
    referral = {"agency_name": "Test Agency", "status": "new", "urgency": "routine", "support_needed": []}
    answered = _contact(
        "r4",
        "R-2603-DDDDD",
        "responded",
        channel="referral",
        referral=referral,
        referral_status="responded",
        responded_at="2026-03-18T09:05:00+00:00",
    )
    services.on("GET", CONTACTS, "/api/v1/contacts/r4", (200, answered))
    sign_in()

    page = client.get("/staff/contacts/r4").text

    assert 'data-testid="referral-status">Responded</dd>' in page  # as the partner's page says
    assert "The family was answered on Wed 18 Mar 2026, 9:05am" in page
    assert "Accept referral" in page and "Decline referral" in page


def test_a_referral_to_a_centre_without_a_service_asked_for_says_what_it_does_not_offer(
    client, services, sign_in
):
    referral = {
        "agency_name": "Test Agency",
        "status": "new",
        "urgency": "soon",
        "support_needed": ["stay-and-play", "childcare", "speech-and-language"],
        "routing": {
            "chosen": "named",
            "reason": "Everton Test Centre: named by the referrer.",
            "services_missing": ["childcare", "speech-and-language"],
            "distance_km": None,
        },
    }
    found = _contact("r5", "R-2603-EEEEE", channel="referral", referral=referral)
    services.on("GET", CONTACTS, "/api/v1/contacts/r5", (200, found))
    sign_in()

    page = client.get("/staff/contacts/r5").text

    assert 'data-testid="services-missing">It does not offer: Childcare, Speech and language.<' in page


def test_the_history_has_the_referrals_decisions_among_the_contacts_steps_in_time_order(
    client, services, sign_in
):
    def step(at, by, was, to, action):
        return {"at": f"2026-03-17T{at}:00.000000Z", "by": by, "from": was, "to": to, "action": action}

    agency = "partner:test.partner@test-agency"
    referral = {
        "agency_name": "Test Agency",
        "status": "accepted",
        "urgency": "soon",
        "support_needed": [],
        "history": [
            step("09:00", agency, None, "new", "refer"),
            step("10:00", "t.north", "new", "opened", "open"),
            step("11:00", "t.north", "opened", "responded", "respond"),
            step("12:00", "t.north", "responded", "accepted", "accept"),
        ],
    }
    history = [
        step("09:00", agency, None, "received", "receive"),
        step("10:30", "t.north", "received", "assigned", "assign"),
        step("10:40", "system", "assigned", "assigned", "area_moved")
        | {"from_area": "central", "to_area": "north"},
        step("10:45", "t.north", "assigned", "assigned", "assign") | {"assigned_to": "t.south"},
        step("11:00", "t.north", "assigned", "responded", "respond"),
    ]
    found = _contact(
        "r6", "R-2603-FFFFF", "responded", channel="referral", referral=referral, history=history
    )
    services.on("GET", CONTACTS, "/api/v1/contacts/r6", (200, found))
    sign_in()

    page = client.get("/staff/contacts/r6").text

    listed = re.search(r'data-testid="history">(.*?)</ol>', page, re.S).group(1)
    assert [
        re.sub(r"\s+", " ", item).split(": ", 1)[1] for item in re.findall(r"<li>(.*?)</li>", listed)
    ] == [
        "Logged by test.partner of test-agency (partner pages)",
        "Referral opened by t.north",
        "Assigned by t.north",  # a step stored before assignments named whom
        "Moved with its centre from the central area to the north area by system",
        "Assigned to t.south by t.north",
        "Response recorded by t.north",
        "Referral accepted by t.north",
    ]


@pytest.mark.parametrize(
    "by, shown",
    [
        ("partner:test.partner@test-agency", "test.partner of test-agency (partner pages)"),
        ("agency:test-agency", "test-agency (partner API)"),
        ("t.north", "t.north"),
    ],
)
def test_the_history_says_which_partner_user_or_agency_took_a_step(by, shown):
    assert formatting.actor(by) == shown


def test_a_refused_action_is_explained_on_the_contact_page(client, services, sign_in):
    services.on("GET", CONTACTS, "/api/v1/contacts/k1", (200, _contact("k1", "T-2603-AAAAA")))
    services.on(
        "POST",
        CONTACTS,
        "/api/v1/contacts/k1/respond",
        error(409, "cannot respond when the status is responded"),
    )
    sign_in()

    response = _respond(
        client, services, method="letter", responded_date="2026-03-18", responded_time="09:05"
    )

    assert response.status_code == 409
    assert _summary(response.text) == [
        "Nothing was changed: this contact cannot be marked as answered as it stands now. It may "
        "already have been done, by a second click or by someone else. The page now shows where it stands."
    ]
    assert "status is" not in response.text


def _summary(html: str) -> list[str]:
    """The error summary's lines, as staff read them."""
    found = re.search(r'data-testid="error-summary">(.*?)</div>', html, re.S)
    assert found, "the page has no error summary"
    lines = re.findall(r"<li>(.*?)</li>", found.group(1), re.S)
    return [html_text.unescape(re.sub(r"<[^>]+>", "", line)).strip() for line in lines]


def _respond(client, services, clock=None, **fields):
    """Post the response form as shown (with the time it offers), `clock` moved on in between."""
    services.on("GET", CONTACTS, "/api/v1/contacts/k1", (200, _contact("k1", "T-2603-AAAAA")))
    page = client.get("/staff/contacts/k1").text
    offered = re.search(r'name="responded_offered" value="([^"]*)"', page).group(1)
    if clock is not None:
        clock.advance(minutes=2)
    data = {"csrf_token": csrf_of(page), "responded_offered": offered, **fields}
    return client.post("/staff/contacts/k1/respond", data=data)


@pytest.mark.parametrize("sent_later", [False, True])
def test_a_response_left_at_the_time_the_form_offers_is_sent_as_now(
    client, services, sign_in, clock, sent_later
):
    """The form offers the minute it is shown (10:30); a contact received at 10:30:20 was answered
    after it, and the form may be sent minutes later."""
    services.on("POST", CONTACTS, "/api/v1/contacts/k1/respond", (200, _contact("k1", "T-2603-AAAAA")))
    sign_in()
    page = client.get("/staff/contacts/new").text
    assert 'value="2026-03-18"' in page and 'value="10:30"' in page

    response = _respond(
        client,
        services,
        clock if sent_later else None,
        method="telephone",
        responded_date="2026-03-18",
        responded_time="10:30",
    )

    assert response.status_code == 302
    assert services.last("POST", "/api/v1/contacts/k1/respond").json == {"method": "telephone"}
    changed = _respond(
        client, services, method="telephone", responded_date="2026-03-18", responded_time="10:10"
    )
    assert changed.status_code == 302
    assert "responded_at" in services.last("POST", "/api/v1/contacts/k1/respond").json


def test_a_response_in_the_future_speaks_of_when_you_responded(client, services, sign_in):
    sign_in()

    response = _respond(
        client, services, method="letter", responded_date="2026-03-18", responded_time="10:31"
    )

    assert response.status_code == 422
    assert _summary(response.text) == ["The time you responded cannot be in the future."]
    assert not [call for call in services.calls if call.method == "POST"]


def test_a_response_without_a_method_asks_for_one_in_plain_words(client, services, sign_in):
    sign_in()

    response = _respond(client, services, responded_date="2026-03-18", responded_time="09:00")

    assert response.status_code == 422
    assert _summary(response.text) == ["Choose how you responded"]
    assert 'id="method-error"' in response.text
    assert not [call for call in services.calls if call.method == "POST"]


@pytest.mark.parametrize(
    ("action", "fields", "refusal", "said"),
    [
        (
            "respond",
            {"method": "letter", "responded_date": "2026-03-12", "responded_time": "09:00"},
            error(
                422,
                "invalid input: responded_at",
                {"responded_at": ["must not be before the contact was received"]},
            ),
            "The time you responded must not be before the contact was received.",
        ),
        (
            "respond",
            {"method": "fax", "responded_date": "2026-03-18", "responded_time": "09:00"},
            error(
                422,
                "invalid input: method",
                {"method": ["Must be one of: letter, telephone, email, in_person, referral_outcome."]},
            ),
            "Choose how you responded",
        ),
        (
            "pause",
            {"pause_reason": "bored"},
            error(
                422,
                "invalid input: reason_code",
                {"reason_code": ["Must be one of: waiting_on_family, waiting_on_partner."]},
            ),
            "Choose who the contact is waiting on",
        ),
    ],
)
def test_a_refused_field_is_said_once_in_plain_words(
    client, services, sign_in, action, fields, refusal, said
):
    services.on("GET", CONTACTS, "/api/v1/contacts/k1", (200, _contact("k1", "T-2603-AAAAA")))
    services.on("POST", CONTACTS, f"/api/v1/contacts/k1/{action}", refusal)
    sign_in()
    page = client.get("/staff/contacts/k1").text

    response = client.post(f"/staff/contacts/k1/{action}", data={"csrf_token": csrf_of(page), **fields})

    assert response.status_code == 422
    assert _summary(response.text) == [said]
    for raw in ("invalid input", "referral_outcome", "Must be one of", "reason_code"):
        assert raw not in response.text


def test_editing_a_centre_sends_the_version_read_and_explains_a_conflict(client, services, sign_in):
    found = centre("c-north", "Everton Test Centre", "north")
    services.on("GET", DIRECTORY, "/api/v1/centres/c-north", (200, found, {"ETag": '"3"'}))
    services.on("GET", DIRECTORY, "/api/v1/centres/c-north/audit", (200, {"items": []}))
    services.on("PATCH", DIRECTORY, "/api/v1/centres/c-north", error(409, "changed by someone else"))
    sign_in()
    form = client.get("/staff/centres/c-north").text
    assert 'name="etag" value="&#34;3&#34;"' in form

    page = client.post(
        "/staff/centres/c-north",
        data={
            "csrf_token": csrf_of(form),
            "etag": '"3"',
            "name": "Everton Test Centre",
            "address_line1": "1 Test Street",
            "postcode": "L5 0AA",
            "ward": "Everton",
            "area": "north",
            "status": "open",
            "services": ["stay-and-play", "childcare"],
            "monday_0_opens": "09:00",
            "monday_0_closes": "12:00",
            "monday_1_opens": "13:00",
            "monday_1_closes": "17:00",
        },
    )

    call = services.last("PATCH", "/api/v1/centres/c-north")
    assert call.headers["If-Match"] == '"3"'
    assert call.json["services"] == ["stay-and-play", "childcare"]
    assert call.json["opening_times"]["monday"] == [
        {"opens": "09:00", "closes": "12:00"},
        {"opens": "13:00", "closes": "17:00"},
    ]
    assert call.json["opening_times"]["tuesday"] == []
    assert call.json["phone"] is None
    assert page.status_code == 409
    assert "Someone else changed this centre after you opened it" in page.text


def test_a_coordinator_moving_a_centre_out_of_their_area_is_told_on_the_area_field(client, services, sign_in):
    found = centre("c-north", "Everton Test Centre", "north")
    services.on("GET", DIRECTORY, "/api/v1/centres/c-north", (200, found, {"ETag": '"3"'}))
    services.on("GET", DIRECTORY, "/api/v1/centres/c-north/audit", (200, {"items": []}))
    refusal = error(403, "role coordinator may update centres only in their own area (north)")
    services.on("PATCH", DIRECTORY, "/api/v1/centres/c-north", refusal)
    sign_in()  # a coordinator of the north
    form = client.get("/staff/centres/c-north").text
    assert '<option value="north" selected>North</option>' in form
    assert 'value="south"' not in form, "only the areas the coordinator may choose"

    edits = {"etag": '"3"', "name": "Everton Test Centre (edited)", "area": "south"}

    page = client.post("/staff/centres/c-north", data={"csrf_token": csrf_of(form), **edits})

    assert page.status_code == 403
    assert _summary(page.text) == [
        "Choose the North area: you can keep a centre only in your own area. "
        "Ask the Principal Officer to move it to another."
    ]
    assert 'id="area-error"' in page.text
    assert 'value="Everton Test Centre (edited)"' in page.text, "what was typed is kept"
    assert "role coordinator" not in page.text


@pytest.mark.parametrize("etag", ["é\n", '"3"\r\nX-Test: 1', '"' + "9" * 200 + '"'])
def test_an_altered_version_in_the_centre_form_is_a_400_and_sends_nothing(client, services, sign_in, etag):
    """It becomes the If-Match header: a line break would make the HTTP library refuse the call
    (and the page say the directory is down), so it is refused before."""
    found = centre("c-north", "Everton Test Centre", "north")
    services.on("GET", DIRECTORY, "/api/v1/centres/c-north", (200, found, {"ETag": '"3"'}))
    services.on("GET", DIRECTORY, "/api/v1/centres/c-north/audit", (200, {"items": []}))
    sign_in()
    form = client.get("/staff/centres/c-north").text

    page = client.post(
        "/staff/centres/c-north", data={"csrf_token": csrf_of(form), "etag": etag, "name": "x"}
    )

    assert page.status_code == 400 and "reload the page" in page.text
    assert not [call for call in services.calls if call.method == "PATCH"]


def test_who_last_checked_a_centre_shows_on_the_staff_page_only(client, services, sign_in):
    """The directory tells who checked only to a staff token, so the public page reads without one."""

    def read(call):
        checked = {"verified_by": "test.checker"} if call.user else {}
        return 200, centre("c-north", "Everton Test Centre", "north", **checked), {"ETag": '"3"'}

    services.on("GET", DIRECTORY, "/api/v1/centres/c-north", read)
    services.on("GET", DIRECTORY, "/api/v1/centres/c-north/audit", (200, {"items": []}))

    public = client.get("/centres/c-north").text
    assert services.last("GET", "/api/v1/centres/c-north").user is None
    assert "last checked on 1 March 2026" in public and "test.checker" not in public

    sign_in()
    staff_page = client.get("/staff/centres/c-north").text
    assert "Information last checked 1 March 2026 by test.checker" in staff_page


def test_centre_staff_may_verify_but_not_edit(client, services, sign_in):
    services.on(
        "GET", DIRECTORY, "/api/v1/centres/c-north", (200, centre("c-north", "Everton Test Centre", "north"))
    )
    services.on("GET", DIRECTORY, "/api/v1/centres/c-north/audit", (200, {"items": []}))
    services.on("POST", DIRECTORY, "/api/v1/centres/c-north/verify", (200, {}))
    sign_in("s.north", "staff", "north")
    page = client.get("/staff/centres/c-north").text
    assert "Save changes" not in page

    refused = client.post("/staff/centres/c-north", data={"csrf_token": csrf_of(page), "name": "X"})
    verified = client.post("/staff/centres/c-north/verify", data={"csrf_token": csrf_of(page)})

    assert refused.status_code == 403
    assert verified.status_code == 302
    assert services.last("POST", "/api/v1/centres/c-north/verify").user.username == "s.north"


def test_the_compliance_page_has_a_table_and_a_chart_for_the_chosen_area(client, services, sign_in):
    def compliance(call):
        key = {"month": "2026-03", "channel": "letter"}[call.params["group_by"]]
        group = {"key": key, "met": 3, "breached": 1, "open": 2, "total": 6, "percent_met": 75.0}
        return 200, {"groups": [group], "totals": group}

    services.on("GET", SLA, "/api/v1/reports/compliance", compliance)
    sign_in("p.officer", "principal_officer", None)

    page = client.get("/staff/compliance?area=south").text

    assert services.last("GET", "/api/v1/reports/compliance").params["area"] == "south"
    assert services.last("GET", "/api/v1/clocks").params == {
        "limit": 500,
        "state": "breached",
        "area": "south",
    }
    assert '<rect x="200"' in page and 'width="270.0"' in page
    assert 'data-testid="overall-percent">75%<' in page
    assert "<td>3</td><td>1</td><td>2</td><td>6</td><td>75%</td>" in page
    for table in ("channel-table", "month-table"):  # each scrolling table is named by its own caption
        assert f'aria-labelledby="{table}-caption"' in page and f'data-testid="{table}"' in page
        assert f'<caption id="{table}-caption"' in page
    assert services.last("GET", "/api/v1/reports/compliance").user.username == "p.officer"


def test_a_list_filter_the_contacts_service_refuses_is_left_out_and_said_plainly(client, services, sign_in):
    def contacts(call):
        if call.params.get("status") == "bogus":
            return error(422, "invalid input: status", {"status": ["Must be one of: received, assigned."]})
        return 200, {"items": [_contact("k1", "T-2603-AAAAA")], "total": 1, "page": 1, "per_page": 25}

    services.on("GET", CONTACTS, "/api/v1/contacts", contacts)
    sign_in()

    page = client.get("/staff/contacts?status=bogus&channel=letter")

    assert page.status_code == 422
    assert _summary(page.text) == ["Status: “bogus” is not one the list knows, so this filter is left out."]
    assert "T-2603-AAAAA" in page.text
    assert services.last("GET", "/api/v1/contacts").params == {
        "page": 1,
        "per_page": 25,
        "channel": "letter",
        "area": "north",
    }
    assert "Sorry, something went wrong" not in page.text and "invalid input" not in page.text
    download = client.get("/staff/contacts.csv?status=bogus")
    assert download.status_code == 302 and download.headers["Location"].startswith(
        "/staff/contacts?status=bogus"
    )


def test_a_compliance_period_the_sla_monitor_refuses_is_a_422_naming_its_field(client, services, sign_in):
    refusal = error(422, "invalid input: from", {"from": ["Not a valid date."]})
    services.on("GET", SLA, "/api/v1/reports/compliance", refusal)
    sign_in("p.officer", "principal_officer", None)

    page = client.get("/staff/compliance?from=2026-13-01")

    assert page.status_code == 422
    assert _summary(page.text) == ["From date: Not a valid date."]
    assert '<a href="#from">' in page.text
    assert "No contacts in this period" not in page.text


@pytest.mark.parametrize(
    ("page", "service", "path", "kind"),
    [
        ("/staff/compliance.csv?area=south", SLA, "/api/v1/reports/compliance", "text/csv; charset=utf-8"),
        ("/staff/contacts.xlsx?status=received", CONTACTS, "/api/v1/contacts", XLSX),
    ],
)
def test_staff_download_a_file_made_with_the_pages_filters(
    client, services, sign_in, page, service, path, kind
):
    made = b"reference,channel\r\nLCC-TEST,letter\r\n"
    headers = {"Content-Type": kind, "Content-Disposition": 'attachment; filename="made.file"'}
    services.on("GET", service, path, (200, made, headers))
    sign_in("p.officer", "principal_officer", None)

    response = client.get(page)

    assert response.status_code == 200 and response.data == made
    assert response.headers["Content-Type"] == kind, "as the service made it: one charset"
    assert response.headers["Content-Disposition"] == 'attachment; filename="made.file"'
    asked = services.last("GET", path)
    assert asked.params["format"] == page.split("?")[0].rsplit(".", 1)[1]
    assert asked.user.username == "p.officer"
    assert client.get("/staff/contacts.pdf").status_code == 404


def test_sent_emails_lists_the_log_and_shows_a_message(client, services, sign_in):
    services.on(
        "GET",
        NOTIFIER,
        "/api/v1/notifications",
        (
            200,
            {
                "items": [
                    {
                        "event_type": "sla.breached.v1",
                        "reference": "T-2603-AAAAA",
                        "recipient": "c@example.org",
                        "to": ["c@example.org"],
                        "status": "sent",
                        "attempts": 1,
                        "created_at": "2026-03-18T09:00:00+00:00",
                    },
                    {
                        "event_type": "sla.breached.v1",
                        "reference": "T-2603-AAAAA",
                        "recipient": "po@example.org",
                        "to": ["c@example.org"],
                        "status": "sent",
                        "attempts": 1,
                        "created_at": "2026-03-18T09:00:00+00:00",
                    },
                ]
            },
        ),
    )
    services.on(
        "GET",
        NOTIFIER,
        "/api/v1/messages",
        (
            200,
            {
                "items": [
                    {
                        "id": "m1",
                        "subject": "Breached: T-2603-AAAAA",
                        "to": "c@example.org",
                        "delivered_to": "po@example.org",
                        "date": "Wed, 18 Mar 2026",
                    }
                ]
            },
        ),
    )
    services.on(
        "GET",
        NOTIFIER,
        "/api/v1/messages/m1",
        (
            200,
            {
                "id": "m1",
                "subject": "Breached: T-2603-AAAAA",
                "to": "c@example.org",
                "delivered_to": "po@example.org",
                "date": "x",
                "text": "Please answer it today.",
                "html": "<p>Please</p>",
            },
        ),
    )
    sign_in()

    log = client.get("/staff/mail/").text
    message = client.get("/staff/mail/messages/m1").text
    html = client.get("/staff/mail/messages/m1/html")

    assert "T-2603-AAAAA" in log and "c@example.org" in log
    # The Principal Officer's copy says where it was delivered, not only whom it addressed.
    assert '<td>po@example.org <span class="hint">(addressed to c@example.org)</span></td>' in log
    assert "<td>po@example.org</td><td>Wed, 18 Mar 2026</td>" in log
    assert "Please answer it today." in message
    assert '<dd data-testid="delivered-to">po@example.org</dd>' in message
    assert html.headers["Content-Security-Policy"].startswith("sandbox")


PAUSED = {
    "paused_since": "2026-03-16T09:30:00+00:00",
    "pause_reason": "waiting_on_partner",
    "pauses": [
        {
            "paused_at": "2026-03-16T09:30:00+00:00",
            "paused_by": "s.north",
            "reason_code": "waiting_on_partner",
            "note": "Test note: the health visitor's report",
            "resumed_at": None,
            "resumed_by": None,
        }
    ],
}


def test_pausing_a_contact_sends_who_it_waits_on_and_the_note(client, services, sign_in):
    services.on("GET", CONTACTS, "/api/v1/contacts/k1", (200, _contact("k1", "T-2603-AAAAA")))
    services.on(
        "POST", CONTACTS, "/api/v1/contacts/k1/pause", (200, _contact("k1", "T-2603-AAAAA", **PAUSED))
    )
    sign_in()
    page = client.get("/staff/contacts/k1").text
    assert 'name="pause_reason"' in page and "Waiting on the family" in page and "Resume" not in page

    response = client.post(
        "/staff/contacts/k1/pause",
        data={"csrf_token": csrf_of(page), "pause_reason": "waiting_on_partner", "pause_note": "Test note"},
    )

    assert response.status_code == 302
    assert services.last("POST", "/api/v1/contacts/k1/pause").json == {
        "reason_code": "waiting_on_partner",
        "note": "Test note",
    }


def test_withdrawing_a_referral_sends_the_reason_chosen_which_its_agency_is_told(client, services, sign_in):
    referral = {"agency_id": "a1", "agency_name": "Test Health Visiting Team", "status": "new"}
    contact = _contact("r1", "R-2603-AAAAA", channel="referral", referral=referral)
    services.on("GET", CONTACTS, "/api/v1/contacts/r1", (200, contact))
    services.on("POST", CONTACTS, "/api/v1/contacts/r1/withdraw", (200, contact | {"status": "withdrawn"}))
    sign_in()
    page = client.get("/staff/contacts/r1").text
    assert "The family withdrew" in page and "The referring agency is told this reason" in page

    for chosen, sent in (("family_withdrew", {"reason_code": "family_withdrew"}), ("", {})):
        response = client.post(
            "/staff/contacts/r1/withdraw", data={"csrf_token": csrf_of(page), "withdraw_reason": chosen}
        )
        assert response.status_code == 302
        assert services.last("POST", "/api/v1/contacts/r1/withdraw").json == sent


def test_a_refused_pause_names_the_pause_forms_field_in_plain_words(client, services, sign_in):
    services.on("GET", CONTACTS, "/api/v1/contacts/k1", (200, _contact("k1", "T-2603-AAAAA")))
    services.on(
        "POST",
        CONTACTS,
        "/api/v1/contacts/k1/pause",
        error(422, "Longer than maximum length 1000.", {"note": ["Longer than maximum length 1000."]}),
    )
    sign_in()
    page = client.get("/staff/contacts/k1").text

    response = client.post(
        "/staff/contacts/k1/pause",
        data={"csrf_token": csrf_of(page), "pause_reason": "waiting_on_family", "pause_note": "x" * 1001},
    )

    assert response.status_code == 422
    assert 'id="pause_note-error"' in response.text
    assert _summary(response.text) == ["Note: use 1000 characters or fewer"]


def test_marshmallows_words_for_a_centre_edit_read_plainly_naming_each_field(client, services, sign_in):
    found = centre("c-north", "Everton Test Centre", "north")
    services.on("GET", DIRECTORY, "/api/v1/centres/c-north", (200, found, {"ETag": '"3"'}))
    services.on("GET", DIRECTORY, "/api/v1/centres/c-north/audit", (200, {"items": []}))
    refusal = {
        "name": ["Longer than maximum length 120."],
        "email": ["Not a valid email address."],
        "website": ["Not a valid URL."],
        "opening_times": {"monday": {"0": {"closes": ["Must be after opens."]}}},
    }
    services.on("PATCH", DIRECTORY, "/api/v1/centres/c-north", error(422, "invalid input", refusal))
    sign_in("t.principal", "principal_officer", None)
    form = client.get("/staff/centres/c-north").text
    edits = {"etag": '"3"', "name": "Test " * 25, "email": "centre", "website": "centre"}

    page = client.post("/staff/centres/c-north", data={"csrf_token": csrf_of(form), **edits})

    assert page.status_code == 422
    assert _summary(page.text) == [
        "Name: use 120 characters or fewer",
        "E-mail: enter an address like name@example.org",
        "Website: enter a web address like https://www.example.org",
        "Must be after opens.",
    ]


def test_a_paused_contact_shows_since_when_and_resumes(client, services, sign_in):
    services.on("GET", CONTACTS, "/api/v1/contacts/k1", (200, _contact("k1", "T-2603-AAAAA", **PAUSED)))
    services.on("POST", CONTACTS, "/api/v1/contacts/k1/resume", (200, _contact("k1", "T-2603-AAAAA")))
    sign_in()
    page = client.get("/staff/contacts/k1").text
    assert "Paused since Mon 16 Mar 2026, 9:30am: waiting on a partner" in page
    assert "Test note: the health visitor" in page
    assert 'name="pause_reason"' not in page

    response = client.post("/staff/contacts/k1/resume", data={"csrf_token": csrf_of(page)})

    assert response.status_code == 302
    assert services.last("POST", "/api/v1/contacts/k1/resume").json == {}


def test_today_says_since_when_a_contact_is_paused(client, services, sign_in):
    contacts = {
        "received": [_contact("k1", "T-2603-AAAAA", **PAUSED), _contact("k2", "T-2603-BBBBB")],
        "assigned": [],
    }
    services.on(
        "GET",
        CONTACTS,
        "/api/v1/contacts",
        lambda call: (200, {"items": contacts[call.params["status"]], "total": 1}),
    )
    paused_clock = _clock("k1", "paused", "2026-03-17T23:59:59+00:00", 1)
    services.on("GET", SLA, "/api/v1/clocks", (200, {"clocks": [paused_clock]}))
    sign_in("c.north", "coordinator", "north")

    page = client.get("/staff/today").text

    assert "paused since Mon 16 Mar 2026, 9:30am (waiting on a partner)" in page
    assert 'data-testid="count-paused">1<' in page
    assert 'class="tag tag-paused">Paused' in page
    assert page.count('data-testid="paused-since"') == 1
