"""The public search API answers the same on the SQLite and the FerretDB store."""

from __future__ import annotations

from datetime import UTC, datetime

from directory_testkit import NEW_CENTRE, names, search, slugs_in_order, slugs_of


def test_lists_every_sample_centre_in_name_order_across_pages(any_store_client, ids):
    everyone = search(any_store_client)
    assert everyone["total"] == 24
    assert names(everyone) == sorted(names(everyone), key=str.casefold)

    pages = [
        any_store_client.get("/api/v1/centres", query_string={"per_page": 10, "page": n}).json
        for n in (1, 2, 3)
    ]
    assert [p["pages"] for p in pages] == [3, 3, 3]
    assert [len(p["items"]) for p in pages] == [10, 10, 4]
    paged = [item["id"] for p in pages for item in p["items"]]
    assert paged == [item["id"] for item in everyone["items"]]


def test_filters_by_area_ward_and_service(any_store_client, ids):
    assert search(any_store_client, area="north")["total"] == 8
    assert slugs_of(search(any_store_client, ward="princes park"), ids) == {"princes-park"}
    assert slugs_of(search(any_store_client, ward="Allerton and Hunts Cross"), ids) == {
        "allerton",
        "hunts-cross",
    }
    assert slugs_of(search(any_store_client, service="midwife-clinic"), ids) == {
        "everton",
        "croxteth",
        "princes-park",
        "wavertree",
        "hunts-cross",
    }
    assert slugs_of(search(any_store_client, area="south", service="childcare"), ids) == {
        "speke",
        "allerton",
        "belle-vale",
        "childwall",
    }


def test_a_postcode_district_is_searched_from_the_middle_of_its_centres(any_store_client, ids):
    result = search(any_store_client, postcode="l25")
    assert result["located_by"] == "district_middle"
    assert result["total"] == 24
    assert slugs_in_order(result, ids)[:2] == ["woolton", "hunts-cross"]


def test_a_district_search_keeps_its_centres_whose_place_is_not_known(client, staff, ids):
    """A centre of L25 with no coordinates cannot be measured, but it is in the district asked for."""
    unplaced = {**NEW_CENTRE, "name": "Test Unplaced Centre", "postcode": "L25 0ZZ", "area": "south"}
    made = client.post("/api/v1/centres", json=unplaced, headers=staff("admin")).json
    elsewhere = {**unplaced, "name": "Test Elsewhere Centre", "postcode": "L4 0ZZ", "area": "north"}
    client.post("/api/v1/centres", json=elsewhere, headers=staff("admin"))

    result = search(client, postcode="L25", per_page=50)

    assert result["located_by"] == "district_middle"
    assert result["total"] == 25 and result["items"][-1]["id"] == made["id"]
    assert result["items"][-1].get("distance_km") is None
    assert "Test Elsewhere Centre" not in names(result)


def test_a_place_is_part_of_a_ward_a_centre_name_or_an_address(any_store_client, ids):
    assert slugs_of(search(any_store_client, place="Garston"), ids) == {"speke", "garston"}
    assert slugs_of(search(any_store_client, place="allerton"), ids) == {
        "allerton",
        "hunts-cross",
        "woolton",  # on Allerton Road
    }
    assert slugs_of(search(any_store_client, place="TUEBROOK"), ids) == {"tuebrook"}
    assert slugs_of(search(any_store_client, place="Kensington"), ids) == {"kensington"}
    assert slugs_of(search(any_store_client, place="Garston", q="Speke Children"), ids) == {"speke"}
    assert search(any_store_client, place=".*")["total"] == 0


def test_text_search_looks_in_name_ward_and_address(any_store_client, ids):
    assert slugs_of(search(any_store_client, q="granby"), ids) == {"princes-park"}
    assert slugs_of(search(any_store_client, q="SPEKE"), ids) == {"speke", "garston"}
    assert slugs_of(search(any_store_client, q="L13 0AG"), ids) == {"old-swan"}


def test_text_search_takes_pattern_characters_literally(any_store_client):
    assert search(any_store_client, q=".*")["total"] == 0
    assert search(any_store_client, q="(")["total"] == 0
    assert search(any_store_client, q="Children's")["total"] == 24


def test_open_now_follows_the_clock_in_london_time(any_store_client, clock, ids):
    open_now = search(any_store_client, open_now="true")
    assert slugs_of(open_now, ids) == set(ids) - {"tuebrook"}, "temporarily closed is never open"

    clock.at = datetime(2026, 12, 5, 10, 30, tzinfo=UTC)  # a Saturday
    assert slugs_of(search(any_store_client, open_now="true"), ids) == {"anfield", "princes-park", "speke"}

    clock.at = datetime(2026, 7, 6, 16, 30, tzinfo=UTC)  # Monday 17:30 BST: every weekday session has ended
    assert search(any_store_client, open_now="true")["total"] == 0
    clock.at = datetime(2026, 7, 6, 15, 30, tzinfo=UTC)  # 16:30 BST
    assert search(any_store_client, open_now="true")["total"] == 23


