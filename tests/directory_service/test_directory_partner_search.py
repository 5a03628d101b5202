"""Partners' services in the public search, hidden by staff, and never re-published in /oruk/.

The services come in as they would in production: the importer fetches them
from a local ORUK feed (feed_server.FeedServer) into the app's own store.
"""

from __future__ import annotations

import pytest
from ccshared.store import connect
from ccshared.web import provided
from directory import api as directory_api
from directory.app import create_app
from directory.config import ImportSettings, Settings
from directory.importer import Importer
from directory.partner_repository import PartnerRepository
from directory.partners import Feed
from directory.sample import load_sample
from directory_testkit import search
from feed_server import EXAMPLE_ORGANISATION, FeedServer, partner_service, the_example_service

from tests.infra import tokens

L8 = (53.3900, -2.9600)


def feed_services() -> list[dict]:
    return [
        the_example_service(),  # ages 12 to 100, paid, no usable place
        partner_service("Test Stay and Play"),
        partner_service(
            "Test Polish Speech Group",
            ages=(1, 4),
            languages=("Polish", "English"),
            offers="speech-and-language",
            place=(*L8, "L8 0AA"),
            organisation="Test Speech Charity",
        ),
        partner_service("Test Paid Swim", amount=5.0, offers=None, place=None),
        partner_service("Test Closed Group", status="defunct"),
    ]


@pytest.fixture
def feed():
    server = FeedServer(feed_services())
    yield server
    server.stop()


def app_reading(feeds: ImportSettings, store_url: str, store, clock, tmp_path):
    """The directory's app on this store, with these partner feeds configured."""
    settings = Settings(
        store_url=store_url,
        bus_url=f"sqlite:///{tmp_path}/events.db",
        staff_token_public_key=tokens.STAFF_PUBLIC,
        partner_import=feeds,
    )
    return create_app(settings, store=store, clock=clock)


@pytest.fixture
def world(any_store_url, clock, tmp_path, feed):
    store = connect(any_store_url)
    imports = ImportSettings(feeds=(Feed("partner", feed.url),))
    app = app_reading(imports, any_store_url, store, clock, tmp_path)
    load_sample(provided(app, directory_api.Context).service)
    importer = Importer(PartnerRepository(store), imports, clock)
    [outcome] = importer.run_once()
    assert outcome.result == "imported"
    yield app.test_client(), importer
    store.close()


@pytest.fixture
def api(world):
    return world[0]


def partner_names(body: dict) -> list[str]:
    return [item["name"] for item in body["partner_services"]]


def test_partners_services_follow_the_centres_labelled_with_who_offers_them(api):
    body = search(api)
    assert body["total"] == 24 and len(body["items"]) == 24
    assert partner_names(body) == [
        "Community Counselling",
        "Test Paid Swim",
        "Test Polish Speech Group",
        "Test Stay and Play",
    ]  # by name, like the centres; the defunct one never shows
    assert body["partner_total"] == 4 and body["pages"] == 1
    labels = {item["name"]: item["label"] for item in body["partner_services"]}
    assert labels["Community Counselling"] == f"from {EXAMPLE_ORGANISATION}"
    assert labels["Test Polish Speech Group"] == "from Test Speech Charity"
    first = body["partner_services"][0]
    assert first["assured_date"] == "2005-01-01" and first["feed"] == "partner"
    assert (first["min_age"], first["max_age"]) == (12, 100)


def test_pages_run_on_from_the_last_centre_into_the_partners(api):
    pages = [search(api, per_page=10, page=n) for n in (1, 2, 3)]
    assert [len(p["items"]) for p in pages] == [10, 10, 4]
    assert [len(p["partner_services"]) for p in pages] == [0, 0, 4]
    assert all(p["pages"] == 3 for p in pages)
    narrow = [search(api, per_page=26, page=n) for n in (1, 2)]
    assert partner_names(narrow[0]) == ["Community Counselling", "Test Paid Swim"]
    assert partner_names(narrow[1]) == ["Test Polish Speech Group", "Test Stay and Play"]
    assert narrow[1]["items"] == []


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"age": 3}, ["Test Paid Swim", "Test Polish Speech Group", "Test Stay and Play"]),
        ({"age": 0}, ["Test Paid Swim", "Test Stay and Play"]),
        ({"free": "true"}, ["Test Polish Speech Group", "Test Stay and Play"]),
        ({"language": "polish"}, ["Test Polish Speech Group"]),
        ({"service": "speech-and-language"}, ["Test Polish Speech Group"]),
        ({"service": "stay-and-play"}, ["Test Stay and Play"]),
        ({"q": "swim"}, ["Test Paid Swim"]),
        ({"q": "speech charity"}, ["Test Polish Speech Group"]),
        ({"postcode": "L8"}, ["Test Polish Speech Group", "Test Stay and Play"]),  # from L8's middle
        ({"lat": L8[0], "lon": L8[1], "radius_km": 1}, ["Test Polish Speech Group"]),
        ({"lat": L8[0], "lon": L8[1]}, ["Test Polish Speech Group", "Test Stay and Play"]),
        ({"area": "north"}, []),
        ({"ward": "Everton"}, []),
        ({"place": "Everton"}, []),
        ({"open_now": "true"}, []),
    ],
)
def test_the_same_filters_apply_to_partners_services(api, filters, expected):
    assert partner_names(search(api, **filters)) == expected


def test_near_a_point_partners_come_nearest_first_with_their_distance(api):
    body = search(api, lat=L8[0], lon=L8[1])
    distances = [item["distance_km"] for item in body["partner_services"]]
    assert distances[0] == 0 and distances == sorted(distances)


