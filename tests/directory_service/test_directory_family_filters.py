"""What families ask: a child's age, free only, a language; the week as it really is (issue 15, part 5)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import MappingProxyType

from ccshared.calendar import Closures, WorkingCalendar
from ccshared.store import connect
from ccshared.timeutil import FixedClock
from ccshared.web import provided
from directory import api
from directory.app import create_app
from directory.config import Settings
from directory.sample import load_sample
from directory_testkit import search, slugs_of
from oruk_validator import assert_valid, schema

from tests.infra import tokens

CHRISTMAS_WEEK = datetime(2026, 12, 23, 10, 30, tzinfo=UTC)  # a Wednesday
NORTH_CLOSURE = date(2026, 12, 24)


def test_a_childs_age_keeps_the_centres_that_take_it(client, staff, ids):
    assert len(search(client, age=3)["items"]) == 24
    assert search(client, age=7)["items"] == []
    response = client.patch(
        f"/api/v1/centres/{ids['woolton']}",
        json={"min_age": 2},
        headers={**staff("admin"), "If-Match": '"1"'},
    )
    assert response.status_code == 200
    assert "woolton" not in slugs_of(search(client, age=1), ids)
    assert "woolton" in slugs_of(search(client, age=2), ids)


def test_free_only_leaves_out_centres_with_a_price(client, ids):
    found = slugs_of(search(client, free="true"), ids)
    assert len(found) == 22 and not {"anfield", "wavertree"} & found
    anfield = client.get(f"/api/v1/centres/{ids['anfield']}").json
    assert anfield["free"] is False and anfield["cost_options"][0]["amount"] == 6.5


def test_language_matches_whatever_the_case(client, ids):
    assert slugs_of(search(client, language="polish"), ids) == {"kensington"}
    assert slugs_of(search(client, language="Arabic"), ids) == {"princes-park", "city-centre"}
    assert len(search(client, language="english")["items"]) == 24


def test_bad_family_filters_are_422_naming_them(client):
    for params, field in (({"age": "three"}, "age"), ({"age": 40}, "age"), ({"free": "maybe"}, "free")):
        response = client.get("/api/v1/centres", query_string=params)
        assert response.status_code == 422
        assert field in response.json["error"]["fields"]


def test_languages_and_cost_options_are_in_the_oruk_feed(client, ids):
    anfield = client.get(f"/oruk/services/{ids['anfield']}").json
    assert_valid(schema("service.json"), anfield)
    assert anfield["cost_options"][0]["option"] == "Childcare places"
    princes_park = client.get(f"/oruk/services/{ids['princes-park']}").json
    assert {language["name"] for language in princes_park["languages"]} == {"English", "Somali", "Arabic"}


def test_the_week_runs_monday_to_sunday_with_today_marked(client, ids):
    week = client.get(f"/api/v1/centres/{ids['anfield']}").json["week"]
    assert [day["weekday"] for day in week] == [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ]
    assert [day["today"] for day in week] == [True] + [False] * 6  # NOW is Monday 23 November
    assert week[1]["sessions"] == [{"opens": "09:00", "closes": "17:00"}]
    assert (week[5]["closed"], week[5]["note"]) == (True, "Staff training day")  # its dated exception
    assert week[6]["closed"] is True


def _christmas_app(tmp_path):
    settings = Settings(
        store_url=f"sqlite:///{tmp_path}/directory.db",
        bus_url=f"sqlite:///{tmp_path}/events.db",
        staff_token_public_key=tokens.STAFF_PUBLIC,
        calendar=WorkingCalendar(Closures(by_area=MappingProxyType({"north": frozenset({NORTH_CLOSURE})}))),
    )
    app = create_app(settings, store=connect(settings.store_url), clock=FixedClock(CHRISTMAS_WEEK))
    load_sample(provided(app, api.Context).service)
    return app.test_client()


def test_bank_holidays_and_closure_days_are_closed_on_the_days_they_fall(tmp_path, ids):
    client = _christmas_app(tmp_path)
    anfield = {day["date"]: day for day in client.get(f"/api/v1/centres/{ids['anfield']}").json["week"]}
    assert anfield["2026-12-23"]["today"] is True and anfield["2026-12-23"]["closed"] is False
    assert (anfield["2026-12-24"]["closed"], anfield["2026-12-24"]["note"]) == (True, "Closure day")
    assert (anfield["2026-12-25"]["closed"], anfield["2026-12-25"]["note"]) == (True, "Christmas Day")
    assert (anfield["2026-12-26"]["closed"], anfield["2026-12-26"]["note"]) == (True, "Boxing Day")
    speke = {day["date"]: day for day in client.get(f"/api/v1/centres/{ids['speke']}").json["week"]}
    assert speke["2026-12-24"]["closed"] is False  # the closure day is the north area's only
    assert speke["2026-12-25"]["closed"] is True


def test_open_now_knows_the_bank_holidays(tmp_path, ids):
    client = _christmas_app(tmp_path)
    assert len(search(client, open_now="true")["items"]) > 0  # Wednesday 23rd, 10:30
    app_clock = provided(client.application, api.Context).service.clock
    app_clock.advance(days=2)  # Christmas Day: open only where staff set holiday hours for the day
    still_open = search(client, open_now="true")["items"]
    assert all(e["date"] == "2026-12-25" and not e["closed"] for c in still_open for e in c["exceptions"])
    assert "anfield" not in slugs_of({"items": still_open}, ids)
    assert client.get(f"/api/v1/centres/{ids['anfield']}").json["today"]["note"] == "Christmas Day"