def test_a_dated_closure_overrides_the_weekly_hours(any_store_client, clock, ids):
    clock.at = datetime(2026, 11, 28, 10, 30, tzinfo=UTC)  # Saturday, five days after the sample was loaded
    assert slugs_of(search(any_store_client, open_now="true"), ids) == {"princes-park"}
    anfield = any_store_client.get(f"/api/v1/centres/{ids['anfield']}").json
    assert anfield["open_now"] is False
    assert anfield["today"]["closed"] is True
    assert anfield["today"]["note"] == "Staff training day"


def test_near_a_point_orders_by_distance_within_the_radius(any_store_client, ids):
    speke_ish = {"lat": 53.3445, "lon": -2.8405}
    nearest = search(any_store_client, **speke_ish)
    distances = [item["distance_km"] for item in nearest["items"]]
    assert nearest["items"][0]["id"] == ids["speke"]
    assert distances == sorted(distances) and len(distances) == 24
    assert distances[0] < 0.1

    close_by = search(any_store_client, radius_km=3, **speke_ish)
    assert slugs_of(close_by, ids) == {"speke", "hunts-cross"}
    assert all(item["distance_km"] <= 3 for item in close_by["items"])


def test_one_centre_has_its_hours_helpers_and_etag(any_store_client, ids):
    response = any_store_client.get(f"/api/v1/centres/{ids['kensington']}")
    assert response.status_code == 200
    assert response.headers["ETag"] == '"1"'
    centre = response.json
    assert centre["version"] == 1
    assert centre["open_now"] is True
    assert centre["today"] == {
        "date": "2026-11-23",
        "weekday": "monday",
        "sessions": [{"opens": "09:00", "closes": "17:00"}],
        "closed": False,
        "note": None,
    }
    assert set(centre["opening_times"]) == {
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    }
    assert centre["opening_times"]["sunday"] == []
    assert centre["exceptions"] == [
        {
            "date": "2026-11-25",
            "closed": False,
            "sessions": [{"opens": "10:00", "closes": "14:00"}],
            "note": "Holiday hours",
        }
    ]
    assert {"id": "speech-and-language", "label": "Speech and language"}.items() <= centre["services"][
        2
    ].items()
    assert "verified_by" not in centre
    assert centre["last_verified_at"].endswith("Z")
    assert centre["stale"] is False


def test_stale_flag_marks_entries_unchecked_for_90_days(any_store_client, ids):
    stale = {item["id"] for item in search(any_store_client)["items"] if item["stale"]}
    assert stale == {ids[slug] for slug in ("county", "croxteth", "picton", "garston")}


def test_unknown_centre_is_404_in_the_error_envelope(any_store_client):
    response = any_store_client.get("/api/v1/centres/00000000-0000-4000-8000-000000000000")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"


def test_services_list_is_the_controlled_vocabulary(any_store_client):
    items = any_store_client.get("/api/v1/services-list").json["items"]
    by_id = {item["id"]: item for item in items}
    assert {"childcare", "employment-support", "send-support", "confidential-advice"} <= set(by_id)
    assert by_id["employment-support"]["label"] == "Job Centre Plus employment support"
    assert len({item["taxonomy_term_id"] for item in items}) == len(items)


def test_bad_search_parameters_are_422_naming_the_field(client):
    cases = {
        "area": {"area": "east"},
        "lon": {"lat": 53.4},
        "per_page": {"per_page": 1000},
        "postcode": {"postcode": "XX"},
        "service": {"service": "bingo"},
        "radius_km": {"radius_km": 2},
    }
    for field, params in cases.items():
        response = client.get("/api/v1/centres", query_string=params)
        assert response.status_code == 422, (field, response.json)
        assert field in response.json["error"]["fields"], (field, response.json)

    said = {
        "lon": ({"lat": 53.4}, "Give lat and lon together."),
        "postcode": (
            {"postcode": "L8", "lat": 53.4, "lon": -2.9},
            "Search near lat/lon or a postcode, not both.",
        ),
        "radius_km": ({"radius_km": 2}, "radius_km needs lat and lon, or a postcode."),
    }
    for field, (params, message) in said.items():
        fields = client.get("/api/v1/centres", query_string=params).json["error"]["fields"]
        assert fields == {field: [message]}, params
    # A postcode that is not one: said once, by the field (not also by a rule).
    fields = client.get("/api/v1/centres", query_string={"postcode": "XX", "radius_km": 2}).json["error"][
        "fields"
    ]
    assert fields == {"postcode": ["Not a UK postcode or postcode district, e.g. L8 or L8 0AA."]}
