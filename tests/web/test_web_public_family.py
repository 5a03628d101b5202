"""The public pages answer what families ask (issue 15, part 5): age, free only, language; the real week."""

from __future__ import annotations

import re

from ccshared import contracts
from web_testkit import DIRECTORY, centre, error

WEEK = [
    {"date": "2026-12-21", "weekday": "monday", "sessions": [{"opens": "09:00", "closes": "17:00"}]},
    {"date": "2026-12-22", "weekday": "tuesday", "sessions": [{"opens": "09:00", "closes": "17:00"}]},
    {"date": "2026-12-23", "weekday": "wednesday", "sessions": [{"opens": "09:00", "closes": "17:00"}]},
    {"date": "2026-12-24", "weekday": "thursday", "sessions": [], "closed": True, "note": "Closure day"},
    {"date": "2026-12-25", "weekday": "friday", "sessions": [], "closed": True, "note": "Christmas Day"},
    {"date": "2026-12-26", "weekday": "saturday", "sessions": [], "closed": True, "note": "Boxing Day"},
    {"date": "2026-12-27", "weekday": "sunday", "sessions": [], "closed": True, "note": None},
]


def test_the_search_form_filters_by_age_free_and_language_without_javascript(client, services):
    page = client.get("/?age=3&free=1&language=Polish")

    assert page.status_code == 200
    call = services.last("GET", "/api/v1/centres")
    assert (call.params["age"], call.params["free"], call.params["language"]) == ("3", "true", "Polish")
    assert '<option value="3" selected>3</option>' in page.text
    assert 'id="free" name="free" type="checkbox" value="1" checked' in page.text
    assert 'value="Polish"' in page.text
    assert "2 centres found" in page.text and "<script" not in page.text.split("</form>")[0]


def test_a_paid_centre_says_so_in_the_results(client, services):
    paid = centre("c-1", "Anfield Test Centre", "north", free=False)
    services.on(
        "GET", DIRECTORY, "/api/v1/centres", (200, {"items": [paid], "total": 1, "page": 1, "pages": 1})
    )
    assert "Some services cost money" in client.get("/?q=anfield").text


def test_the_search_offers_the_ages_a_referral_takes_under_five(client, services):
    """Centres serve children under five, and a referral is refused for a child of 5: the search
    offers 0 to 4, and an age of 5 in a link edited by hand is not searched, as referrals refuse it."""
    offered = re.findall(
        r'<option value="(\d+)"', client.get("/").text.split('id="age"')[1].split("</select>")[0]
    )
    assert offered == [str(age) for age in contracts.CHILD_AGE_YEARS] == ["0", "1", "2", "3", "4"]

    page = client.get("/?age=5")

    assert page.status_code == 422
    assert (
        '<p class="field-error" id="age-error">Your child&#39;s age: choose an age from 0 to 4</p>'
        in page.text
    )
    assert not [call for call in services.calls if call.path == "/api/v1/centres"]


def test_the_directorys_complaint_about_age_shows_beside_the_age_box(client, services):
    """The directory takes ages to 25; the form offers 0 to 4, so it says what the form offers."""
    refusal = {"age": ["Must be greater than or equal to 0 and less than or equal to 25."]}
    services.on("GET", DIRECTORY, "/api/v1/centres", error(422, "invalid input: age", refusal))
    page = client.get("/?age=3")
    assert page.status_code == 422
    assert (
        '<p class="field-error" id="age-error">Your child&#39;s age: choose an age from 0 to 4</p>'
        in page.text
    )
    assert "25" not in page.text.split('id="age-error"')[1].split("</p>")[0]


def test_a_centres_week_runs_monday_to_sunday_with_today_and_holidays(client, services):
    week = [dict(day, today=day["date"] == "2026-12-23") for day in WEEK]
    found = centre(
        "c-1",
        "Everton Test Centre",
        "north",
        week=week,
        languages=["English", "Polish"],
        cost_options=[{"option": "Childcare places", "amount": 6.5, "amount_description": "per hour"}],
    )
    services.on("GET", DIRECTORY, "/api/v1/centres/c-1", (200, found))

    page = client.get("/centres/c-1").text

    days = re.findall(r'<th scope="row">(\w+day)', page)
    assert days == ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    assert re.search(r'<tr class="today" aria-current="date"><th scope="row">Wednesday 23 December', page)
    assert page.count('aria-current="date"') == 1
    assert "Closed (Christmas Day)" in page and "Closed (Boxing Day)" in page
    assert "Closed (Closure day)" in page
    assert "English, Polish" in page
    assert "Childcare places: £6.50 per hour" in page


def test_without_a_week_the_usual_times_still_run_monday_first(client, services):
    found = centre("c-1", "Everton Test Centre", "north")
    found["opening_times"] = {
        "friday": [{"opens": "09:00", "closes": "12:00"}],
        "monday": [{"opens": "09:00", "closes": "17:00"}],
    }
    services.on("GET", DIRECTORY, "/api/v1/centres/c-1", (200, found))
    days = re.findall(r'<th scope="row">(\w+day)', client.get("/centres/c-1").text)
    assert days[0] == "Monday" and days[4] == "Friday" and len(days) == 7