def test_staff_hide_a_partner_service_and_show_it_again(api, staff):
    target = next(i for i in search(api)["partner_services"] if i["name"] == "Test Paid Swim")
    path = f"/api/v1/partner-services/{target['id']}"
    coordinator = staff("coordinator", "north", "test.coordinator")

    hidden = api.post(f"{path}/hide", json={"reason": "Test reason: not for families"}, headers=coordinator)
    assert hidden.status_code == 200, hidden.json
    assert hidden.json["hidden"] is True
    assert "Test Paid Swim" not in partner_names(search(api))
    assert "Test Paid Swim" not in partner_names(search(api, q="swim"))
    listed = api.get("/api/v1/partner-feeds", headers=staff("staff", "south")).json
    swim = next(s for s in listed["services"] if s["id"] == target["id"])
    assert swim["hidden"] is True
    assert swim["audit"][0]["by"] == "test.coordinator" and swim["audit"][0]["action"] == "hidden"

    shown = api.post(f"{path}/show", headers=staff("admin"))
    assert shown.status_code == 200 and shown.json["hidden"] is False
    assert [a["action"] for a in shown.json["audit"]] == ["shown", "hidden"]
    assert "Test Paid Swim" in partner_names(search(api))


def test_hiding_survives_the_next_import(world, feed, clock, staff):
    api, importer = world
    target = next(i for i in search(api)["partner_services"] if i["name"] == "Test Stay and Play")
    api.post(f"/api/v1/partner-services/{target['id']}/hide", headers=staff("principal_officer"))
    feed.services[1]["description"] = "Test description, edited by the partner."
    feed.changed()
    clock.advance(hours=1)
    [outcome] = importer.run_once()
    assert outcome.result == "imported" and outcome.written == 1
    assert "Test Stay and Play" not in partner_names(search(api))


def test_who_may_hide(api, staff):
    target = search(api)["partner_services"][0]["id"]
    path = f"/api/v1/partner-services/{target}/hide"
    assert api.post(path).status_code == 401
    assert api.post(path, headers=staff("staff", "north")).status_code == 403
    assert (
        api.post("/api/v1/partner-services/partner:no-such/hide", headers=staff("admin")).status_code == 404
    )
    bad = api.post(path, json={"reason": "", "extra": 1}, headers=staff("admin"))
    assert bad.status_code == 422 and {"reason", "extra"} <= set(bad.json["error"]["fields"])
    assert api.get("/api/v1/partner-feeds").status_code == 401


def test_staff_see_each_feeds_state(world, feed, clock, staff):
    api, importer = world
    good = api.get("/api/v1/partner-feeds", headers=staff("staff", "north")).json
    [state] = good["feeds"]
    assert state["name"] == "partner" and state["services"] == 5
    assert state["last_result"] == "imported" and state["last_error"] is None
    assert feed.url not in str(good)  # the URL may carry a partner's key

    feed.mode = "500"
    clock.advance(hours=1)
    importer.run_once()
    [state] = api.get("/api/v1/partner-feeds", headers=staff("staff", "north")).json["feeds"]
    assert state["last_result"] == "failed" and state["failures_in_a_row"] == 1
    assert state["last_error"]["reason"] == "http_error" and state["last_error"]["detail"] == "HTTP 500"
    assert state["last_success_at"] == good["feeds"][0]["last_success_at"]
    assert state["services"] == 5

    metrics = api.get("/metrics").text
    assert 'cc_partner_feed_fetch_failures_total{feed="partner",reason="http_error"}' in metrics
    assert 'cc_partner_feed_services{feed="partner"} 5.0' in metrics
    assert 'cc_partner_feed_last_success_timestamp_seconds{feed="partner"}' in metrics
    # Neither the URL nor its host and port, which a timestamp's digits may contain by chance.
    assert feed.url not in metrics and f"127.0.0.1:{feed.port}" not in metrics


def test_our_oruk_feed_does_not_republish_partners_services(api):
    partner_ids = {item["id"].split(":", 1)[1] for item in search(api)["partner_services"]}
    listed = api.get("/oruk/services", query_string={"per_page": 50}).json
    assert listed["total_items"] == 24
    assert not partner_ids & {item["id"] for item in listed["contents"]}
    for service_id in partner_ids:
        assert api.get(f"/oruk/services/{service_id}").status_code == 404
    organisations = api.get("/oruk/organizations").json["contents"]
    assert [o["name"] for o in organisations] == ["Liverpool Children's Centres"]
    everything = api.get("/oruk/services", query_string={"format": "ndjson"}).text
    assert "Test Stay and Play" not in everything and "Community Counselling" not in everything


def test_a_feed_taken_out_of_the_setting_leaves_the_search_and_keeps_staffs_marks_for_its_return(
    any_store_url, clock, tmp_path, world
):
    """Its copies would otherwise stay public for good: nobody refreshes, drops or reports them."""
    store = connect(any_store_url)
    repository = PartnerRepository(store)
    assert repository.count("partner") == 5
    other = FeedServer([partner_service("Test Other Group")])
    try:
        imports = ImportSettings(feeds=(Feed("other", other.url),))
        restarted = app_reading(imports, any_store_url, store, clock, tmp_path).test_client()
        assert partner_names(search(restarted)) == []  # before "other" is first imported

        Importer(repository, imports, clock).run_once()
        assert partner_names(search(restarted)) == ["Test Other Group"]
        assert repository.count("partner") == 5, "kept, with any hide marks, should the feed return"
    finally:
        other.stop()
        store.close()
